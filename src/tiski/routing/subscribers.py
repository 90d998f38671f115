"""How routing hears of the rest of Tiski: new contacts become work items, replies and status changes finish them.

Every subscriber here runs inside the publishing transaction (``inside=True``): the work item is written, or
finished, together with the message, reply or status change that causes it, and rolls back with it. They run
in the inbound pipeline and in every case change, so they return early and cheaply when routing has nothing
to do: timeline events of other kinds are filtered out before a subscriber is even called, each checks with
one indexed query (compiled once) whether the case has active work before it reads anything else (a case just
opened has none), and a contact's message, case and customer are read in one more.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

from django.apps import apps
from django.contrib.auth.models import User
from django.core import checks
from django.db import DEFAULT_DB_ALIAS
from django.db.models import QuerySet
from django.db.models.signals import post_migrate

from tiski import events
from tiski.cases.models import Case, CaseEvent, Message
from tiski.core.prepared import prepared_row
from tiski.routing import services
from tiski.routing.defaults import queue_default_ensure
from tiski.routing.models import WorkItem
from tiski.routing.rules import Contact, classify_contact, rules_connect

LEFT_OPEN = frozenset({Case.Status.PENDING, Case.Status.SOLVED, Case.Status.CLOSED})
_CASE_EVENT_KINDS = frozenset({CaseEvent.Kind.STATUS_CHANGED, CaseEvent.Kind.ASSIGNED, CaseEvent.Kind.REPLY_QUEUED})


def connect() -> None:
    """Subscribe routing to the domain events (called once from the app's ready())."""
    events.subscribe(events.MessageReceived, work_for_message, inside=True)
    events.subscribe(
        events.CaseEventRecorded, work_follow_case, when=lambda event: event.kind in _CASE_EVENT_KINDS, inside=True
    )
    rules_connect()
    # After `migrate`, and after a test's flush emptied the tables, there is a queue for work again.
    post_migrate.connect(
        queue_default_ensure, sender=apps.get_app_config("routing"), dispatch_uid="tiski.routing.defaults"
    )
    checks.register(detect_languages_check, checks.Tags.compatibility)


_paused: contextvars.ContextVar[bool] = contextvars.ContextVar("routing_intake_paused", default=False)


@contextlib.contextmanager
def routing_intake_paused() -> Iterator[None]:
    """Within this block (in this thread or task), contacts and case changes do not create or finish work.

    For loading invented history (the demo), whose later rows would contradict what routing did at the time.
    """
    token = _paused.set(True)
    try:
        yield
    finally:
        _paused.reset(token)


def work_for_message(event: events.MessageReceived) -> None:
    """Make the contact work for an agent: its owner's at once when they are online with room, else queued.

    Nothing happens when the case has active work already (the next message of a conversation is part of it)
    or the message was sent by a machine (an out-of-office reply needs nobody).
    """
    if _paused.get() or (not event.case_created and _has_active_work(event.case_id)):  # a new case has none
        return
    row = prepared_row("contact", _contact_query, event.message_id)
    if row is None:
        return
    channel_id, subject, text, automatic, case_type, category_id, priority, owner_id, language, tier = row
    if automatic:
        return
    found = classify_contact(
        Contact(
            channel_kind=event.channel_kind,
            channel_id=channel_id,
            subject=subject,
            text=text,
            case_type=case_type,
            category_id=category_id,
            tier=tier,
            language=language,
        )
    )
    # The services lock and re-read the case; the instance only names it (other fields load if ever read).
    case = _case(event.case_id, priority=priority, owner_id=owner_id)
    work: dict[str, Any] = {
        "case": case,
        "queue": found.queue,
        "channel_kind": event.channel_kind,
        "language": found.language,
        "skills": found.skills,
        "priority": max(priority, found.priority or 0),
    }
    if owner_id is not None:
        owner = User.from_db(DEFAULT_DB_ALIAS, ["id"], [owner_id])
        if services.work_assign_owner(agent=owner, **work) is not None:
            return
    services.work_enqueue(**work, new_case=event.case_created)


def work_follow_case(event: events.CaseEventRecorded) -> None:
    """Keep the case's active work in step with the case: a reply acts on it, leaving new/open finishes it,
    and an owner someone else set takes it over.

    The event is recorded before the case row is saved, so the case handed on carries the new status or owner
    from the event, not from the row; the services lock and re-read what else they need.
    """
    if _paused.get() or not _has_active_work(event.case_id):
        return
    if event.kind == CaseEvent.Kind.REPLY_QUEUED:
        if event.actor_id is not None:
            agent = User.from_db(DEFAULT_DB_ALIAS, ["id"], [event.actor_id])
            services.work_acted(case=_case(event.case_id), agent=agent)
        return
    data: dict[str, Any] = CaseEvent.objects.values_list("data", flat=True).get(pk=event.event_id) or {}
    if event.kind == CaseEvent.Kind.STATUS_CHANGED:
        if data.get("new") in LEFT_OPEN:
            services.work_case_left_open(case=_case(event.case_id, status=data["new"]))
    elif event.kind == CaseEvent.Kind.ASSIGNED and data.get("via") != "routing":
        # Routing's own assignments are its business; someone else's decide what happens to the work.
        case = (
            _case(event.case_id, owner_id=data["owner_id"])
            if "owner_id" in data
            else Case.objects.get(pk=event.case_id)
        )
        services.work_owner_changed(case=case)


def _case(case_id: int, **known: Any) -> Case:
    """Return case CASE_ID with the fields KNOWN (the rest load from the database if read)."""
    return Case.from_db(DEFAULT_DB_ALIAS, ["id", *known], [case_id, *known.values()])


def detect_languages_check(**_kwargs: Any) -> list[checks.CheckMessage]:
    """Warn about codes in TISKI_DETECT_LANGUAGES that language detection does not know (they are ignored)."""
    from django.conf import settings

    from tiski.routing.language import unknown_language_codes

    unknown = unknown_language_codes(list(settings.TISKI_DETECT_LANGUAGES))
    if not unknown:
        return []
    return [
        checks.Warning(
            f"TISKI_DETECT_LANGUAGES has codes no language model exists for: {', '.join(unknown)}.",
            hint="Use two-letter ISO 639-1 codes, e.g. fi,en,sv.",
            id="routing.W001",
        )
    ]


# ── the two reads of every contact, compiled once per connection (tiski.core.prepared) ────────────────────────


def _active_work_query(pk: int) -> QuerySet[Any]:
    return WorkItem.objects.filter(case_id=pk, status__in=WorkItem.ACTIVE).order_by().values_list("pk")[:1]


def _contact_query(pk: int) -> QuerySet[Any]:
    return Message.objects.filter(pk=pk).values_list(
        "channel_id",
        "subject",
        "body_text",
        "auto_submitted",
        "case__type",
        "case__category_id",
        "case__priority",
        "case__owner_id",
        "case__customer__language",
        "case__customer__tier",
    )


def _has_active_work(case_id: int) -> bool:
    return prepared_row("active work", _active_work_query, case_id) is not None
