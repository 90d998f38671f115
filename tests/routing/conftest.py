"""Shared routing fixtures: queues, skills, online agents, cases with queued work, and the load invariant."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db.models import Sum

from tiski.accounts.services import agent_create
from tiski.cases.models import Case
from tiski.customers.models import Customer
from tiski.routing.models import AgentSkill, AgentState, Presence, Queue, Skill, WorkItem
from tiski.routing.services import agent_state, presence_set, work_enqueue

_numbers = itertools.count(1)


@pytest.fixture
def make_queue(db: None) -> Callable[..., Queue]:
    """Create a queue: make_queue("Incidents", priority=9, fallback_after=0, …)."""

    def make(name: str = "", **fields: Any) -> Queue:
        return Queue.objects.create(name=name or f"Queue {next(_numbers)}", **fields)

    return make


@pytest.fixture
def make_skill(db: None) -> Callable[..., Skill]:
    """Create a skill: make_skill("English", kind="language", language="en")."""

    def make(name: str = "", **fields: Any) -> Skill:
        return Skill.objects.create(name=name or f"Skill {next(_numbers)}", **fields)

    return make


@pytest.fixture
def make_agent(db: None) -> Callable[..., User]:
    """Create an agent user (role "agent" unless given): make_agent("liisa", password=PASSWORD) to log in.

    Without a password none is hashed (hashing is slow on purpose, and most tests never log in).
    """

    def make(username: str = "", *, role: str = "agent", password: str | None = None, **fields: Any) -> User:
        username = username or f"agent{next(_numbers)}"
        fields.setdefault("first_name", username.capitalize())
        return agent_create(username=username, password=password, role=role, **fields)

    return make


@pytest.fixture
def online_agent(make_agent: Callable[..., User]) -> Callable[..., User]:
    """Set an agent up for routing and bring them online:
    online_agent(user=None, capacity=100, queues=[q], skills={english: 8}, channel_kinds=[], presence="online").

    With no user a new agent is created.
    """

    def make(
        user: User | None = None,
        *,
        capacity: int = 100,
        queues: Iterable[Queue] = (),
        skills: Mapping[Skill, int] | None = None,
        channel_kinds: Iterable[str] = (),
        presence: str = Presence.ONLINE,
        username: str = "",
    ) -> User:
        user = user or make_agent(username)
        state = agent_state(user)
        state.capacity = capacity
        state.channel_kinds = list(channel_kinds)
        state.save(update_fields=["capacity", "channel_kinds"])
        state.queues.set(list(queues))
        for skill, level in (skills or {}).items():
            AgentSkill.objects.update_or_create(user=user, skill=skill, defaults={"level": level})
        presence_set(user=user, presence=presence)
        return user

    return make


@pytest.fixture
def make_case(db: None) -> Callable[..., Case]:
    """Create a bare case (no message, so no routing rule runs): make_case(subject=…, priority=…, owner=…)."""

    def make(*, customer: Customer | None = None, **fields: Any) -> Case:
        number = next(_numbers)
        fields.setdefault("subject", f"Question {number}")
        return Case.objects.create(customer=customer or Customer.objects.create(name=f"Customer {number}"), **fields)

    return make


@pytest.fixture
def make_item(make_case: Callable[..., Case]) -> Callable[..., WorkItem]:
    """Queue work on a new case (or CASE): make_item(queue, channel_kind="email", skills=[(english, 5)],
    optional=[(finnish, 3)], priority=2, enqueued_at=…, due_at=…).

    SKILLS and OPTIONAL are (skill, level) pairs; ENQUEUED_AT backdates the item (its age for ordering and
    fallback stages).
    """

    def make(
        queue: Queue,
        *,
        case: Case | None = None,
        channel_kind: str = "email",
        skills: Iterable[tuple[Skill, int]] = (),
        optional: Iterable[tuple[Skill, int]] = (),
        priority: int | None = None,
        enqueued_at: datetime | None = None,
        due_at: datetime | None = None,
        language: str = "",
    ) -> WorkItem:
        needs = [{"skill": s.pk, "level": level, "optional": False} for s, level in skills]
        needs += [{"skill": s.pk, "level": level, "optional": True} for s, level in optional]
        item = work_enqueue(
            case=case or make_case(),
            queue=queue,
            channel_kind=channel_kind,
            language=language,
            skills=needs,
            priority=priority,
            due_at=due_at,
        )
        if enqueued_at is not None:
            WorkItem.objects.filter(pk=item.pk).update(enqueued_at=enqueued_at)
            item.enqueued_at = enqueued_at
        return item

    return make


def loads_wrong() -> list[str]:
    """Return the agents whose load is not the sum of the units of the work offered or assigned to them and of
    the calls they are on."""
    held = dict(
        WorkItem.objects.filter(status__in=[WorkItem.Status.OFFERED, WorkItem.Status.ASSIGNED])
        .values_list("agent_id")
        .annotate(units=Sum("units"))
        .values_list("agent_id", "units")
    )
    from tiski.channels.voice.models import Call

    for agent_id, units in Call.objects.filter(units__gt=0).values_list("agent_id", "units"):
        held[agent_id] = held.get(agent_id, 0) + units  # a call holds capacity while it lasts
    wrong = []
    for state in AgentState.objects.all():
        holds = held.pop(state.user_id, 0)
        if state.load != holds:
            wrong.append(f"{state.user_id}: load {state.load}, holds {holds}")
        if state.load > state.capacity:
            wrong.append(f"{state.user_id}: load {state.load} over capacity {state.capacity}")
    wrong += [f"{uid}: holds {units} units without a routing state" for uid, units in held.items()]
    return wrong


@pytest.fixture
def loads_exact(db: None) -> Iterable[None]:
    """After the test, every agent's load is exactly the units of the work they hold, within capacity."""
    yield
    assert loads_wrong() == []


@pytest.fixture(autouse=True)
def _seen_forgotten() -> Iterable[None]:
    """agent_seen() remembers per process whom it wrote lately; ids repeat between tests, so forget them."""
    from tiski.routing import services

    services._seen_cache.clear()
    yield
    services._seen_cache.clear()
