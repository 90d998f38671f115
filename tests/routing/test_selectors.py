"""The supervisor's reads: agents, queues and a queue's items, counted in SQL with a fixed number of queries.

``supervisor_seed`` fills a realistic floor (agents in every presence holding work, queues with waiting items
near and past their targets, work done and abandoned today) in bulk; the view tests, the speed script and the
screenshots reuse it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tiski.accounts.models import AgentProfile
from tiski.cases.models import Case
from tiski.customers.models import Customer
from tiski.routing.models import AgentState, Presence, Queue, Skill, WorkItem
from tiski.routing.selectors import (
    case_reference,
    day_start,
    offers_for,
    queue_items,
    sla_state,
    supervisor_agents,
    supervisor_queue,
    supervisor_queues,
    supervisor_summary,
    transfer_agents,
)

FIRST = ["Aino", "Eero", "Helmi", "Ilkka", "Janne", "Kaisa", "Lauri", "Mirja", "Niko", "Oona", "Pekka", "Riikka"]
LAST = ["Aalto", "Heikkinen", "Järvinen", "Koskinen", "Laine", "Nieminen", "Salminen", "Tuominen", "Virtanen"]
SUBJECTS = [
    "Tilaus 48213: paketti ei ole saapunut",
    "Refund for a double charge",
    "Laskussa väärä osoite",
    "Cannot log in to my account",
    "Vaihto isompaan kokoon",
    "Wrong item in the parcel",
    "Kuinka peruutan tilauksen?",
    "Discount code does not work",
    "Takuukorjaus: pesukone vuotaa",
    "Where is my invoice?",
]
KINDS = ["email", "chat", "phone", "webform", "sms", "whatsapp"]
UNITS = {"email": 10, "webform": 10, "sms": 10, "whatsapp": 20, "chat": 33, "phone": 100}
PRESENCES = [Presence.ONLINE, Presence.ONLINE, Presence.ONLINE, Presence.BUSY, Presence.AWAY, Presence.OFFLINE]


@dataclass
class Seed:
    queues: list[Queue]
    agents: list[User]
    skills: list[Skill]
    now: datetime


def supervisor_seed(*, agents: int = 12, waiting: int = 40, now: datetime | None = None, prefix: str = "") -> Seed:
    """Create four queues, AGENTS agents (every presence, several holding work) and WAITING queued items in bulk.

    PREFIX goes before the queue names and user names, so that several seeds can share a database.
    About a tenth of the waiting items are at risk or past their target; each agent did some work today and
    each queue lost a case or two to abandonment.
    """
    now = now or timezone.now()
    group = Group.objects.get(name="agent")
    english = Skill.objects.get_or_create(language="en", defaults={"name": "English", "name_fi": "Englanti"})[0]
    finnish = Skill.objects.get_or_create(language="fi", defaults={"name": "Finnish", "name_fi": "Suomi"})[0]
    billing = Skill.objects.get_or_create(name="Billing", defaults={"name_fi": "Laskutus", "kind": "product"})[0]
    skills = [english, finnish, billing]
    queues = [
        Queue.objects.create(name=f"{prefix}Incidents", name_fi=f"{prefix}Häiriöt", priority=9, return_margin=900),
        Queue.objects.create(name=f"{prefix}Orders", name_fi=f"{prefix}Tilaukset", priority=5),
        Queue.objects.create(name=f"{prefix}Billing", name_fi=f"{prefix}Laskutus", priority=5, return_margin=300),
        Queue.objects.create(name=f"{prefix}Returns", name_fi=f"{prefix}Palautukset", priority=3),
    ]
    users = User.objects.bulk_create(
        [
            User(
                username=f"{prefix or 'sv-'}agent-{i}",
                first_name=FIRST[i % len(FIRST)],
                last_name=LAST[(4 * i + i // len(FIRST)) % len(LAST)],
                password="!",
            )
            for i in range(agents)
        ]
    )
    User.groups.through.objects.bulk_create([User.groups.through(user_id=u.pk, group_id=group.pk) for u in users])
    AgentProfile.objects.bulk_create([AgentProfile(user=u) for u in users])
    states = AgentState.objects.bulk_create(
        [
            AgentState(
                user=u,
                presence=PRESENCES[i % len(PRESENCES)],
                presence_since=now - timedelta(minutes=7 + 13 * i % 180),
                capacity=100,
                last_routed_at=now - timedelta(minutes=3 + i % 40),
            )
            for i, u in enumerate(users)
        ]
    )
    AgentState.queues.through.objects.bulk_create(
        [
            AgentState.queues.through(agentstate_id=s.pk, queue_id=q.pk)
            for i, s in enumerate(states)
            for j, q in enumerate(queues)
            if (i + j) % 4 != 3
        ]
    )
    customer = Customer.objects.create(name=f"{prefix}Asiakas Oy")
    n_held = sum(1 for s in states if s.presence != Presence.OFFLINE) * 2
    n_today = agents * 3
    n_cases = waiting + n_held + n_today + 2 * len(queues)
    cases = Case.objects.bulk_create(
        [
            Case(subject=SUBJECTS[i % len(SUBJECTS)], customer=customer, priority=(2, 2, 3, 1, 2, 4, 2)[i % 7])
            for i in range(n_cases)
        ]
    )
    case_iter = iter(cases)
    items: list[WorkItem] = []

    def item(queue: Queue, kind: str, **fields: Any) -> WorkItem:
        case = next(case_iter)
        fields.setdefault("enqueued_at", now - timedelta(minutes=5))
        return WorkItem(
            case=case,
            queue=queue,
            queue_priority=queue.priority,
            priority=case.priority,
            channel_kind=kind,
            units=UNITS[kind],
            **fields,
        )

    for i in range(waiting):
        queue = queues[i % len(queues)]
        kind = KINDS[i % len(KINDS)]
        age = timedelta(seconds=30 + (i * 97) % 2400)
        if i % 10 == 0:  # past its target
            age, due = max(age, timedelta(minutes=25)), now - timedelta(minutes=1 + i % 5)
        elif i % 10 == 1:  # within the return margin of it
            age, due = max(age, timedelta(minutes=15)), now + timedelta(minutes=4)
        else:
            due = now - age + timedelta(minutes=60 + 60 * (i % 3))
        skill_needs = [{"skill": skills[i % 2].pk, "level": 3 + i % 6, "optional": False}]
        if i % 3 == 0:
            skill_needs.append({"skill": billing.pk, "level": 5, "optional": True})
        status = WorkItem.Status.QUEUED
        items.append(item(queue, kind, status=status, enqueued_at=now - age, due_at=due, skills=skill_needs))
    for i, state in enumerate(s for s in states if s.presence != Presence.OFFLINE):
        for j, kind in enumerate(("email", "chat") if i % 3 else ("phone",) if i % 2 else ()):
            queue = queues[(i + j) % len(queues)]
            offered = i % 4 == 1 and j == 1 and state.presence == Presence.ONLINE  # offers go to online agents only
            status = WorkItem.Status.OFFERED if offered else WorkItem.Status.ASSIGNED
            at = now - timedelta(minutes=2 + 7 * i % 50)
            items.append(
                item(
                    queue,
                    kind,
                    status=status,
                    agent_id=state.user_id,
                    enqueued_at=at - timedelta(minutes=3),
                    offered_at=at,
                    offer_expires_at=now + timedelta(seconds=40) if offered else None,
                    assigned_at=None if offered else at,
                    due_at=now + timedelta(minutes=30),
                )
            )
            state.load += UNITS[kind]
    AgentState.objects.bulk_update(states, ["load"])
    for i, user in enumerate(users):
        for j in range(i % 4):
            at = now - timedelta(minutes=20 + 11 * j + i)
            queue = queues[(i + j) % len(queues)]
            items.append(
                item(
                    queue,
                    "email",
                    status=WorkItem.Status.DONE,
                    agent_id=user.pk,
                    enqueued_at=at - timedelta(minutes=10),
                    assigned_at=at - timedelta(minutes=8),
                    acted_at=at,
                    closed_at=at,
                )
            )
    for queue in queues:
        items.append(
            item(queue, "chat", status=WorkItem.Status.CANCELLED, closed_at=now - timedelta(minutes=9), reason="")
        )
    WorkItem.objects.bulk_create(items, batch_size=1000)
    return Seed(queues=queues, agents=users, skills=skills, now=now)


# --- fixtures and small helpers ---------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_default_queue(db: Any) -> None:
    """Start without the default queue migrate creates, so each test's queues are all there is."""
    Queue.objects.all().delete()


