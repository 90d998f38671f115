"""The demo company gives every report something to show, and its report history agrees with its cases."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from itertools import pairwise

import pytest
from django.db import transaction
from django.db.models import F, Min
from django.utils import timezone

from tiski.cases.models import Case, CaseEvent, Category, Message
from tiski.channels.chat.models import ChatSession
from tiski.channels.voice.models import Call, CallbackRequest
from tiski.core.demo import PRODUCTS, SPIKE_COUNT, demo_load
from tiski.reports.demo import PRESENCE_DAYS
from tiski.reports.figures import FIGURES, figure_table
from tiski.reports.filters import ReportFilter
from tiski.reports.models import CaseFact, StaleMark
from tiski.routing.models import AgentState, Presence, PresenceLog, WorkItem
from tiski.sla.models import SlaClock
from tiski.sla.services import calendar_of, sla_timers_run

KEY_CELLS = {"key", "label", "weekday", "hour", "spike"}


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    """Load the demo once for this module, inside a transaction rolled back afterwards."""
    with django_db_blocker.unblock(), transaction.atomic():
        result = demo_load()
        yield result
        transaction.set_rollback(True)


def shows_something(rows: list[dict[str, object]]) -> bool:
    """Whether a row has a figure (a value cell, not a key) that is a number other than zero."""
    return any(
        isinstance(value, int | float) and not isinstance(value, bool) and value != 0
        for row in rows
        for name, value in row.items()
        if name not in KEY_CELLS
    )


def test_every_figure_shows_something_over_the_last_four_weeks(demo, db):  # type: ignore[no-untyped-def]
    flt = ReportFilter.last_days(28)
    empty = [name for name in FIGURES if not shows_something(figure_table(name, flt).rows)]
    assert not empty, f"figures with nothing but zeros or no rows: {empty}"


def test_the_root_causes_flag_todays_invoice_spike(demo, db):  # type: ignore[no-untyped-def]
    table = figure_table("contact_reasons", ReportFilter.last_days(28), by="category")
    billing = Category.objects.get(name="Billing").pk
    top = table.rows[0]
    assert top["key"] == billing and top["spike"] == "yes"
    assert top["today"] >= SPIKE_COUNT
    assert top["usual"] < 3  # a couple a day, as usual
    assert table.totals["spikes"] >= 1
    keywords = {
        row["label"]: row for row in figure_table("contact_reasons", ReportFilter.last_days(28), by="keyword").rows
    }
    assert keywords["eräpäivä"]["spike"] == "yes" and keywords["eräpäivä"]["today"] >= 3


def test_facts_exist_for_every_case(demo, db):  # type: ignore[no-untyped-def]
    assert CaseFact.objects.count() == Case.objects.count()
    assert not StaleMark.objects.exists()
    # A product is one name whatever the language the customer wrote in.
    products = set(Case.objects.exclude(product="").values_list("product", flat=True))
    assert len(products) >= 8
    assert products <= set(PRODUCTS["en"])


def test_service_levels_ended_as_the_timelines_say(demo, db):  # type: ignore[no-untyped-def]
    first_reply = dict(
        Message.objects.filter(author=Message.Author.AGENT)
        .values("case")
        .annotate(at=Min("created_at"))
        .values_list("case", "at")
    )
    clocks = SlaClock.objects.select_related("policy__calendar", "case__channel")
    ended = clocks.filter(
        metric=SlaClock.Metric.FIRST_RESPONSE, status__in=(SlaClock.Status.MET, SlaClock.Status.MISSED)
    )
    statuses = Counter()
    for clock in ended:
        calendar = calendar_of(clock.policy)
        assert clock.stopped_at == first_reply[clock.case_id]
        assert clock.elapsed_s == pytest.approx(calendar.seconds_between(clock.started_at, clock.stopped_at))
        due = calendar.add(clock.started_at, seconds=clock.target_s)
        missed = clock.stopped_at > due  # answered after the target's time (in business time: elapsed_s > target)
        assert clock.status == (SlaClock.Status.MISSED if missed else SlaClock.Status.MET)
        assert clock.breached_at == (due if missed else None)
        assert clock.case.channel.kind in clock.policy.channel_kinds
        statuses[clock.status] += 1
    assert statuses[SlaClock.Status.MET] > statuses[SlaClock.Status.MISSED] > 10
    solved = clocks.filter(metric=SlaClock.Metric.RESOLUTION, case__status__in=(Case.Status.SOLVED, Case.Status.CLOSED))
    assert solved.filter(status__in=(SlaClock.Status.MET, SlaClock.Status.MISSED)).exists()
    assert not solved.filter(status__in=SlaClock.LIVE).exists()
    # What is still running belongs to open cases, and the timers find nothing of the past left to fire.
    assert clocks.filter(status__in=SlaClock.LIVE).exists()
    assert not clocks.filter(status__in=SlaClock.LIVE).exclude(case__status__in=Case.OPEN_STATUSES).exists()
    assert sla_timers_run() == 0
    breached = CaseEvent.objects.filter(kind=CaseEvent.Kind.SLA_BREACHED).count()
    assert breached == SlaClock.objects.filter(breached_at__isnull=False).count()


def test_transfers_and_reopenings_happen_while_the_cases_are_worked(demo, db):  # type: ignore[no-untyped-def]
    transfers = CaseEvent.objects.filter(kind=CaseEvent.Kind.TRANSFERRED).select_related("case")
    assert 0.03 < transfers.count() / Case.objects.count() < 0.1
    for event in transfers:
        case = event.case
        assert case.created_at < event.created_at < (case.solved_at or case.first_response_at)
        assert WorkItem.objects.get(case=case).queue_id == event.data["to_queue"]
    reopened = CaseEvent.objects.filter(kind=CaseEvent.Kind.REOPENED).select_related("case")
    assert reopened.exists()
    for event in reopened:
        case = event.case
        earlier = case.events.filter(
            kind=CaseEvent.Kind.STATUS_CHANGED, data__new="solved", created_at__lt=event.created_at
        )
        assert earlier.exists() and case.solved_at > event.created_at
        assert case.messages.filter(direction=Message.Direction.IN, created_at=event.created_at).exists()


def test_chats_and_calls_are_behind_their_cases(demo, db):  # type: ignore[no-untyped-def]
    chats = Case.objects.filter(channel__kind="chat")
    assert ChatSession.objects.filter(case__in=chats).count() == chats.count()
    for session in ChatSession.objects.filter(case__isnull=False).select_related("case"):
        assert session.created_at <= session.case.created_at
        assert session.ended_at is None or session.ended_at > session.created_at
    left = ChatSession.objects.filter(case__isnull=True, status=ChatSession.Status.ENDED).count()
    assert 0.04 < left / ChatSession.objects.count() < 0.15

    calls = Call.objects.filter(direction=Call.Direction.INBOUND)
    answered = calls.filter(status=Call.Status.ENDED)
    assert answered.exists() and not answered.filter(talk_s__isnull=True).exists()
    assert not answered.filter(wrapped_up_at__isnull=True).exists()
    assert not answered.exclude(agent_id=F("case__owner_id")).exists()
    missed = calls.filter(status__in=(Call.Status.MISSED, Call.Status.VOICEMAIL))
    assert 0.04 < missed.count() / calls.count() < 0.3  # about one in ten
    reached = CallbackRequest.objects.filter(status=CallbackRequest.Status.DONE, call__in=missed)
    assert reached.exists()
    for request in reached:
        assert request.closed_at > request.created_at


def test_agents_were_present_on_working_days_and_are_offline_now(demo, db):  # type: ignore[no-untyped-def]
    logs = PresenceLog.objects.all()
    assert set(logs.values_list("presence", flat=True)) == {
        Presence.ONLINE,
        Presence.BUSY,
        Presence.AWAY,
        Presence.OFFLINE,
    }
    open_ = logs.filter(ended_at__isnull=True)
    assert open_.count() == logs.values("user").distinct().count()
    assert set(open_.values_list("presence", flat=True)) == {Presence.OFFLINE}
    assert not AgentState.objects.exclude(presence=Presence.OFFLINE).exists()
    assert not logs.filter(started_at__lt=timezone.now() - timedelta(days=PRESENCE_DAYS + 1)).exists()
    for login in logs.filter(reason=PresenceLog.Reason.LOGIN):
        local = timezone.localtime(login.started_at)
        assert local.weekday() < 5 and 7 <= local.hour < 9
    for user_id in logs.values_list("user", flat=True).distinct():  # one stretch after another, no gaps
        stretches = list(logs.filter(user_id=user_id).order_by("started_at"))
        assert all(a.ended_at == b.started_at for a, b in pairwise(stretches))
