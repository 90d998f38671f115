"""The router's decision rules, against the real database: order, skills, stages, ties, capacity, re-offers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from tiski.accounts.models import Team
from tiski.cases.models import Case, CaseEvent, Note
from tiski.routing.models import AgentState, Presence, PresenceLog, Queue, Skill, WorkItem
from tiski.routing.router import route_pending, timers_run
from tiski.routing.services import presence_set, work_accept, work_acted, work_decline

pytestmark = pytest.mark.usefixtures("loads_exact")

Status = WorkItem.Status


def offered_to(item: WorkItem) -> int | None:
    item.refresh_from_db()
    return item.agent_id if item.status in (Status.OFFERED, Status.ASSIGNED) else None


@pytest.fixture
def queue(make_queue: Callable[..., Queue]) -> Queue:
    return make_queue("Support", fallback_after=300, offer_timeout=60)


@pytest.fixture
def english(make_skill: Callable[..., Skill]) -> Skill:
    return make_skill("English", kind=Skill.Kind.LANGUAGE, language="en")


@pytest.fixture
def finnish(make_skill: Callable[..., Skill]) -> Skill:
    return make_skill("Finnish", kind=Skill.Kind.LANGUAGE, language="fi")


# ── order ──────────────────────────────────────────────────────────────────────────────────────────────────────


def test_work_is_offered_by_queue_priority_then_item_priority_then_age_then_due(
    make_queue: Callable[..., Queue], online_agent: Callable[..., User], make_item: Callable[..., WorkItem]
) -> None:
    low = make_queue("Questions", priority=3)
    high = make_queue("Incidents", priority=9)
    agent = online_agent(capacity=10, queues=[low, high])  # room for one email at a time
    now = timezone.now()
    items = {
        "low queue, urgent, oldest": make_item(low, priority=4, enqueued_at=now - timedelta(hours=1)),
        "high queue, low priority": make_item(high, priority=1, enqueued_at=now - timedelta(minutes=30)),
        "high, normal, 10 min": make_item(high, priority=3, enqueued_at=now - timedelta(minutes=10)),
        "high, normal, 20 min, due late": make_item(
            high, priority=3, enqueued_at=now - timedelta(minutes=20), due_at=now + timedelta(hours=2)
        ),
        "high, normal, 20 min, due soon": make_item(
            high, priority=3, enqueued_at=now - timedelta(minutes=20), due_at=now + timedelta(hours=1)
        ),
    }
    names = {item.pk: name for name, item in items.items()}
    order = []
    for _ in items:
        offered = route_pending(now=now)
        assert len(offered) == 1
        order.append(names[offered[0].pk])
        work_acted(case=Case.objects.get(pk=offered[0].case_id), agent=agent)  # done: the room is free again
    assert order == [
        "high, normal, 20 min, due soon",
        "high, normal, 20 min, due late",
        "high, normal, 10 min",
        "high queue, low priority",
        "low queue, urgent, oldest",
    ]
    assert route_pending(now=now) == []


def test_work_no_free_agent_can_take_does_not_hide_the_work_behind_it(
    queue: Queue,
    make_queue: Callable[..., Queue],
    online_agent: Callable[..., User],
    make_item: Callable[..., WorkItem],
    english: Skill,
    finnish: Skill,
) -> None:
    agent = online_agent(queues=[queue], skills={english: 5})
    now = timezone.now()
    for _ in range(250):  # older, and nobody online speaks Finnish
        make_item(queue, skills=[(finnish, 1)], enqueued_at=now - timedelta(seconds=10))
    routable = make_item(queue, skills=[(english, 2)])
    offered = route_pending(now=now, limit=100)
    assert [item.pk for item in offered] == [routable.pk]
    assert offered_to(routable) == agent.pk


def test_an_item_with_malformed_skills_is_passed_over_and_the_rest_routed(
    queue: Queue, online_agent: Callable[..., User], make_item: Callable[..., WorkItem]
) -> None:
    agent = online_agent(queues=[queue])
    broken = make_item(queue, enqueued_at=timezone.now() - timedelta(minutes=1))
    WorkItem.objects.filter(pk=broken.pk).update(skills=[{"level": "high"}])  # written by hand, say
    good = make_item(queue)
    assert [item.pk for item in route_pending()] == [good.pk]
    assert offered_to(good) == agent.pk and offered_to(broken) is None


def test_nothing_is_locked_or_read_beyond_one_query_when_no_agent_has_room(
    queue: Queue,
    online_agent: Callable[..., User],
    make_item: Callable[..., WorkItem],
    django_assert_num_queries: Callable[..., object],
) -> None:
    online_agent(capacity=10, queues=[queue])
    make_item(queue)
    assert len(route_pending()) == 1
    make_item(queue)
    with django_assert_num_queries(1):  # type: ignore[attr-defined]
        assert route_pending() == []


# ── skills and stages ─────────────────────────────────────────────────────────────────────────────────────────


def test_english_work_goes_to_the_free_agent_with_the_highest_english(
    queue: Queue, online_agent: Callable[..., User], make_item: Callable[..., WorkItem], english: Skill
) -> None:
    online_agent(queues=[queue], skills={english: 5}, username="fair")
    best = online_agent(queues=[queue], skills={english: 8}, username="fluent")
    online_agent(queues=[queue], skills={english: 2}, username="beginner")
    item = make_item(queue, skills=[(english, 3)])
    route_pending()
    assert offered_to(item) == best.pk


def test_optional_skill_the_agent_has_counts_towards_the_best(
    queue: Queue, online_agent: Callable[..., User], make_item: Callable[..., WorkItem], english: Skill, finnish: Skill
) -> None:
    online_agent(queues=[queue], skills={english: 8}, username="english_only")
    both = online_agent(queues=[queue], skills={english: 5, finnish: 6}, username="both")
    item = make_item(queue, skills=[(english, 3)], optional=[(finnish, 1)])
    route_pending()
    assert offered_to(item) == both.pk


def test_agents_below_the_level_wait_until_the_fallback_then_lower_levels_are_accepted(
    queue: Queue, online_agent: Callable[..., User], make_item: Callable[..., WorkItem], english: Skill
) -> None:
    agent = online_agent(queues=[queue], skills={english: 4})
    item = make_item(queue, skills=[(english, 7)])
    start = item.enqueued_at
    assert route_pending(now=start + timedelta(seconds=299)) == []
    route_pending(now=start + timedelta(seconds=300))
    assert offered_to(item) == agent.pk


def test_optional_skills_are_required_before_the_fallback_and_dropped_after_it(
    queue: Queue, online_agent: Callable[..., User], make_item: Callable[..., WorkItem], english: Skill, finnish: Skill
) -> None:
    agent = online_agent(queues=[queue], skills={english: 9})
    item = make_item(queue, skills=[(english, 3)], optional=[(finnish, 5)])
    assert route_pending(now=item.enqueued_at + timedelta(seconds=10)) == []
    route_pending(now=item.enqueued_at + timedelta(seconds=301))
    assert offered_to(item) == agent.pk


def test_after_twice_the_fallback_an_agent_without_the_skill_takes_the_work(
    queue: Queue, online_agent: Callable[..., User], make_item: Callable[..., WorkItem], english: Skill
) -> None:
    agent = online_agent(queues=[queue])
    item = make_item(queue, skills=[(english, 5)])
    assert route_pending(now=item.enqueued_at + timedelta(seconds=301)) == []  # required skills: any level, not none
    assert route_pending(now=item.enqueued_at + timedelta(seconds=599)) == []
    route_pending(now=item.enqueued_at + timedelta(seconds=600))
    assert offered_to(item) == agent.pk


def test_a_queue_without_fallback_never_widens(
    make_queue: Callable[..., Queue],
    online_agent: Callable[..., User],
    make_item: Callable[..., WorkItem],
    english: Skill,
) -> None:
    strict = make_queue("Strict", fallback_after=0)
    online_agent(queues=[strict], skills={english: 2})
    item = make_item(strict, skills=[(english, 5)])
    assert route_pending(now=item.enqueued_at + timedelta(days=2)) == []


# ── ties ──────────────────────────────────────────────────────────────────────────────────────────────────────


def test_equal_skill_goes_to_the_agent_with_more_room(
    queue: Queue, online_agent: Callable[..., User], make_item: Callable[..., WorkItem], english: Skill
) -> None:
    online_agent(queues=[queue], skills={english: 6}, capacity=50, username="small")
    big = online_agent(queues=[queue], skills={english: 6}, capacity=100, username="big")
    item = make_item(queue, skills=[(english, 1)])
    route_pending()
    assert offered_to(item) == big.pk


def test_equal_skill_and_room_goes_to_the_agent_idle_longest_never_offered_first(
    queue: Queue, online_agent: Callable[..., User], make_item: Callable[..., WorkItem], english: Skill
) -> None:
    now = timezone.now()
    recent = online_agent(queues=[queue], skills={english: 6}, username="recent")
    earlier = online_agent(queues=[queue], skills={english: 6}, username="earlier")
    AgentState.objects.filter(user=recent).update(last_routed_at=now - timedelta(minutes=1))
    AgentState.objects.filter(user=earlier).update(last_routed_at=now - timedelta(minutes=5))
    item = make_item(queue, skills=[(english, 1)])
    route_pending(now=now)
    assert offered_to(item) == earlier.pk

    work_decline(item=item, agent=earlier)
    never = online_agent(queues=[queue], skills={english: 6}, username="never")
    AgentState.objects.filter(user=earlier).update(last_routed_at=now - timedelta(minutes=9))
    again = make_item(queue, skills=[(english, 1)])
    route_pending(now=now)
    assert offered_to(item) == never.pk  # earlier declined it; never offered anything beats 1 minute idle
    assert offered_to(again) == earlier.pk  # most room (never holds one now), then 9 minutes idle beat 1


def test_greedy_routing_spreads_a_batch_by_room_and_idleness(
    queue: Queue, online_agent: Callable[..., User], make_item: Callable[..., WorkItem]
) -> None:
    one = online_agent(queues=[queue], username="one")
    two = online_agent(queues=[queue], username="two")
    items = [make_item(queue) for _ in range(4)]
    route_pending()
    assert sorted(offered_to(item) or 0 for item in items) == sorted([one.pk, one.pk, two.pk, two.pk])


# ── eligibility and capacity ──────────────────────────────────────────────────────────────────────────────────


def test_capacity_is_never_exceeded(
    queue: Queue, online_agent: Callable[..., User], make_item: Callable[..., WorkItem]
) -> None:
    agent = online_agent(queues=[queue], capacity=100)
    emails = [make_item(queue, channel_kind="email") for _ in range(12)]
    assert len(route_pending()) == 10  # 10 units each
    assert AgentState.objects.get(user=agent).load == 100
    assert route_pending() == []
    assert sum(offered_to(item) == agent.pk for item in emails) == 10


def test_a_chat_is_not_offered_to_an_agent_with_less_room_than_it_takes(
    queue: Queue, online_agent: Callable[..., User], make_item: Callable[..., WorkItem]
) -> None:
    agent = online_agent(queues=[queue], capacity=100)
    for _ in range(3):
        make_item(queue, channel_kind="chat")  # 33 units each
    assert len(route_pending()) == 3
    email = make_item(queue, channel_kind="email")  # 10 units, 1 free
    assert route_pending() == []
    assert AgentState.objects.get(user=agent).load == 99
    assert offered_to(email) is None


def test_a_call_nobody_can_take_does_not_hide_an_email_behind_it_from_an_agent_with_less_room(
    queue: Queue, online_agent: Callable[..., User], make_item: Callable[..., WorkItem]
) -> None:
    online_agent(queues=[queue], capacity=100, channel_kinds=["chat"], username="chats")  # room, not for these
    agent = online_agent(queues=[queue], capacity=100, channel_kinds=["email"], username="mails")
    for _ in range(5):
        make_item(queue)
    assert len(route_pending()) == 5  # the mail agent has 50 of 100 units in use
    now = timezone.now()
    make_item(queue, channel_kind="phone", enqueued_at=now - timedelta(minutes=5))  # first in line, 100 units
    email = make_item(queue)
    assert [item.pk for item in route_pending(now=now, limit=1)] == [email.pk]  # one item a page: past the call
    assert offered_to(email) == agent.pk


def test_only_agents_serving_the_queue_and_the_channel_are_offered_the_work(
    queue: Queue,
    make_queue: Callable[..., Queue],
    online_agent: Callable[..., User],
    make_item: Callable[..., WorkItem],
) -> None:
    other = make_queue("Other")
    online_agent(queues=[other], username="elsewhere")
    online_agent(queues=[queue], channel_kinds=["chat", "phone"], username="voice")
    email_agent = online_agent(queues=[queue], channel_kinds=["email"], username="mail")
    chat = make_item(queue, channel_kind="chat")
    email = make_item(queue, channel_kind="email")
    sms = make_item(queue, channel_kind="sms")
    route_pending()
    assert offered_to(email) == email_agent.pk
    assert offered_to(chat) is not None and offered_to(chat) != email_agent.pk
    assert offered_to(sms) is None


def test_agents_not_online_are_not_offered_work(
    queue: Queue, online_agent: Callable[..., User], make_item: Callable[..., WorkItem]
) -> None:
    for presence in (Presence.BUSY, Presence.AWAY, Presence.OFFLINE):
        online_agent(queues=[queue], presence=presence)
    item = make_item(queue)
    assert route_pending() == []
    assert offered_to(item) is None


# ── re-offers ─────────────────────────────────────────────────────────────────────────────────────────────────


def test_a_declined_offer_goes_to_the_next_agent_and_never_back(
    queue: Queue, online_agent: Callable[..., User], make_item: Callable[..., WorkItem], english: Skill
) -> None:
    best = online_agent(queues=[queue], skills={english: 9}, username="best")
    second = online_agent(queues=[queue], skills={english: 5}, username="second")
    item = make_item(queue, skills=[(english, 1)])
    route_pending()
    assert offered_to(item) == best.pk
    work_decline(item=item, agent=best)
    assert AgentState.objects.get(user=best).load == 0
    route_pending()
    assert offered_to(item) == second.pk
    work_decline(item=item, agent=second)
    assert route_pending() == []
    item.refresh_from_db()
    assert item.status == Status.QUEUED and item.declined == [best.pk, second.pk] and item.offers == 2


def test_after_the_first_widening_a_decliner_gets_the_item_again_when_nobody_else_can(
    make_queue: Callable[..., Queue], online_agent: Callable[..., User], make_item: Callable[..., WorkItem]
) -> None:
    queue = make_queue("Small team", fallback_after=300)
    only = online_agent(queues=[queue], username="only")
    item = make_item(queue)
    now = item.enqueued_at
    route_pending(now=now)
    work_decline(item=item, agent=only)
    assert route_pending(now=now + timedelta(seconds=299)) == []
    route_pending(now=now + timedelta(seconds=300))
    assert offered_to(item) == only.pk


def test_an_offer_not_accepted_in_time_goes_to_the_next_agent(
    make_queue: Callable[..., Queue], online_agent: Callable[..., User], make_item: Callable[..., WorkItem]
) -> None:
    queue = make_queue("Quick", offer_timeout=30)
    first = online_agent(queues=[queue], username="first")
    second = online_agent(queues=[queue], username="second")
    item = make_item(queue)
    now = timezone.now()
    route_pending(now=now)
    holder = offered_to(item)
    assert holder in (first.pk, second.pk)
    item.refresh_from_db()
    assert item.offer_expires_at == now + timedelta(seconds=30)
    timers_run(now=now + timedelta(seconds=29))
    assert offered_to(item) == holder
    timers_run(now=now + timedelta(seconds=30))
    item.refresh_from_db()
    assert item.status == Status.QUEUED and item.declined == [holder] and item.reason == "timeout"
    route_pending(now=now + timedelta(seconds=30))
    assert offered_to(item) == ({first.pk, second.pk} - {holder}).pop()


def test_leaving_online_withdraws_offers_without_counting_them_declined(
    queue: Queue, online_agent: Callable[..., User], make_item: Callable[..., WorkItem]
) -> None:
    agent = online_agent(queues=[queue])
    item = make_item(queue)
    route_pending()
    assert offered_to(item) == agent.pk
    presence_set(user=agent, presence=Presence.AWAY)
    item.refresh_from_db()
    assert item.status == Status.QUEUED and item.declined == [] and item.reason == "withdrawn"
    assert route_pending() == []
    presence_set(user=agent, presence=Presence.ONLINE)
    route_pending()
    assert offered_to(item) == agent.pk


def test_accepted_work_stays_with_the_agent_who_goes_away(
    queue: Queue, online_agent: Callable[..., User], make_item: Callable[..., WorkItem]
) -> None:
    agent = online_agent(queues=[queue])
    item = make_item(queue)
    route_pending()
    work_accept(item=item, agent=agent)
    presence_set(user=agent, presence=Presence.OFFLINE)
    item.refresh_from_db()
    assert item.status == Status.ASSIGNED and item.agent_id == agent.pk


def test_an_offer_left_with_an_agent_who_is_not_online_is_withdrawn_by_the_timers(
    queue: Queue, online_agent: Callable[..., User], make_item: Callable[..., WorkItem]
) -> None:
    agent = online_agent(queues=[queue])
    item = make_item(queue)
    route_pending()
    AgentState.objects.filter(user=agent).update(presence=Presence.AWAY)  # as if a race skipped the offer
    timers_run()
    item.refresh_from_db()
    assert item.status == Status.QUEUED and item.agent_id is None and item.declined == []


def test_auto_accept_queues_assign_the_work_and_the_case_at_once(
    make_queue: Callable[..., Queue], online_agent: Callable[..., User], make_item: Callable[..., WorkItem]
) -> None:
    team = Team.objects.create(name="Billing")
    queue = make_queue("Billing", auto_accept=True, team=team)
    agents = {online_agent(queues=[queue]).pk, online_agent(queues=[queue]).pk}
    items = [make_item(queue) for _ in range(3)]
    routed = route_pending()
    assert {item.status for item in routed} == {Status.ASSIGNED}
    for item in items:
        item.refresh_from_db()
        assert item.status == Status.ASSIGNED and item.agent_id in agents and item.assigned_at is not None
        case = Case.objects.get(pk=item.case_id)
        assert case.owner_id == item.agent_id and case.team_id == team.pk
        assigned = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.ASSIGNED)
        assert case.owner is not None
        assert assigned.data["via"] == "routing" and assigned.data["new"] == case.owner.get_full_name()
        assert CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.TEAM_CHANGED).data["new"] == "Billing"


# ── idle agents, return before breach ─────────────────────────────────────────────────────────────────────────


def test_an_agent_idle_longer_than_the_timeout_goes_away(
    queue: Queue, online_agent: Callable[..., User], settings: object
) -> None:
    settings.TISKI_PRESENCE_IDLE_MINUTES = 15  # type: ignore[attr-defined]
    agent = online_agent(queues=[queue])
    seen = AgentState.objects.get(user=agent).last_seen_at
    assert seen is not None
    timers_run(now=seen + timedelta(minutes=14))
    assert AgentState.objects.get(user=agent).presence == Presence.ONLINE
    timers_run(now=seen + timedelta(minutes=16))
    state = AgentState.objects.get(user=agent)
    assert state.presence == Presence.AWAY
    assert PresenceLog.objects.filter(user=agent).last() == PresenceLog.objects.get(user=agent, reason="idle")


def test_unanswered_work_returns_to_the_queue_before_its_target_with_a_note(
    make_queue: Callable[..., Queue], online_agent: Callable[..., User], make_item: Callable[..., WorkItem]
) -> None:
    queue = make_queue("Mail", response_target=30, return_margin=600)
    agent = online_agent(queues=[queue])
    item = make_item(queue)
    route_pending()
    work_accept(item=item, agent=agent)
    case = Case.objects.get(pk=item.case_id)
    assert case.owner_id == agent.pk
    item.refresh_from_db()
    assert item.due_at is not None
    return_at = item.due_at - timedelta(seconds=600)
    timers_run(now=return_at - timedelta(seconds=1))
    assert offered_to(item) == agent.pk

    timers_run(now=return_at)
    item.refresh_from_db()
    assert item.status == Status.QUEUED and item.agent_id is None and item.reason == "returned"
    assert agent.pk in item.declined
    case.refresh_from_db()
    assert case.owner_id is None
    note = Note.objects.get(case=case)
    assert note.author is None and agent.first_name in note.body
    event = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.RETURNED)
    assert event.data["agent"] == agent.get_full_name() and event.data["note_id"] == note.pk


def test_work_the_agent_acted_on_is_not_returned(
    make_queue: Callable[..., Queue], online_agent: Callable[..., User], make_item: Callable[..., WorkItem]
) -> None:
    queue = make_queue("Chat", response_target=2, return_margin=60)
    agent = online_agent(queues=[queue])
    item = make_item(queue, channel_kind="chat")
    route_pending()
    work_accept(item=item, agent=agent)
    work_acted(case=Case.objects.get(pk=item.case_id), agent=agent)  # chat: taken up, not done
    item.refresh_from_db()
    assert item.status == Status.ASSIGNED and item.acted_at is not None and item.due_at is not None
    timers_run(now=item.due_at + timedelta(minutes=5))
    item.refresh_from_db()
    assert item.status == Status.ASSIGNED
