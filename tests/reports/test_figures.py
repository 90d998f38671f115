"""Each key figure against values computed by hand on a small fixed data set (SQLite and PostgreSQL alike).

The week used: Monday 2026-11-16 … Sunday 2026-11-22, Helsinki time (UTC+2); opening hours Mon–Fri 8–16.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tiski.cases.models import Case, CaseEvent, Category, Message
from tiski.channels.chat.models import ChatSession
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.voice.models import Call, CallbackRequest
from tiski.customers.models import Customer, Organization
from tiski.reports.facts import facts_rebuild, facts_refresh, facts_refresh_stale, subject_keywords
from tiski.reports.figures import FIGURES, cases_behind, figure_table, is_spike, poisson_tail
from tiski.reports.filters import FilterError, ReportFilter
from tiski.reports.models import CaseFact, StaleMark, TargetFact
from tiski.routing.models import PresenceLog, Queue, WorkItem
from tiski.sla.models import BusinessCalendar, OpeningHours, SlaClock
from tiski.surveys.models import SurveyResponse

HKI = ZoneInfo("Europe/Helsinki")
WEEK = ReportFilter(start=date(2026, 11, 16), end=date(2026, 11, 22), zone=HKI)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A Helsinki time in November 2026."""
    return datetime(2026, 11, day, hour, minute, tzinfo=HKI)


@pytest.fixture
def calendar(db):  # type: ignore[no-untyped-def]
    BusinessCalendar.objects.update(is_default=False)
    cal = BusinessCalendar.objects.create(name="Office", time_zone="Europe/Helsinki", country="", is_default=True)
    for weekday in range(5):
        OpeningHours.objects.create(calendar=cal, weekday=weekday, opens=time(8), closes=time(16))
    return cal


@pytest.fixture
def world(db, calendar, agent, other_agent):  # type: ignore[no-untyped-def]
    """Five cases, their messages and events, at fixed times."""
    org = Organization.objects.create(name="Pyörä Oy")
    anssi = Customer.objects.create(name="Anssi", organization=org)
    liisa = Customer.objects.create(name="Liisa")
    email = Channel.objects.create(kind=ChannelKind.EMAIL, name="Mail", address="help@shop.example")
    chat = Channel.objects.create(kind=ChannelKind.CHAT, name="Chat")
    billing = Category.objects.create(name="Billing")
    cases = {}

    def case(
        name,
        *,
        customer,
        channel,
        created,
        first=None,
        solved=None,
        owner=None,
        category=None,
        status="open",
        replies=0,
        inbound=True,
        product="",
    ):
        c = Case.objects.create(
            subject=f"{name} invoice question",
            customer=customer,
            channel=channel,
            owner=owner,
            category=category,
            status=status,
            product=product,
        )
        Case.objects.filter(pk=c.pk).update(created_at=created, first_response_at=first, solved_at=solved)
        Message.objects.create(
            case=c,
            channel=channel,
            direction="in" if inbound else "out",
            author="customer" if inbound else "agent",
            body_text="x",
        )
        for _ in range(replies):
            Message.objects.create(
                case=c, channel=channel, direction="out", author="agent", author_user=owner, body_text="y"
            )
        Message.objects.filter(case=c).update(created_at=created)
        cases[name] = c
        return c

    # A: Friday 15:30 → answered Monday 8:30 (wall 65 h; business 30 + 30 min); solved Monday 9:30 (business 1.5 h)
    case(
        "A",
        customer=anssi,
        channel=email,
        created=at(13, 15, 30),
        first=at(16, 8, 30),
        solved=at(16, 9, 30),
        owner=agent,
        category=billing,
        status="solved",
        replies=1,
        product="Trail 29",
    )
    # B: Monday 7:00 (before opening) → answered 9:00 (wall 2 h, business 1 h); two replies, solved Tue 8:00
    case(
        "B",
        customer=anssi,
        channel=email,
        created=at(16, 7),
        first=at(16, 9),
        solved=at(17, 8),
        owner=agent,
        category=billing,
        status="solved",
        replies=2,
        product="Trail 29",
    )
    # C: Saturday 10:00 chat → answered 10:05 (business 0); solved 10:20; chats are one contact
    case(
        "C",
        customer=liisa,
        channel=chat,
        created=at(21, 10),
        first=at(21, 10, 5),
        solved=at(21, 10, 20),
        owner=other_agent,
        status="closed",
        replies=3,
    )
    # D: Wednesday 12:00 email, answered 12:40 (40 min both ways), open still
    case("D", customer=liisa, channel=email, created=at(18, 12), first=at(18, 12, 40), owner=other_agent)
    # E: an outbound task Wednesday 13:00: not a contact in
    case("E", customer=liisa, channel=email, created=at(18, 13), inbound=False, owner=agent, status="pending")
    # A was reopened once before it was solved; B was transferred once
    CaseEvent.objects.create(case=cases["A"], kind=CaseEvent.Kind.REOPENED, data={"old": "solved", "new": "open"})
    ev = CaseEvent.objects.create(case=cases["B"], kind=CaseEvent.Kind.TRANSFERRED, data={})
    CaseEvent.objects.filter(pk=ev.pk).update(created_at=at(16, 10))
    facts_rebuild()
    return {
        "cases": cases,
        "email": email,
        "chat": chat,
        "billing": billing,
        "anssi": anssi,
        "liisa": liisa,
        "org": org,
    }


