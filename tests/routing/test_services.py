"""Routing services against the real database: enqueue, accept, decline, done, transfer, presence, pushes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth.models import User
from django.utils import timezone

from tiski.accounts.models import Team
from tiski.cases.models import Case, CaseEvent, Note
from tiski.routing.exceptions import RoutingError, RoutingPermissionError
from tiski.routing.models import AgentState, Presence, PresenceLog, Queue, WorkItem
from tiski.routing.router import route_pending
from tiski.routing.services import (
    agent_seen,
    presence_set,
    work_accept,
    work_acted,
    work_assign_owner,
    work_case_left_open,
    work_decline,
    work_enqueue,
    work_owner_changed,
    work_transfer,
)

pytestmark = pytest.mark.usefixtures("loads_exact")

Status = WorkItem.Status


@pytest.fixture
def queue(make_queue: Callable[..., Queue]) -> Queue:
    return make_queue("Support", priority=6)


@pytest.fixture
def offered(
    queue: Queue, online_agent: Callable[..., User], make_item: Callable[..., WorkItem]
) -> tuple[WorkItem, User]:
    """An email offered to an online agent."""
    agent = online_agent(queues=[queue], username="liisa")
    item = make_item(queue)
    route_pending()
    item.refresh_from_db()
    assert item.status == Status.OFFERED and item.agent_id == agent.pk
    return item, agent


def load(user: User) -> int:
    return AgentState.objects.get(user=user).load


# ── enqueue ───────────────────────────────────────────────────────────────────────────────────────────────────


def test_enqueue_queues_the_work_once_per_case_and_records_it(
    queue: Queue, make_case: Callable[..., Case], administrator: User
) -> None:
    case = make_case(priority=Case.Priority.HIGH)
    item = work_enqueue(case=case, queue=queue, channel_kind="chat", language="en", actor=administrator)
    assert (item.status, item.units, item.priority, item.queue_priority) == (Status.QUEUED, 33, 3, 6)
    event = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.QUEUED)
    assert event.actor == administrator and event.data["queue"] == "Support" and event.data["reason"] == "new"
    again = work_enqueue(case=case, queue=queue, channel_kind="email", priority=4)
    assert again.pk == item.pk and again.channel_kind == "chat"
    assert WorkItem.objects.filter(case=case).count() == 1


def test_enqueue_sets_the_target_from_the_queue_else_the_channel(
    make_queue: Callable[..., Queue], make_case: Callable[..., Case]
) -> None:
    before = timezone.now()
    own_target = work_enqueue(case=make_case(), queue=make_queue(response_target=30), channel_kind="email")
    channel_target = work_enqueue(case=make_case(), queue=make_queue(), channel_kind="email")
    no_target = work_enqueue(case=make_case(), queue=make_queue(), channel_kind="carrier pigeon")
    assert own_target.due_at is not None and channel_target.due_at is not None
    assert timedelta(minutes=30) <= own_target.due_at - before < timedelta(minutes=31)
    assert timedelta(minutes=480) <= channel_target.due_at - before < timedelta(minutes=481)
    assert no_target.due_at is None and no_target.units == 10


def test_enqueue_merges_skills_asked_for_twice(
    queue: Queue, make_case: Callable[..., Case], make_skill: Callable[..., Any]
) -> None:
    english = make_skill("English")
    item = work_enqueue(
        case=make_case(),
        queue=queue,
        channel_kind="email",
        skills=[{"skill": english.pk, "level": 3, "optional": True}, {"skill": english.pk, "level": 6}],
    )
    assert item.skills == [{"skill": english.pk, "level": 6, "optional": False}]


def test_new_contact_goes_straight_to_the_owner_who_is_online_with_room(
    queue: Queue, online_agent: Callable[..., User], make_case: Callable[..., Case], other_agent: User
) -> None:
    owner = online_agent(queues=[queue])
    case = make_case(owner=owner)
    assert work_assign_owner(case=make_case(owner=other_agent), agent=owner, channel_kind="email", queue=queue) is None
    item = work_assign_owner(case=case, agent=owner, channel_kind="email", queue=queue)
    assert item is not None and item.status == Status.ASSIGNED and item.agent_id == owner.pk
    assert load(owner) == 10
    assert work_assign_owner(case=case, agent=owner, channel_kind="email", queue=queue) == item  # the active one

    presence_set(user=owner, presence=Presence.BUSY)
    assert work_assign_owner(case=make_case(owner=owner), agent=owner, channel_kind="email", queue=queue) is None


def test_new_contact_for_an_owner_without_room_is_not_assigned(
    queue: Queue, online_agent: Callable[..., User], make_case: Callable[..., Case]
) -> None:
    owner = online_agent(queues=[queue], capacity=40)
    assert work_assign_owner(case=make_case(owner=owner), agent=owner, channel_kind="chat", queue=queue) is not None
    assert work_assign_owner(case=make_case(owner=owner), agent=owner, channel_kind="chat", queue=queue) is None
    assert load(owner) == 33


# ── accept, decline ───────────────────────────────────────────────────────────────────────────────────────────


def test_accepting_makes_the_agent_own_the_case_in_the_queues_team(
    make_queue: Callable[..., Queue], online_agent: Callable[..., User], make_item: Callable[..., WorkItem]
) -> None:
    team = Team.objects.create(name="Returns")
    queue = make_queue("Returns", team=team)
    agent = online_agent(queues=[queue])
    item = make_item(queue)
    route_pending()
    accepted = work_accept(item=item, agent=agent)
    assert accepted.status == Status.ASSIGNED and accepted.assigned_at is not None
    case = Case.objects.get(pk=item.case_id)
    assert case.owner == agent and case.team == team
    event = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.ASSIGNED)
    assert event.actor == agent and event.data["new"] == agent.get_full_name() and event.data["via"] == "routing"
    assert work_accept(item=item, agent=agent).status == Status.ASSIGNED  # twice: still theirs
    assert load(agent) == 10


def test_only_the_agent_offered_the_work_can_accept_or_decline_it(
    offered: tuple[WorkItem, User], other_agent: User
) -> None:
    item, agent = offered
    with pytest.raises(RoutingError):
        work_accept(item=item, agent=other_agent)
    with pytest.raises(RoutingError):
        work_decline(item=item, agent=other_agent)
    work_decline(item=item, agent=agent)
    with pytest.raises(RoutingError):
        work_accept(item=item, agent=agent)
    assert load(agent) == 0


# ── done ──────────────────────────────────────────────────────────────────────────────────────────────────────


def test_a_reply_completes_email_work_and_frees_the_room(offered: tuple[WorkItem, User]) -> None:
    item, agent = offered
    work_accept(item=item, agent=agent)
    work_acted(case=Case.objects.get(pk=item.case_id), agent=agent)
    item.refresh_from_db()
    assert item.status == Status.DONE and item.reason == "replied" and item.closed_at is not None
    assert item.agent_id == agent.pk  # who handled it stays on record
    assert load(agent) == 0


def test_a_chat_is_taken_up_by_the_first_reply_and_done_when_the_case_leaves_open(
    queue: Queue, online_agent: Callable[..., User], make_item: Callable[..., WorkItem]
) -> None:
    agent = online_agent(queues=[queue])
    item = make_item(queue, channel_kind="chat")
    route_pending()
    work_accept(item=item, agent=agent)
    case = Case.objects.get(pk=item.case_id)
    work_acted(case=case, agent=agent)
    item.refresh_from_db()
    assert item.status == Status.ASSIGNED and item.acted_at is not None and load(agent) == 33
    case.status = Case.Status.PENDING
    work_case_left_open(case=case)
    item.refresh_from_db()
    assert item.status == Status.DONE and item.reason == "pending" and load(agent) == 0


def test_work_nobody_took_is_abandoned_when_the_case_is_solved(
    queue: Queue, offered: tuple[WorkItem, User], make_item: Callable[..., WorkItem]
) -> None:
    item, agent = offered
    waiting = make_item(queue)
    for work in (item, waiting):
        case = Case.objects.get(pk=work.case_id)
        case.status = Case.Status.SOLVED
        work_case_left_open(case=case)
        work.refresh_from_db()
        assert work.status == Status.CANCELLED and work.reason == "abandoned" and work.agent_id is None
    assert load(agent) == 0


def test_someone_else_taking_the_case_finishes_the_work_as_reassigned(
    offered: tuple[WorkItem, User], other_agent: User
) -> None:
    item, agent = offered
    work_accept(item=item, agent=agent)
    case = Case.objects.get(pk=item.case_id)
    work_owner_changed(case=case)  # routing's own change: nothing happens
    item.refresh_from_db()
    assert item.status == Status.ASSIGNED
    case.owner = other_agent
    work_owner_changed(case=case)
    item.refresh_from_db()
    assert item.status == Status.DONE and item.reason == "reassigned" and load(agent) == 0


def test_the_owner_removed_from_their_work_puts_it_back_into_the_queue(offered: tuple[WorkItem, User]) -> None:
    item, agent = offered
    work_accept(item=item, agent=agent)
    case = Case.objects.get(pk=item.case_id)
    case.owner = None
    work_owner_changed(case=case)
    item.refresh_from_db()
    assert item.status == Status.QUEUED and item.reason == "unassigned" and load(agent) == 0


def test_an_agent_taking_the_case_offered_to_them_accepts_the_offer(offered: tuple[WorkItem, User]) -> None:
    item, agent = offered
    case = Case.objects.get(pk=item.case_id)
    case.owner = agent
    work_owner_changed(case=case)
    item.refresh_from_db()
    assert item.status == Status.ASSIGNED and item.agent_id == agent.pk and load(agent) == 10


# ── transfer ──────────────────────────────────────────────────────────────────────────────────────────────────


def test_transfer_to_a_queue_keeps_the_age_and_records_from_where_with_the_note(
    offered: tuple[WorkItem, User], make_queue: Callable[..., Queue]
) -> None:
    item, agent = offered
    work_accept(item=item, agent=agent)
    incidents = make_queue("Incidents", priority=9)
    moved = work_transfer(item=item, actor=agent, queue=incidents, note="The customer reports an outage.")
    assert moved.status == Status.QUEUED and moved.queue == incidents and moved.queue_priority == 9
    assert moved.enqueued_at == item.enqueued_at and moved.agent_id is None and load(agent) == 0
    case = Case.objects.get(pk=item.case_id)
    assert case.owner is None
    event = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.TRANSFERRED)
    assert event.actor == agent and event.data["from"] == agent.get_full_name() and event.data["to"] == "Incidents"
    assert Note.objects.get(pk=event.data["note_id"]).body == "The customer reports an outage."


def test_transfer_to_an_agent_assigns_it_to_them_when_they_have_room(
    offered: tuple[WorkItem, User], online_agent: Callable[..., User], team_lead: User
) -> None:
    item, agent = offered
    work_accept(item=item, agent=agent)
    colleague = online_agent(capacity=15, username="colleague")
    moved = work_transfer(item=item, actor=team_lead, agent=colleague)
    assert moved.status == Status.ASSIGNED and moved.agent_id == colleague.pk
    assert (load(agent), load(colleague)) == (0, 10)
    case = Case.objects.get(pk=item.case_id)
    assert case.owner == colleague
    event = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.TRANSFERRED)
    assert event.data["from"] == agent.get_full_name() and event.data["to"] == colleague.get_full_name()

    with pytest.raises(RoutingError, match="has this work already"):
        work_transfer(item=item, actor=team_lead, agent=colleague)


def test_transfer_to_an_agent_without_room_changes_nothing(
    offered: tuple[WorkItem, User], online_agent: Callable[..., User], team_lead: User
) -> None:
    item, agent = offered
    full = online_agent(capacity=5, username="full")
    with pytest.raises(RoutingError, match="no room"):
        work_transfer(item=item, actor=team_lead, agent=full)
    item.refresh_from_db()
    assert item.status == Status.OFFERED and item.agent_id == agent.pk
    assert (load(agent), load(full)) == (10, 0)
    assert not CaseEvent.objects.filter(kind=CaseEvent.Kind.TRANSFERRED).exists()


def test_only_the_holder_or_a_supervisor_can_transfer_work(
    offered: tuple[WorkItem, User], other_agent: User, make_queue: Callable[..., Queue]
) -> None:
    item, _agent = offered
    with pytest.raises(RoutingPermissionError):
        work_transfer(item=item, actor=other_agent, queue=make_queue())
    with pytest.raises(RoutingError):
        work_transfer(item=item, actor=other_agent)  # neither a queue nor an agent


def test_finished_work_cannot_be_transferred(
    offered: tuple[WorkItem, User], team_lead: User, make_queue: Callable[..., Queue]
) -> None:
    item, agent = offered
    work_accept(item=item, agent=agent)
    work_acted(case=Case.objects.get(pk=item.case_id), agent=agent)
    with pytest.raises(RoutingError, match="finished"):
        work_transfer(item=item, actor=team_lead, queue=make_queue())


# ── presence ──────────────────────────────────────────────────────────────────────────────────────────────────


def test_presence_changes_are_kept_as_history(agent: User) -> None:
    presence_set(user=agent, presence=Presence.ONLINE, reason="login")
    presence_set(user=agent, presence=Presence.ONLINE)  # no change: no new stretch
    presence_set(user=agent, presence=Presence.BUSY)
    log = list(PresenceLog.objects.filter(user=agent))
    assert [(row.presence, row.reason) for row in log] == [("online", "login"), ("busy", "manual")]
    assert log[0].ended_at == log[1].started_at and log[1].ended_at is None
    state = AgentState.objects.get(user=agent)
    assert state.presence == Presence.BUSY and state.presence_since == log[1].started_at


def test_only_a_supervisor_sets_another_agents_presence(agent: User, other_agent: User, team_lead: User) -> None:
    with pytest.raises(RoutingPermissionError):
        presence_set(user=agent, presence=Presence.ONLINE, by=other_agent)
    presence_set(user=agent, presence=Presence.AWAY, reason="supervisor", by=team_lead)
    row = PresenceLog.objects.get(user=agent)
    assert row.changed_by == team_lead and row.reason == "supervisor"
    with pytest.raises(RoutingError):
        presence_set(user=agent, presence="asleep")


def test_agent_seen_writes_at_most_every_30_seconds(agent: User) -> None:
    presence_set(user=agent, presence=Presence.ONLINE)
    long_ago = timezone.now() - timedelta(hours=1)
    AgentState.objects.filter(user=agent).update(last_seen_at=long_ago)
    from tiski.routing import services

    services._seen_cache.clear()
    agent_seen(agent)
    seen = AgentState.objects.get(user=agent).last_seen_at
    assert seen is not None and seen > long_ago
    AgentState.objects.filter(user=agent).update(last_seen_at=long_ago)
    agent_seen(agent)
    assert AgentState.objects.get(user=agent).last_seen_at == long_ago  # written moments ago: not again


# ── pushes ────────────────────────────────────────────────────────────────────────────────────────────────────


@pytest.fixture
def listen() -> Iterator[Callable[[str], Callable[[], dict[str, Any] | None]]]:
    """listen(group) → a function returning the next message pushed to GROUP (None within a second)."""
    layer = get_channel_layer()
    assert layer is not None

    def subscribe(group: str) -> Callable[[], dict[str, Any] | None]:
        channel = async_to_sync(layer.new_channel)()
        async_to_sync(layer.group_add)(group, channel)

        async def next_message() -> dict[str, Any] | None:
            try:
                return await asyncio.wait_for(layer.receive(channel), 1)
            except TimeoutError:
                return None

        return async_to_sync(next_message)

    yield subscribe
    async_to_sync(layer.flush)()


def test_offers_are_pushed_to_the_agent_and_supervisors_after_commit(
    queue: Queue,
    online_agent: Callable[..., User],
    make_item: Callable[..., WorkItem],
    listen: Callable[[str], Callable[[], dict[str, Any] | None]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    agent = online_agent(queues=[queue])
    item = make_item(queue)
    to_agent, to_supervisors = listen(f"agent.{agent.pk}"), listen("supervisors")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        route_pending()
    assert to_agent() is None  # nothing before commit
    for callback in callbacks:
        callback()
    assert to_agent() == {"type": "routing.offer", "item_id": item.pk}
    assert to_supervisors() == {"type": "routing.changed"}

    with django_capture_on_commit_callbacks(execute=True):
        work_decline(item=item, agent=agent)
    assert to_agent() == {"type": "routing.withdrawn", "item_id": item.pk}
    with django_capture_on_commit_callbacks(execute=True):
        presence_set(user=agent, presence=Presence.AWAY)
    assert to_agent() == {"type": "routing.presence"}