@pytest.fixture
def customer(db: Any) -> Customer:
    return Customer.objects.create(name="Anssi Asiakas")


@pytest.fixture
def queue(db: Any) -> Queue:
    return Queue.objects.create(name="Orders", name_fi="Tilaukset", return_margin=600)


def _case(customer: Customer, subject: str = "Order question") -> Case:
    return Case.objects.create(subject=subject, customer=customer)


def _item(customer: Customer, queue: Queue, **fields: Any) -> WorkItem:
    fields.setdefault("channel_kind", "email")
    fields.setdefault("units", 10)
    fields.setdefault("queue_priority", queue.priority)
    return WorkItem.objects.create(case=_case(customer, fields.pop("subject", "Order question")), queue=queue, **fields)


def _midday() -> datetime:
    """Return today's noon: "today" then holds every time a test sets a few minutes or hours back."""
    return day_start(timezone.now()) + timedelta(hours=12)


def _state(user: User, presence: str = Presence.ONLINE, **fields: Any) -> AgentState:
    return AgentState.objects.create(user=user, presence=presence, **fields)


# --- small pure helpers -------------------------------------------------------------------------------------------


def test_sla_state_is_breached_past_due_at_risk_within_the_margin_else_on_track() -> None:
    now = timezone.now()
    assert sla_state(due_at=None, margin=600, now=now) == "none"
    assert sla_state(due_at=now - timedelta(seconds=1), margin=600, now=now) == "breached"
    assert sla_state(due_at=now + timedelta(seconds=599), margin=600, now=now) == "risk"
    assert sla_state(due_at=now + timedelta(seconds=601), margin=600, now=now) == "ok"


