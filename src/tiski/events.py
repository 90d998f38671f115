"""Domain events: typed facts that later features subscribe to, published inside the writing transaction.

A subscriber is either a background task (durable: it is enqueued in the same transaction as the data,
so it runs exactly when the data was committed, even if the process dies right after), a plain
callable (live: it runs after commit in this process, for pushes to open consoles), or a plain callable
subscribed with ``inside=True`` (part of the write: it runs at once in the publishing transaction, so
what it writes commits or rolls back with the data — routing enqueues work items this way).
"""

from __future__ import annotations

import dataclasses
import functools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django_tasks.base import Task


@dataclass(frozen=True)
class MessageReceived:
    message_id: int
    case_id: int
    case_created: bool
    channel_kind: str
    customer_id: int = 0
    customer_created: bool = False


@dataclass(frozen=True)
class CaseEventRecorded:
    """Something happened on a case (its timeline gained an entry): status, owner, note, reply, message …"""

    event_id: int
    case_id: int
    customer_id: int
    kind: str
    actor_id: int | None


@dataclass(frozen=True)
class ReplyQueued:
    message_id: int
    case_id: int


@dataclass(frozen=True)
class SlaTimer:
    """A service-level target on a case reached its warning share (kind "sla_warning") or fell due ("sla_breached")."""

    case_id: int
    clock_id: int
    metric: str
    kind: str


@dataclass(frozen=True)
class CustomerSignalsChanged:
    """A customer's traffic-light signals changed because their external records did: the signal rules' ids the
    customer now has and had not (GAINED), and had and has no more (LOST)."""

    customer_id: int
    gained: tuple[int, ...]
    lost: tuple[int, ...]


@dataclass(frozen=True)
class SurveyAnswered:
    """A customer answered a survey (or changed the answer, CHANGED): CASE_ID and CUSTOMER_ID are 0 for an
    anonymous survey's answer and for an imported answer without a case."""

    response_id: int
    case_id: int
    customer_id: int
    kind: str
    score: int
    negative: bool
    changed: bool = False
    negative_before: bool = False  # a changed answer: whether the one it replaced was negative


Event = MessageReceived | ReplyQueued | CaseEventRecorded | SlaTimer | CustomerSignalsChanged | SurveyAnswered
Subscriber = Task[..., Any] | Callable[[Any], None]
Predicate = Callable[[Any], bool]

_subscribers: dict[type, list[tuple[Subscriber, Predicate | None]]] = defaultdict(list)
_inside: set[int] = set()  # ids of the callables that run inside the publishing transaction


def subscribe(event_type: type, subscriber: Subscriber, *, when: Predicate | None = None, inside: bool = False) -> None:
    """Call SUBSCRIBER for every published event of EVENT_TYPE for which WHEN holds (once per subscriber).

    WHEN is checked at publication, so a task is not even enqueued for events it would ignore. INSIDE (plain
    callables only) runs the subscriber at once, in the publishing transaction, instead of after commit.
    """
    if inside:
        if isinstance(subscriber, Task):
            raise TypeError("a task subscriber is enqueued in the transaction already; inside= is for callables")
        _inside.add(id(subscriber))
    if all(existing is not subscriber for existing, _ in _subscribers[event_type]):
        _subscribers[event_type].append((subscriber, when))


def unsubscribe(event_type: type, subscriber: Subscriber) -> None:
    """Stop calling SUBSCRIBER for EVENT_TYPE."""
    _subscribers[event_type] = [(s, w) for s, w in _subscribers[event_type] if s is not subscriber]


def publish(event: Event) -> None:
    """Hand EVENT to its subscribers: tasks are enqueued now (in the caller's transaction), callables after commit."""
    for subscriber, when in list(_subscribers[type(event)]):
        if when is not None and not when(event):
            continue
        if isinstance(subscriber, Task):
            subscriber.enqueue(**dataclasses.asdict(event))
        elif id(subscriber) in _inside:
            subscriber(event)
        else:
            transaction.on_commit(functools.partial(subscriber, event))
