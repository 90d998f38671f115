"""Domain events: typed facts that later features subscribe to, published inside the writing transaction.

A subscriber is either a background task (durable: it is enqueued in the same transaction as the data,
so it runs exactly when the data was committed, even if the process dies right after) or a plain
callable (live: it runs after commit in this process, for pushes to open consoles).
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


Event = MessageReceived | ReplyQueued | CaseEventRecorded
Subscriber = Task[..., Any] | Callable[[Any], None]
Predicate = Callable[[Any], bool]

_subscribers: dict[type, list[tuple[Subscriber, Predicate | None]]] = defaultdict(list)


def subscribe(event_type: type, subscriber: Subscriber, *, when: Predicate | None = None) -> None:
    """Call SUBSCRIBER for every published event of EVENT_TYPE for which WHEN holds (once per subscriber).

    WHEN is checked at publication, so a task is not even enqueued for events it would ignore.
    """
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
        else:
            transaction.on_commit(functools.partial(subscriber, event))