def test_day_start_is_local_midnight(settings: Any) -> None:
    settings.TIME_ZONE = "Europe/Helsinki"
    timezone.deactivate()
    now = datetime.fromisoformat("2026-03-10T21:30:00+00:00")  # 23:30 in Helsinki
    assert day_start(now).isoformat() == "2026-03-10T00:00:00+02:00"
    assert day_start(now + timedelta(hours=1)).isoformat() == "2026-03-11T00:00:00+02:00"


def test_case_reference_matches_the_model(customer: Customer) -> None:
    case = _case(customer)
    assert case_reference(case.pk) == case.reference


# --- agents -------------------------------------------------------------------------------------------------------


def test_agents_include_routing_profiles_and_case_workers_online_first(
    agent: User, other_agent: User, team_lead: User, queue: Queue
) -> None:
    outsider = User.objects.create_user(username="routing-only", first_name="Rauni", last_name="Reititys")
    _state(outsider, Presence.AWAY)
    _state(other_agent, Presence.ONLINE)
    User.objects.create_user(username="customer-user")  # neither: not listed
    inactive = User.objects.create_user(username="gone", is_active=False)
    _state(inactive, Presence.ONLINE)

    rows = supervisor_agents()

    assert [r.name for r in rows] == ["Matti Virtanen", "Rauni Reititys", "Maija Mäkinen", "Minna Korhonen"]
    assert [r.presence for r in rows] == ["online", "away", "offline", "offline"]
    maija = rows[2]
    assert maija.capacity == 0 and maija.presence_since is None and maija.items == []


def test_agent_row_shows_held_work_capacity_and_work_done_today(agent: User, customer: Customer, queue: Queue) -> None:
    now = _midday()
    _state(agent, Presence.ONLINE, capacity=100, load=43, presence_since=now - timedelta(minutes=30))
    assigned = _item(
        customer,
        queue,
        subject="Lasku",
        status="assigned",
        agent=agent,
        assigned_at=now - timedelta(minutes=4),
        offered_at=now - timedelta(minutes=5),
    )
    offered = _item(customer, queue, channel_kind="chat", units=33, status="offered", agent=agent, offered_at=now)
    _item(customer, queue, status="done", agent=agent, closed_at=now - timedelta(minutes=1))
    _item(customer, queue, status="done", agent=agent, closed_at=day_start(now) - timedelta(seconds=1))  # yesterday
    _item(customer, queue, status="cancelled", agent=agent, closed_at=now)  # not handled
    _item(customer, queue, status="queued")  # nobody's

    (row,) = supervisor_agents(now=now)

    assert [w.item_id for w in row.items] == [assigned.pk, offered.pk]
    first = row.items[0]
    assert (first.reference, first.subject, first.channel_kind, first.units) == (
        assigned.case.reference,
        "Lasku",
        "email",
        10,
    )
    assert first.since == assigned.assigned_at and not first.offered
    assert row.items[1].offered and row.items[1].since == offered.offered_at
    assert (row.load, row.capacity, row.free, row.used_percent) == (43, 100, 57, 43)
    assert row.handled_today == 1
    assert row.idle_since is None  # holds work


