"""Reads for customers: lists, one customer, their cases, suggestions and the merged 360° timeline."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import CharField, Exists, F, OuterRef, Prefetch, Q, QuerySet, Value, prefetch_related_objects
from django.utils import timezone

from tiski.accounts.roles import VIEW_CUSTOMERS, can_read_cases
from tiski.accounts.scope import can_see_full_customer, case_scope, customer_scope
from tiski.cases.models import Attachment, Case, CaseEvent, Message, Note
from tiski.channels.models import ChannelKind
from tiski.customers.exceptions import TimelineCursorInvalidError, TimelineFilterInvalidError
from tiski.customers.models import Customer, CustomerEvent, ExternalRecord, Identity, MatchSuggestion, Organization


class CustomerNotFoundError(LookupError):
    pass


class CustomerPermissionError(PermissionError):
    pass


def _require(user: User) -> None:
    if not (user.is_authenticated and user.is_active and user.has_perm(VIEW_CUSTOMERS)):
        raise CustomerPermissionError("You do not have permission to see customers.")


def customer_list(*, user: User, q: str = "") -> QuerySet[Customer]:
    """Return the customers matching Q (name, or an identity such as an email address), by name."""
    _require(user)
    customers = Customer.objects.filter(customer_scope(user))
    customers = customers.select_related("organization").prefetch_related("identities")
    if q.strip():
        text = q.strip()
        customers = customers.filter(Q(name__icontains=text) | Q(identities__value__iexact=text.lower())).distinct()
    return customers.order_by("name", "pk")


def customer_get(*, user: User, customer_id: int) -> Customer:
    """Return one customer with identities; raise CustomerNotFoundError."""
    _require(user)
    customer = (
        Customer.objects.filter(customer_scope(user))
        .select_related("organization")
        .prefetch_related("identities")
        .filter(pk=customer_id)
        .first()
    )
    if customer is None:
        raise CustomerNotFoundError(f"No customer {customer_id}.")
    return customer


def customer_search(*, user: User, q: str, exclude_id: int | None = None, limit: int = 8) -> list[Customer]:
    """Return up to LIMIT customers for a picker: an exact handle first, then names containing Q.

    Erased customers are left out: nothing can be merged into or from them.
    """
    _require(user)
    text = q.strip()
    if len(text) < 2:
        return []
    customers = customer_list(user=user, q=text).filter(erased_at__isnull=True)
    if exclude_id is not None:
        customers = customers.exclude(pk=exclude_id)
    return list(customers[:limit])


def organization_get(*, user: User, organization_id: int) -> Organization:
    """Return one organisation; raise CustomerNotFoundError."""
    _require(user)
    if not can_see_full_customer(user):  # a partner agent sees no organisations
        raise CustomerNotFoundError(f"No organisation {organization_id}.")
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        raise CustomerNotFoundError(f"No organisation {organization_id}.")
    return organization


def organization_customers(*, user: User, organization: Organization, limit: int = 200) -> list[Customer]:
    """Return the organisation's customers (at most LIMIT) by name, with their identities."""
    _require(user)
    return list(
        Customer.objects.filter(organization=organization).prefetch_related("identities").order_by("name", "pk")[:limit]
    )


def suggestions_open(*, user: User, customer: Customer, limit: int = 3) -> list[MatchSuggestion]:
    """Return CUSTOMER's open match suggestions, best first, with each candidate and its organisation."""
    _require(user)
    if not customer.provisional or not can_see_full_customer(user):
        return []
    return list(
        MatchSuggestion.objects.filter(customer=customer, status=MatchSuggestion.Status.OPEN)
        .select_related("candidate", "candidate__organization")
        .order_by("-score", "pk")[:limit]
    )


def suggestion_get(*, user: User, suggestion_id: int) -> MatchSuggestion:
    """Return one match suggestion with both customers; raise CustomerNotFoundError."""
    _require(user)
    suggestion = MatchSuggestion.objects.select_related("customer", "candidate").filter(pk=suggestion_id).first()
    if suggestion is None:
        raise CustomerNotFoundError(f"No suggestion {suggestion_id}.")
    return suggestion