def rows(name: str, by: str, flt: ReportFilter = WEEK) -> dict:
    table = figure_table(name, flt, by)
    return {row.get("key", (row.get("weekday"), row.get("hour"))): row for row in table.rows}


def test_facts_hold_wall_and_business_seconds(world) -> None:  # type: ignore[no-untyped-def]
    facts = {f.case_id: f for f in CaseFact.objects.all()}
    a, b, c, d, e = (facts[world["cases"][n].pk] for n in "ABCDE")
    assert (a.first_response_s, a.first_response_bs) == (65 * 3600, 3600)  # Friday 15:30–16 + Monday 8–8:30
    assert (a.resolution_s, a.resolution_bs) == (66 * 3600, 2 * 3600)
    assert (b.first_response_s, b.first_response_bs) == (2 * 3600, 3600)  # the hour before opening does not count
    assert (b.resolution_s, b.resolution_bs) == (25 * 3600, 8 * 3600)  # Monday 8–16
    assert (c.first_response_s, c.first_response_bs) == (300, 0)  # Saturday
    assert (d.first_response_s, d.first_response_bs) == (2400, 2400)
    assert d.resolution_s is None and d.solved_at is None
    assert (a.reopens, b.transfers, b.agent_replies, c.agent_replies) == (1, 1, 2, 3)
    assert [f.inbound for f in (a, b, c, d, e)] == [True, True, True, True, False]
    assert a.organization_id == world["org"].pk and a.product == "Trail 29"


def test_contacts_in_counts_what_customers_started(world) -> None:  # type: ignore[no-untyped-def]
    # A arrived the Friday before the week; E is outbound: B, C, D remain.
    assert rows("contacts_in", "none")[0]["contacts"] == 3
    by_day = rows("contacts_in", "day")
    assert {k.isoformat(): r["contacts"] for k, r in by_day.items()} == {
        "2026-11-16": 1,
        "2026-11-18": 1,
        "2026-11-21": 1,
    }
    assert {k: r["contacts"] for k, r in rows("contacts_in", "channel_kind").items()} == {"email": 2, "chat": 1}
    assert {k: r["contacts"] for k, r in rows("contacts_in", "hour").items()} == {7: 1, 10: 1, 12: 1}
    assert {k: r["contacts"] for k, r in rows("contacts_in", "weekday_hour").items()} == {
        (1, 7): 1,
        (3, 12): 1,
        (6, 10): 1,
    }
    table = figure_table("contacts_in", WEEK, "channel_kind")
    email_row = table.drill[[r["key"] for r in table.rows].index("email")]
    assert set(cases_behind(WEEK, email_row)) == {world["cases"]["B"], world["cases"]["D"]}


def test_first_response_median_and_90th_percentile(world) -> None:  # type: ignore[no-untyped-def]
    # First answered in the week: A 234000 s, B 7200, C 300, D 2400 (business 3600, 3600, 0, 2400).
    total = rows("first_response", "none")[0]
    assert total["cases"] == 4
    assert total["median_s"] == pytest.approx((2400 + 7200) / 2)
    # 90th percentile, linear between ranks: position 0.9 × 3 = 2.7 → 7200 + 0.7 × (234000 − 7200)
    assert total["p90_s"] == pytest.approx(7200 + 0.7 * (234000 - 7200))
    assert total["median_bs"] == pytest.approx((2400 + 3600) / 2)
    assert total["p90_bs"] == pytest.approx(3600)
    by_kind = rows("first_response", "channel_kind")
    assert by_kind["chat"]["median_s"] == 300 and by_kind["email"]["cases"] == 3


