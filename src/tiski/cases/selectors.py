"""Reads for cases, scoped to what the asking user may see."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import chain
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from tiski.accounts.roles import can_read_cases
from tiski.accounts.scope import case_scope
from tiski.cases.exceptions import CaseNotFoundError, CasePermissionError
from tiski.cases.models import Attachment, Case, CaseEvent, Message, Note
from tiski.cases.references import case_pk_from_reference


@dataclass(frozen=True)
class CaseFilters:
    """The inbox's filters; every field is optional. owner: "me", "unassigned", or a user id."""

    status: list[str] = field(default_factory=list)  # "open" alone means every not-solved status
    priority: list[int] = field(default_factory=list)
    channel: list[int] = field(default_factory=list)
    team: list[int] = field(default_factory=list)
    owner: str = ""
    customer: int | None = None
    q: str = ""
    updated_since: datetime | None = None
    sla: str = ""  # "due": with a running target, soonest due first; "soon": due within an hour; "late": missed


SLA_FILTERS = ("due", "soon", "late")


def _require_agent(user: User) -> None:
    if not can_read_cases(user):
        raise CasePermissionError("You do not have permission to see cases.")


def case_list(*, user: User, filters: CaseFilters | None = None) -> QuerySet[Case]:
    """Return the cases USER may see that match FILTERS, most recently updated first.

    The queryset is lazy and ordered on an index (updated_at, id): page it, never load it whole.
    """
    _require_agent(user)
    filters = filters or CaseFilters()
    cases = Case.objects.filter(case_scope(user)).select_related("customer", "owner", "team", "channel")
    statuses = set(filters.status)
    if "active" in statuses:  # shorthand for every status that still needs work
        statuses.discard("active")
        statuses |= set(Case.OPEN_STATUSES)
    if statuses:
        cases = cases.filter(status__in=statuses)
    if filters.priority:
        cases = cases.filter(priority__in=filters.priority)
    if filters.channel:
        cases = cases.filter(channel_id__in=filters.channel)
    if filters.team:
        cases = cases.filter(team_id__in=filters.team)
    if filters.owner == "me":
        cases = cases.filter(owner=user)
    elif filters.owner == "unassigned":
        cases = cases.filter(owner__isnull=True)
    elif filters.owner.isdigit():
        cases = cases.filter(owner_id=int(filters.owner))
    if filters.customer:
        cases = cases.filter(customer_id=filters.customer)
    if filters.updated_since:
        cases = cases.filter(updated_at__gte=filters.updated_since)
    if filters.q.strip():
        cases = cases.filter(_search_q(filters.q.strip()))
    if filters.sla in SLA_FILTERS:
        now = timezone.now()
        if filters.sla == "late":
            cases = cases.filter(sla_due_at__lte=now)
        elif filters.sla == "soon":
            cases = cases.filter(sla_due_at__gt=now, sla_due_at__lte=now + timedelta(hours=1))
        else:
            cases = cases.filter(sla_due_at__isnull=False)
        return cases.order_by("sla_due_at", "id")  # the index (sla_due_at, id)
    return cases.order_by("-updated_at", "-id")


_PHONE_LIKE = re.compile(r"^\+?[\d\s().-]{6,}$")


def _search_q(text: str) -> Q:
    """Match what TEXT is: a reference exactly; an email address or phone number exactly (the customer's
    identities, by index); anything else in the subject or the customer's name."""
    from tiski.customers.exceptions import IdentityInvalidError
    from tiski.customers.models import Identity
    from tiski.customers.normalize import PHONE_KINDS, normalize_phone

    pk = case_pk_from_reference(text)
    if pk is not None and (text.upper().startswith(settings.TISKI_CASE_PREFIX) or text.isdigit()):
        return Q(pk=pk)
    if "@" in text and " " not in text:
        owners = Identity.objects.filter(kind=Identity.Kind.EMAIL, value=text.lower()).values("customer_id")
        return Q(customer_id__in=owners)
    if _PHONE_LIKE.match(text):
        with contextlib.suppress(IdentityInvalidError):
            number = normalize_phone(text)
            owners = Identity.objects.filter(kind__in=PHONE_KINDS, value=number).values("customer_id")
            return Q(customer_id__in=owners)
    return Q(subject__icontains=text) | Q(customer__name__icontains=text)


def case_get_for_agent(*, user: User, reference: str | int) -> Case:
    """Return the case with REFERENCE ("TSK-1042") or primary key; raise CaseNotFoundError."""
    _require_agent(user)
    pk = reference if isinstance(reference, int) else case_pk_from_reference(reference)
    case = (
        Case.objects.filter(case_scope(user))
        .select_related("customer", "owner", "team", "channel", "category", "parent")
        .filter(pk=pk)
        .first()
        if pk
        else None
    )
    if case is None:
        raise CaseNotFoundError(f"No case {reference}.")
    return case


@dataclass(frozen=True)
class TimelineEntry:
    """One row of a case's timeline: a message, an internal note or an event, by time."""

    kind: str  # "message" | "note" | "event"
    at: datetime
    item: Any


def case_timeline(*, case: Case) -> list[TimelineEntry]:
    """Return CASE's messages (all channels), internal notes and events, oldest first."""
    messages = (
        Message.objects.filter(case=case)
        .select_related("channel", "author_user", "identity", "delivery")
        .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("id")))
        .defer("raw")
    )
    notes = Note.objects.filter(case=case).select_related("author")
    shown_events = CaseEvent.objects.filter(case=case).exclude(
        kind__in=[CaseEvent.Kind.MESSAGE_RECEIVED, CaseEvent.Kind.NOTE_ADDED, CaseEvent.Kind.REPLY_QUEUED]
    )
    entries = chain(
        (TimelineEntry("message", m.created_at, m) for m in messages),
        (TimelineEntry("note", n.created_at, n) for n in notes),
        (TimelineEntry("event", e.created_at, e) for e in shown_events.select_related("actor")),
    )
    return sorted(entries, key=lambda entry: (entry.at, entry.kind != "message"))


def customer_other_cases(*, case: Case, limit: int = 10, user: User | None = None) -> QuerySet[Case]:
    """Return the customer's other cases (those USER may see, when given), newest first."""
    return (
        Case.objects.filter(case_scope(user) if user is not None else Q(), customer_id=case.customer_id)
        .exclude(pk=case.pk)
        .select_related("channel")
        .order_by("-created_at")[:limit]
    )


def attachment_get_for_agent(*, user: User, attachment_id: int) -> Attachment:
    """Return an attachment for download by an agent; raise CaseNotFoundError when there is none."""
    _require_agent(user)
    visible = Case.objects.filter(case_scope(user)).values("pk")
    attachment = (
        Attachment.objects.select_related("message__case")
        .filter(pk=attachment_id, message__case_id__in=visible)
        .first()
    )
    if attachment is None:
        raise CaseNotFoundError("No such attachment.")
    return attachment