@dataclass(frozen=True)
class CustomerCases:
    """The customer's open cases (newest activity first) and their latest closed or solved ones."""

    open: list[Case]
    recent: list[Case]


def customer_cases(
    *, user: User, customer: Customer, open_limit: int = 20, recent_limit: int = 8, exclude_id: int | None = None
) -> CustomerCases:
    """Return CUSTOMER's open cases and the most recent others (EXCLUDE_ID left out), two indexed queries."""
    _require(user)
    if not can_read_cases(user):
        return CustomerCases(open=[], recent=[])
    cases = Case.objects.filter(case_scope(user), customer=customer).select_related("channel", "owner")
    if exclude_id is not None:
        cases = cases.exclude(pk=exclude_id)
    open_cases = cases.filter(status__in=Case.OPEN_STATUSES).order_by("-updated_at", "-id")[:open_limit]
    recent = cases.exclude(status__in=Case.OPEN_STATUSES).order_by("-created_at", "-id")[:recent_limit]
    return CustomerCases(open=list(open_cases), recent=list(recent))


def customer_open_cases(*, user: User, customer: Customer, limit: int = 20) -> list[Case]:
    """Return CUSTOMER's cases that still need work, most recently updated first."""
    return customer_cases(user=user, customer=customer, open_limit=limit, recent_limit=0).open


def customer_recent_cases(*, user: User, customer: Customer, limit: int = 8) -> list[Case]:
    """Return CUSTOMER's latest solved or closed cases, newest first."""
    return customer_cases(user=user, customer=customer, open_limit=0, recent_limit=limit).recent


# The 360° timeline ---------------------------------------------------------------------------------------------