def test_resolution_reopen_rate_and_first_contact_resolution(world) -> None:  # type: ignore[no-untyped-def]
    total = rows("resolution", "none")[0]
    assert total["cases"] == 3  # A, B, C solved in the week
    assert total["median_s"] == pytest.approx(25 * 3600) and total["median_bs"] == pytest.approx(2 * 3600)
    reopen = rows("reopen_rate", "none")[0]
    assert (reopen["solved"], reopen["reopened"], reopen["rate"]) == (3, 1, pytest.approx(33.3))
    # A was reopened, B transferred (and answered twice); C is a chat: one contact however many messages.
    fcr = rows("fcr", "none")[0]
    assert (fcr["solved"], fcr["first_contact"], fcr["rate"]) == (3, 1, pytest.approx(33.3))
    table = figure_table("fcr", WEEK, "none")
    assert set(cases_behind(WEEK, {**table.drill[0], "fcr": "1"})) == {world["cases"]["C"]}
    assert set(cases_behind(WEEK, {**table.drill[0], "reopened": "1"})) == {world["cases"]["A"]}


def test_dimensions_narrow_every_figure(world, agent) -> None:  # type: ignore[no-untyped-def]
    mine = ReportFilter(start=WEEK.start, end=WEEK.end, zone=HKI, agent=agent.pk)
    assert rows("first_response", "none", mine)[0]["cases"] == 2  # A and B
    per_org = ReportFilter(start=WEEK.start, end=WEEK.end, zone=HKI, organization=world["org"].pk)
    assert rows("contacts_in", "none", per_org)[0]["contacts"] == 1  # B (A is before the week)
    per_product = ReportFilter(start=date(2026, 11, 13), end=WEEK.end, zone=HKI, product="Trail 29")
    assert rows("contacts_in", "none", per_product)[0]["contacts"] == 2
    by_agent = rows("resolution", "agent")
    assert by_agent[agent.pk]["cases"] == 2 and by_agent[agent.pk]["label"] == "Maija Mäkinen"


def test_service_level_compliance_counts_met_missed_and_overdue(world) -> None:  # type: ignore[no-untyped-def]
    a, b, d = (world["cases"][n] for n in "ABD")

    def clock(case, metric, status, *, stopped=None, breached=None):  # type: ignore[no-untyped-def]
        return SlaClock.objects.create(
            case=case,
            metric=metric,
            status=status,
            target_s=3600,
            started_at=case.created_at,
            stopped_at=stopped,
            breached_at=breached,
        )

    clock(a, "first_response", "missed", stopped=at(16, 8, 30), breached=at(13, 16, 30))
    clock(b, "first_response", "met", stopped=at(16, 9))
    clock(d, "resolution", "running", breached=at(19, 12))  # past due, still running: missed
    clock(d, "first_response", "met", stopped=at(25, 9))  # after the week: not counted
    # (Here the clocks are written directly; in Tiski a clock ends with a timeline entry, which marks the case.)
    assert not TargetFact.objects.exists()
    facts_refresh([a.pk, b.pk, d.pk])
    assert TargetFact.objects.count() == 4
    by_metric = rows("sla_compliance", "metric")
    assert (by_metric["first_response"]["targets"], by_metric["first_response"]["met"]) == (2, 1)
    assert by_metric["first_response"]["compliance"] == pytest.approx(50.0)
    assert (by_metric["resolution"]["missed"], by_metric["resolution"]["compliance"]) == (1, 0.0)
    table = figure_table("sla_compliance", WEEK, "metric")
    drill = table.drill[[r["key"] for r in table.rows].index("first_response")]
    assert set(cases_behind(WEEK, drill)) == {a, b}