def test_idle_since_is_the_latest_of_going_online_last_offer_and_last_finished_item(
    agent: User, other_agent: User, customer: Customer, queue: Queue
) -> None:
    now = _midday()
    _state(agent, presence_since=now - timedelta(hours=2), last_routed_at=now - timedelta(minutes=50), capacity=100)
    done = _item(customer, queue, status="done", agent=agent, closed_at=now - timedelta(minutes=12))
    _state(other_agent, Presence.AWAY, presence_since=now - timedelta(minutes=5))

    rows = {r.user_id: r for r in supervisor_agents(now=now)}

    assert rows[agent.pk].idle_since == done.closed_at
    assert rows[other_agent.pk].idle_since is None  # away: not idle, just away


def test_offers_for_lists_only_the_users_open_offers(agent: User, other_agent: User, customer: Customer, queue: Queue):  # type: ignore[no-untyped-def]
    now = timezone.now()
    second = _item(customer, queue, status="offered", agent=agent, offered_at=now)
    first = _item(customer, queue, status="offered", agent=agent, offered_at=now - timedelta(seconds=20))
    _item(customer, queue, status="assigned", agent=agent)
    _item(customer, queue, status="offered", agent=other_agent, offered_at=now)

    assert offers_for(agent) == [first, second]


# --- queues -------------------------------------------------------------------------------------------------------


def test_queue_figures_count_waits_risk_and_todays_outcomes(customer: Customer, agent: User, other_agent: User) -> None:
    now = _midday()
    orders = Queue.objects.create(name="Orders", return_margin=600)
    billing = Queue.objects.create(name="Billing", return_margin=60)
    Queue.objects.create(name="Old", active=False)  # inactive and empty: not shown
    archive = Queue.objects.create(name="Archive", active=False)
    _item(customer, archive, status="queued")  # inactive but still holding work: shown
    in5 = now + timedelta(minutes=5)
    _item(customer, orders, status="queued", enqueued_at=now - timedelta(minutes=30), due_at=in5)  # at risk (600 s)
    _item(customer, orders, status="queued", enqueued_at=now - timedelta(minutes=10), due_at=now - timedelta(minutes=1))
    _item(customer, orders, status="offered", agent=agent, enqueued_at=now - timedelta(minutes=20), due_at=None)
    _item(customer, orders, status="assigned", agent=agent, assigned_at=now - timedelta(minutes=3))
    _item(customer, orders, status="done", agent=agent, assigned_at=now - timedelta(hours=1), closed_at=now)
    _item(customer, orders, status="done", assigned_at=now - timedelta(days=1), closed_at=now - timedelta(days=1))
    _item(customer, orders, status="cancelled", closed_at=now - timedelta(minutes=2))
    _item(customer, orders, status="cancelled", closed_at=now - timedelta(days=2))
    _item(customer, billing, status="queued", enqueued_at=now - timedelta(minutes=2), due_at=in5)  # on track (60 s)
    _state(agent, Presence.ONLINE).queues.set([orders, billing])
    _state(other_agent, Presence.AWAY).queues.set([orders])

    rows = {r.queue.name: r for r in supervisor_queues(language="en", now=now)}

    assert sorted(rows) == ["Archive", "Billing", "Orders"]
    o = rows["Orders"]
    assert (o.waiting, o.offered, o.assigned) == (2, 1, 1)
    assert o.oldest == now - timedelta(minutes=30)
    assert o.average_wait is not None and abs(o.average_wait - timedelta(minutes=20)) < timedelta(seconds=1)
    assert (o.at_risk, o.breached, o.sla) == (2, 1, "breached")
    assert (o.served_today, o.abandoned_today) == (2, 1)  # assigned today: the assigned one and the first done one
    assert (o.agents_online, o.agents_serving) == (1, 2)
    b = rows["Billing"]
    assert (b.waiting, b.at_risk, b.breached, b.sla, b.agents_online) == (1, 0, 0, "ok", 1)
    assert rows["Archive"].agents_serving == 0


def test_served_today_counts_items_assigned_since_local_midnight(settings: Any, customer: Customer) -> None:
    settings.TIME_ZONE = "Europe/Helsinki"
    timezone.deactivate()
    orders = Queue.objects.create(name="Orders")
    now = datetime.fromisoformat("2026-03-10T22:30:00+00:00")  # 00:30 on the 11th in Helsinki
    before_midnight = datetime.fromisoformat("2026-03-10T21:50:00+00:00")  # 23:50 on the 10th
    _item(customer, orders, status="assigned", assigned_at=before_midnight)
    _item(customer, orders, status="assigned", assigned_at=now - timedelta(minutes=20))

    (row,) = supervisor_queues(now=now)

    assert row.served_today == 1