TIMELINE_KINDS = ("messages", "notes", "events")
# Case events the timeline leaves out because the message or note they announce is on it already.
_DUPLICATE_EVENTS = (
    CaseEvent.Kind.MESSAGE_RECEIVED,
    CaseEvent.Kind.NOTE_ADDED,
    CaseEvent.Kind.REPLY_QUEUED,
    CaseEvent.Kind.REPLY_SENT,
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class TimelineCursor:
    """A position in a customer's timeline: entries strictly older than (at, kind, id) come next."""

    at: datetime
    kind: str
    id: int

    def encode(self) -> str:
        """Return the cursor as a short, URL-safe text: microseconds since 1970, kind, id."""
        micros = (self.at - _EPOCH) // _MICROSECOND
        return f"{micros}.{self.kind}.{self.id}"

    @classmethod
    def decode(cls, text: str) -> TimelineCursor:
        """Return the cursor TEXT encodes; raise TimelineCursorInvalidError."""
        parts = text.split(".")
        if len(parts) != 3 or parts[1] not in _SOURCE_KINDS or not parts[0].isdigit() or not parts[2].isdigit():
            raise TimelineCursorInvalidError(f"{text[:80]!r} is not a timeline position.")
        try:
            at = _EPOCH + int(parts[0]) * _MICROSECOND
        except OverflowError:
            raise TimelineCursorInvalidError(f"{text[:80]!r} is not a timeline position.") from None
        return cls(at=at, kind=parts[1], id=int(parts[2]))


_MICROSECOND = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - _EPOCH
# Entry kinds as the cursor and the tie-break order know them; ties at one instant go by kind, then id.
_SOURCE_KINDS = ("customer_event", "event", "message", "note")
_Key = tuple[datetime, str, int]  # (created_at, kind, id): the timeline's order, newest first


@dataclass(frozen=True)
class CustomerTimelineEntry:
    """One row of a customer's timeline: kind "message", "note", "event" (a case's) or "customer_event"."""

    kind: str
    at: datetime
    item: Any

    @property
    def cursor(self) -> TimelineCursor:
        return TimelineCursor(at=self.at, kind=self.kind, id=int(self.item.pk))

    @property
    def case(self) -> Case | None:
        return getattr(self.item, "case", None) if self.kind != "customer_event" else None


@dataclass(frozen=True)
class CustomerTimelinePage:
    entries: list[CustomerTimelineEntry]
    next_cursor: str | None  # pass as BEFORE for the older entries; None when these are the oldest


def _older_than(cursor: TimelineCursor | None, kind: str) -> Q:
    """Return the filter that keeps the rows of source KIND that sort after CURSOR (newest first)."""
    if cursor is None:
        return Q()
    if kind < cursor.kind:
        return Q(created_at__lte=cursor.at)
    if kind == cursor.kind:
        return Q(created_at__lt=cursor.at) | Q(created_at=cursor.at, pk__lt=cursor.id)
    return Q(created_at__lt=cursor.at)


# How far back the narrow reads look first: a busy customer's page is found within the first window, so
# each (case, created_at) index is read over a short range instead of over the whole history; for a quiet
# customer the reads step further back until enough entries are found or the history ends.
_WINDOWS = (timedelta(days=30), timedelta(days=365), None)


def _newest_keys(sources: dict[str, QuerySet[Any]], cursor: TimelineCursor | None, limit: int) -> list[_Key]:
    """Return the (created_at, kind, id) of at least LIMIT newest rows of SOURCES after CURSOR (all when fewer).

    Each step reads each source once, narrowly, over one time range (LIMIT rows at most); when the step
    found LIMIT rows in all, every row of an older range is older than these and the reading stops.
    """
    keys: list[_Key] = []
    upper = None
    start = cursor.at if cursor is not None else timezone.now()
    for window in _WINDOWS:
        lower = start - window if window is not None else None
        reads = []
        for kind, rows in sources.items():
            rows = rows.filter(_older_than(cursor, kind))
            if upper is not None:
                rows = rows.filter(created_at__lt=upper)
            if lower is not None:
                rows = rows.filter(created_at__gte=lower)
            ordered = rows.order_by("-created_at", "-pk")
            reads.append(ordered.values_list("created_at", Value(kind, output_field=CharField()), "pk")[:limit])
        if len(reads) > 1 and connection.features.supports_slicing_ordering_in_compound:
            keys += list(reads[0].union(*reads[1:], all=True))  # one round trip (PostgreSQL)
        else:
            keys += [key for read in reads for key in read]
        if len(keys) >= limit:
            break
        upper = lower
    return keys


def customer_timeline(
    *,
    user: User,
    customer: Customer,
    before: TimelineCursor | str | None = None,
    kinds: Collection[str] | None = None,
    channel: str | None = None,
    limit: int = 50,
    exclude_case_id: int | None = None,
) -> CustomerTimelinePage:
    """Return LIMIT entries of CUSTOMER's history, newest first, older than BEFORE.

    The entries merge the messages of all the customer's cases (every channel, both directions), their
    internal notes, their case events (those that do not merely announce a message or note) and the
    customer's own events (links, merges, splits …). KINDS narrows to "messages", "notes", "events";
    CHANNEL (a channel kind) shows only messages on that channel. Each source is first read narrowly —
    only (created_at, id), LIMIT + 1 rows, over a recent time range of its (case, created_at) or
    (customer, created_at) index, keyset-paged by (created_at, kind, id) — and only the LIMIT entries
    shown are then loaded whole, so a page costs about the same for the first and the ten-thousandth
    entry. Users without the agent
    permission see the customer's own events only. Raise TimelineFilterInvalidError for an unknown kind or
    channel, TimelineCursorInvalidError for a bad BEFORE.
    """
    _require(user)
    wanted = set(kinds or TIMELINE_KINDS)
    if unknown := wanted - set(TIMELINE_KINDS):
        raise TimelineFilterInvalidError(f"Unknown timeline entry kind {sorted(unknown)[0]!r}.")
    if channel:
        if channel not in ChannelKind.values:
            raise TimelineFilterInvalidError(f"Unknown channel kind {channel!r}.")
        wanted &= {"messages"}
    cursor = TimelineCursor.decode(before) if isinstance(before, str) else before
    limit = max(1, min(limit, 200))
    sources: dict[str, QuerySet[Any]] = {}
    if can_read_cases(user):
        cases = Case.objects.filter(case_scope(user), customer_id=customer.pk)
        if exclude_case_id is not None:
            cases = cases.exclude(pk=exclude_case_id)
        of_customer = Q(case_id__in=cases.values("pk"))
        if "messages" in wanted:
            messages = Message.objects.filter(of_customer)
            sources["message"] = messages.filter(channel__kind=channel) if channel else messages
        if "notes" in wanted:
            sources["note"] = Note.objects.filter(of_customer)
        if "events" in wanted:
            sources["event"] = CaseEvent.objects.filter(of_customer).exclude(kind__in=_DUPLICATE_EVENTS)
    if "events" in wanted and can_see_full_customer(user):
        sources["customer_event"] = CustomerEvent.objects.filter(customer=customer)
    keys = _newest_keys(sources, cursor, limit + 1)
    keys.sort(reverse=True)
    shown = keys[:limit]
    items = _timeline_items(shown)
    entries = [CustomerTimelineEntry(kind=kind, at=at, item=items[kind, pk]) for at, kind, pk in shown]
    has_more = len(keys) > limit
    return CustomerTimelinePage(
        entries=entries, next_cursor=entries[-1].cursor.encode() if has_more and entries else None
    )


def _timeline_items(keys: list[_Key]) -> dict[tuple[str, int], Any]:
    """Load the rows KEYS name, whole and with what the timeline shows of them: one query per kind present."""
    wanted: dict[str, list[int]] = {}
    for _at, kind, pk in keys:
        wanted.setdefault(kind, []).append(pk)
    loaders: dict[str, QuerySet[Any]] = {
        "message": Message.objects.select_related("channel", "identity")
        .annotate(has_files=Exists(Attachment.objects.filter(message=OuterRef("pk"))))
        .defer("raw", "body_html", "full_text"),
        "note": Note.objects.select_related("author"),
        "event": CaseEvent.objects.select_related("actor"),
        "customer_event": CustomerEvent.objects.select_related("actor"),
    }
    items: dict[tuple[str, int], Any] = {}
    for kind, pks in wanted.items():
        for row in loaders[kind].filter(pk__in=pks):
            items[kind, row.pk] = row
    # Attachments only for the messages that have some: most have none, and then no query is made.
    with_files = [row for (kind, _pk), row in items.items() if kind == "message" and row.has_files]
    prefetch_related_objects(with_files, Prefetch("attachments", queryset=Attachment.objects.order_by("id")))
    # The few cases the entries belong to in one query by key (a join would hash the whole case table).
    case_ids = {row.case_id for (kind, _pk), row in items.items() if kind != "customer_event"}
    if case_ids:
        cases = Case.objects.in_bulk(case_ids)
        for (kind, _pk), row in items.items():
            if kind != "customer_event":
                row.case = cases[row.case_id]
    return items


def identity_get(*, user: User, identity_id: int) -> Identity:
    """Return one identity with its customer; raise CustomerNotFoundError."""
    _require(user)
    identity = (
        Identity.objects.select_related("customer")
        .filter(pk=identity_id, customer_id__in=Customer.objects.filter(customer_scope(user)).values("pk"))
        .first()
    )
    if identity is None:
        raise CustomerNotFoundError(f"No identity {identity_id}.")
    return identity


def organization_records(*, user: User, organization: Organization, limit: int = 50) -> list[ExternalRecord]:
    """Return the organisation's own records (not its customers'), newest first, at most LIMIT."""
    _require(user)
    records = ExternalRecord.objects.filter(organization=organization)
    return list(records.order_by(F("date").desc(nulls_last=True), "-pk")[:limit])


def customer_case_count(*, user: User, customer: Customer) -> int:
    """Return how many cases CUSTOMER has (for the merge confirmation)."""
    _require(user)
    return Case.objects.filter(case_scope(user), customer=customer).count()