def test_live_figures_backlog_open_and_service_levels_now(world) -> None:  # type: ignore[no-untyped-def]
    now = at(20, 12)  # Friday noon
    d, e = world["cases"]["D"], world["cases"]["E"]
    from tiski.reports.figures import backlog, open_now, sla_now

    table = backlog(WEEK, "age", now=now)
    by_age = {r["key"]: r for r in table.rows}
    assert by_age["1to3d"]["open"] == 1 and by_age["1to3d"]["pending"] == 1 and by_age["1to3d"]["total"] == 2
    assert sum(r["total"] for r in table.rows) == 2
    assert set(cases_behind(WEEK, table.drill[1], now=now)) == {d, e}
    assert open_now(WEEK, "status", now=now).totals == {"open": 2, "unassigned": 0}
    SlaClock.objects.create(
        case=d,
        metric="resolution",
        status="running",
        target_s=7200,
        started_at=at(18, 12),
        warn_at=at(20, 11),
        due_at=at(20, 13),
    )
    SlaClock.objects.create(
        case=e,
        metric="first_response",
        status="running",
        target_s=60,
        started_at=at(18, 13),
        warn_at=at(18, 13),
        due_at=at(18, 13, 1),
    )  # due already, the timer not yet run
    SlaClock.objects.create(
        case=world["cases"]["A"],
        metric="next_response",
        status="running",
        target_s=60,
        started_at=at(16, 9),
        due_at=at(16, 10),
    )  # on a solved case: not live work
    now_table = sla_now(WEEK, "metric", now=now)
    assert now_table.totals == {"running": 2, "at_risk": 1, "breached": 1}