def test_queue_names_follow_the_language(queue: Queue) -> None:
    assert [r.name for r in supervisor_queues(language="fi")] == ["Tilaukset"]
    assert supervisor_queue(queue=queue, language="en").name == "Orders"


def test_summary_adds_up_agents_and_queues(db: Any) -> None:
    seed = supervisor_seed(agents=12, waiting=40)
    agents = supervisor_agents(now=seed.now)
    queues = supervisor_queues(now=seed.now)

    summary = supervisor_summary(agents=agents, queues=queues)

    assert (summary.online, summary.busy, summary.away) == (6, 2, 2)
    assert summary.waiting == 40
    assert summary.at_risk == 8 and summary.breached == 4  # every tenth item past due, every tenth nearly due
    assert summary.oldest == min(q.oldest for q in queues if q.oldest)


def test_supervisor_reads_take_the_same_number_of_queries_for_a_bigger_floor(db: Any) -> None:
    supervisor_seed(agents=6, waiting=10, prefix="small-")
    with CaptureQueriesContext(connection) as small:
        supervisor_agents()
        supervisor_queues()
    supervisor_seed(agents=60, waiting=400, prefix="big-")
    with CaptureQueriesContext(connection) as big:
        agents = supervisor_agents()
        queues = supervisor_queues()
    assert len(agents) == 66 and sum(q.waiting for q in queues) == 410
    assert len(big.captured_queries) == len(small.captured_queries) <= 6


# --- a queue's items ----------------------------------------------------------------------------------------------


def test_queue_items_come_in_routing_order_then_offered_then_assigned(
    customer: Customer, queue: Queue, agent: User
) -> None:
    now = timezone.now()
    english = Skill.objects.create(name="English", name_fi="Englanti", language="en")
    billing = Skill.objects.create(name="Billing", name_fi="Laskutus")
    assigned = _item(customer, queue, status="assigned", agent=agent, enqueued_at=now - timedelta(hours=1))
    offered = _item(customer, queue, status="offered", agent=agent, enqueued_at=now - timedelta(hours=1))
    old = _item(customer, queue, status="queued", enqueued_at=now - timedelta(minutes=30), due_at=now)
    urgent = _item(customer, queue, status="queued", priority=4, enqueued_at=now - timedelta(minutes=1))
    new = _item(
        customer,
        queue,
        status="queued",
        enqueued_at=now - timedelta(minutes=2),
        due_at=now + timedelta(minutes=5),
        skills=[
            {"skill": english.pk, "level": 7, "optional": False},
            {"skill": billing.pk, "level": 3, "optional": True},
        ],
    )
    _item(customer, queue, status="done")
    _item(customer, Queue.objects.create(name="Other"), status="queued")

    listed = queue_items(queue=queue, language="fi", now=now)

    assert [r.item.pk for r in listed.rows] == [urgent.pk, old.pk, new.pk, offered.pk, assigned.pk]
    assert listed.total == 5 and not listed.truncated
    by_pk = {r.item.pk: r for r in listed.rows}
    assert [(s.label, s.level, s.optional) for s in by_pk[new.pk].skills] == [
        ("Englanti", 7, False),
        ("Laskutus", 3, True),
    ]
    assert (by_pk[old.pk].sla, by_pk[new.pk].sla, by_pk[urgent.pk].sla) == ("breached", "risk", "none")
    assert by_pk[offered.pk].item.agent == agent and by_pk[new.pk].reference == new.case.reference


def test_queue_items_are_cut_at_the_limit_with_the_true_total(customer: Customer, queue: Queue) -> None:
    for _ in range(5):
        _item(customer, queue, status="queued")

    listed = queue_items(queue=queue, limit=3)

    assert len(listed.rows) == 3 and listed.total == 5 and listed.truncated


def test_transfer_agents_serve_the_queue_can_take_it_first_and_leave_the_holder_out(
    agent: User, other_agent: User, team_lead: User, administrator: User, customer: Customer, queue: Queue
) -> None:
    item = _item(customer, queue, status="assigned", agent=agent, units=33)
    _state(agent, Presence.ONLINE, load=33).queues.set([queue])
    _state(other_agent, Presence.ONLINE, load=80).queues.set([queue])  # 20 free: does not fit
    _state(team_lead, Presence.AWAY, load=0).queues.set([queue])
    _state(administrator, Presence.ONLINE, load=0)  # does not serve the queue

    choices = transfer_agents(item=item)

    assert [(c.name, c.free, c.fits) for c in choices] == [("Minna Korhonen", 100, True), ("Matti Virtanen", 20, False)]