def test_queues_now_and_handle_time(world, agent) -> None:  # type: ignore[no-untyped-def]
    queue = Queue.objects.create(name="Billing queue")
    b, d = world["cases"]["B"], world["cases"]["D"]
    WorkItem.objects.create(case=d, queue=queue, channel_kind="email", units=1, status="queued", enqueued_at=at(20, 11))
    WorkItem.objects.create(
        case=b, queue=queue, channel_kind="email", units=1, status="queued", enqueued_at=at(20, 11, 30)
    )
    from tiski.reports.figures import queues_now

    row = next(r for r in queues_now(WEEK, "queue", now=at(20, 12)).rows if r["key"] == queue.pk)
    assert (row["waiting"], row["longest_s"], row["median_wait_s"]) == (2, 3600, 2700)
    WorkItem.objects.update(status="done", agent=agent, assigned_at=at(17, 9), closed_at=at(17, 9, 10))
    WorkItem.objects.filter(case=d).update(closed_at=at(17, 9, 30))
    Call.objects.create(
        channel=world["chat"],
        provider_call_id="c1",
        direction="inbound",
        status="ended",
        agent=agent,
        answered_at=at(17, 10),
        ended_at=at(17, 10, 4),
        talk_s=240,
        wrapped_up_at=at(17, 10, 5),
    )
    handle = rows("handle_time", "channel_kind")
    assert (handle["email"]["items"], handle["email"]["avg_s"]) == (2, (600 + 1800) // 2)
    assert (handle["phone"]["items"], handle["phone"]["avg_s"]) == (1, 300)
    assert rows("handle_time", "agent")[agent.pk]["items"] == 3
    # Narrowed to an agent: the work they handled, whoever owns the case now (D is Matti's).
    handled_by = ReportFilter(start=WEEK.start, end=WEEK.end, zone=HKI, agent=agent.pk)
    assert rows("handle_time", "none", handled_by)[0]["items"] == 3


def test_abandoned_chats_and_calls_and_callback_time(world) -> None:  # type: ignore[no-untyped-def]
    c, d = world["cases"]["C"], world["cases"]["D"]
    helped = ChatSession.objects.create(
        channel=world["chat"], case=c, token_hash="a", status="ended", handle_kind="x", handle_value="1"
    )
    left = ChatSession.objects.create(
        channel=world["chat"], case=d, token_hash="b", status="ended", handle_kind="x", handle_value="2"
    )
    ChatSession.objects.filter(pk=helped.pk).update(created_at=at(21, 9, 59))
    ChatSession.objects.filter(pk=left.pk).update(created_at=at(19, 9))  # D's agent reply was before it
    Message.objects.filter(case=c, author="agent").update(created_at=at(21, 10, 5))
    Message.objects.filter(case=d, author="agent").update(created_at=at(18, 12, 40))
    for n, status in enumerate(("ended", "missed", "voicemail", "ended")):
        call = Call.objects.create(channel=world["email"], provider_call_id=f"p{n}", direction="inbound", status=status)
        Call.objects.filter(pk=call.pk).update(created_at=at(17, 9 + n))
    table = figure_table("abandoned", WEEK, "channel_kind")
    got = {r["key"]: (r["offered"], r["abandoned"], r["rate"]) for r in table.rows}
    assert got == {"chat": (2, 1, 50.0), "phone": (4, 2, 50.0)}
    assert set(cases_behind(WEEK, table.drill[0])) == {d}
    for n, (status, minutes) in enumerate((("done", 10), ("done", 30), ("unreachable", None))):
        request = CallbackRequest.objects.create(
            customer=world["liisa"], case=d, source="keypress", number="+3584", status=status
        )
        closed = at(17, 12, minutes) if minutes else None
        CallbackRequest.objects.filter(pk=request.pk).update(created_at=at(17, 12), closed_at=closed)
        del n
    total = rows("callback_time", "none")[0]
    assert (total["requests"], total["reached"], total["median_s"], total["p90_s"]) == (3, 2, 1200, 1680)


def test_csat_and_nps(world, agent, other_agent) -> None:  # type: ignore[no-untyped-def]
    a, c = world["cases"]["A"], world["cases"]["C"]
    for kind, case, who, score in (
        ("csat", a, agent, 5),
        ("csat", a, agent, 2),
        ("csat", c, other_agent, 4),
        ("nps", a, agent, 10),
        ("nps", c, other_agent, 9),
        ("nps", c, other_agent, 3),
        ("nps", c, other_agent, 8),
    ):
        SurveyResponse.objects.create(
            kind=kind, score=score, case=case, agent=who, channel_kind="email", answered_at=at(19, 10)
        )
    total = rows("csat", "none")[0]
    assert (total["responses"], total["average"], total["satisfied_pct"]) == (3, pytest.approx(3.67), 66.7)
    assert (total["score_2"], total["score_4"], total["score_5"]) == (1, 1, 1)
    assert rows("csat", "agent")[agent.pk]["average"] == 3.5
    nps = rows("nps", "none")[0]
    assert (nps["promoters"], nps["passives"], nps["detractors"], nps["nps"]) == (2, 1, 1, 25.0)


def test_transfers_and_presence(world, agent) -> None:  # type: ignore[no-untyped-def]
    assert rows("transfers", "none")[0]["transfers"] == 1
    PresenceLog.objects.create(user=agent, presence="online", started_at=at(15, 20), ended_at=at(16, 2))  # 2 h in
    PresenceLog.objects.create(user=agent, presence="busy", started_at=at(16, 9), ended_at=at(16, 10))
    PresenceLog.objects.create(user=agent, presence="away", started_at=at(16, 10), ended_at=at(16, 10, 30))
    queue = Queue.objects.create(name="Q")
    WorkItem.objects.create(
        case=world["cases"]["A"],
        queue=queue,
        channel_kind="email",
        units=1,
        status="done",
        agent=agent,
        assigned_at=at(16, 9),
        closed_at=at(16, 9, 45),
    )
    from tiski.reports.figures import presence

    row = next(r for r in presence(WEEK, "agent", now=at(23, 0)).rows if r["key"] == agent.pk)
    assert (row["online_s"], row["busy_s"], row["away_s"], row["handle_s"]) == (7200, 3600, 1800, 2700)
    assert row["occupancy"] == 25.0


def test_volume_today_against_the_same_weekday(world) -> None:  # type: ignore[no-untyped-def]
    from tiski.reports.figures import volume_today

    # Wednesday 2026-11-25 at 12:30: one contact today at 12; the same weekday before: D on the 18th at 12.
    Case.objects.filter(pk=world["cases"]["C"].pk).update(created_at=at(25, 12, 10))
    facts_rebuild()
    table = volume_today(WEEK, "hour", now=at(25, 12, 30))
    noon = table.rows[12]
    assert (noon["today"], noon["usual"]) == (1, 0.25)  # one in four weeks
    assert table.rows[13]["today"] is None and table.totals["today"] == 1


def test_contact_reasons_flag_a_spike(calendar, db) -> None:  # type: ignore[no-untyped-def]
    customer = Customer.objects.create(name="X")
    channel = Channel.objects.create(kind=ChannelKind.EMAIL, name="M", address="m@shop.example")
    billing, returns = Category.objects.create(name="Billing"), Category.objects.create(name="Returns")
    day = date(2026, 11, 20)

    def contact(when: datetime, category: Category, subject: str) -> None:
        case = Case.objects.create(subject=subject, customer=customer, channel=channel, category=category)
        Message.objects.create(case=case, channel=channel, direction="in", author="customer", body_text="x")
        Case.objects.filter(pk=case.pk).update(created_at=when)

    for back in range(1, 29):  # one invoice question every morning, one return every other afternoon
        other = day - timedelta(days=back)
        contact(datetime.combine(other, time(9), HKI), billing, "Invoice due date")
        if back % 2:
            contact(datetime.combine(other, time(14), HKI), returns, "Return a jacket")
    for minute in range(6):
        contact(datetime.combine(day, time(9, minute), HKI), billing, "Invoices twice")
    contact(datetime.combine(day, time(10), HKI), returns, "Return")
    facts_rebuild()
    flt = ReportFilter(start=day, end=day, zone=HKI)
    now = datetime.combine(day, time(12), HKI)
    from tiski.reports.figures import contact_reasons

    table = contact_reasons(flt, "category", now=now)
    top = table.rows[0]
    # Up to noon: 6 invoice questions against 1 a day; the afternoon returns do not count in the usual.
    assert (top["label"], top["today"], top["usual"], top["ratio"], top["spike"]) == ("Billing", 6, 1.0, 6.0, "yes")
    returns_row = next(r for r in table.rows if r["label"] == "Returns")
    assert (returns_row["today"], returns_row["usual"], returns_row["spike"]) == (1, 0.0, "")
    assert cases_behind(flt, table.drill[0]).count() == 6
    keywords = {r["key"]: r for r in contact_reasons(flt, "keyword", now=now).rows}
    assert keywords["invoic"]["today"] == 6 and keywords["invoic"]["spike"] == "yes"
    assert not is_spike(2, 1.0) and is_spike(6, 1.0) and poisson_tail(0, 3.0) == 1.0


def test_facts_follow_the_pipeline(receive, agent, run_tasks) -> None:  # type: ignore[no-untyped-def]
    from tiski.cases.services import message_reply

    receipt = receive(subject="Laskun eräpäivä", body="Voinko siirtää laskun eräpäivää?")
    case = receipt.message.case
    assert StaleMark.objects.filter(case_id=case.pk).exists()  # marked in the contact's own transaction
    facts_refresh_stale()
    fact = CaseFact.objects.get(case=case)
    assert fact.inbound and fact.first_response_s is None and fact.channel_kind == "webform"
    assert not TargetFact.objects.filter(case=case).exists()  # the first-response clock runs
    message_reply(case=case, actor=agent, body="Onnistuu.")
    run_tasks()
    facts_refresh_stale()
    fact.refresh_from_db()
    assert fact.agent_replies == 1 and fact.first_response_s is not None
    target = TargetFact.objects.get(case=case)  # the reply ended the first-response target, in time
    assert (target.metric, target.met, target.channel_kind) == ("first_response", True, "webform")
    assert not StaleMark.objects.exists()
    assert [w for _stem, w in subject_keywords("Re: Laskun eräpäivä", "fi")] == ["laskun", "eräpäivä"]


@pytest.mark.django_db
def test_bad_parameters_are_named() -> None:
    with pytest.raises(FilterError, match="from: expected a date"):
        ReportFilter.from_query({"from": "yesterday"}, today=date(2026, 11, 20))
    with pytest.raises(FilterError, match=r"agent: expected an id.*to \(|agent: expected an id"):
        ReportFilter.from_query({"agent": "maija", "to": "2026-01-01"}, today=date(2026, 11, 20))
    with pytest.raises(FilterError, match="is before from"):
        ReportFilter.from_query({"from": "2026-11-20", "to": "2026-11-19"}, today=date(2026, 11, 20))
    flt = ReportFilter.from_query({"days": "7", "channel_kind": "chat"}, today=date(2026, 11, 20))
    assert (flt.start, flt.end, flt.channel_kind) == (date(2026, 11, 14), date(2026, 11, 20), "chat")
    assert flt.previous().end == date(2026, 11, 13) and flt.previous().days == 7


@pytest.mark.django_db
def test_unknown_figure_or_grouping_is_an_error() -> None:
    with pytest.raises(FilterError, match="no figure"):
        figure_table("nope", WEEK)
    with pytest.raises(FilterError, match="cannot be grouped by"):
        figure_table("contacts_in", WEEK, "colour")
    with pytest.raises(FilterError, match="unknown parameters"):
        cases_behind(WEEK, {"evil": "1"})


@pytest.mark.django_db
def test_every_figure_computes_on_an_empty_database() -> None:
    for name, spec in FIGURES.items():
        for by in spec.groupings:
            table = figure_table(name, WEEK, by)
            assert table.as_json()["figure"] == name, (name, by)


def test_utc_bounds() -> None:
    start, end = WEEK.bounds()
    assert start.astimezone(UTC) == datetime(2026, 11, 15, 22, tzinfo=UTC)
    assert end - start == timedelta(days=7)
