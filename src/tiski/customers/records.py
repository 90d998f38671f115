"""External records (orders, invoices, contracts …) from other systems: bulk upserts and the reads for the 360° view.

A source system is the master of its records: an upsert replaces every field of the record it names by
(source, external_id), and a record whose fields all equal the stored ones is left untouched (its
``updated_at`` too), so sending the same data twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import Lower, RowNumber
from django.utils import timezone
from django.utils.translation import gettext as _

from tiski import events
from tiski.accounts.roles import CHANGE_RECORDS, VIEW_CUSTOMERS
from tiski.customers.exceptions import (
    IdentityInvalidError,
    RecordNotFoundError,
    RecordPermissionError,
    RecordSourceUnknownError,
)
from tiski.customers.models import Customer, ExternalRecord, Identity, Organization, SourceSystem
from tiski.customers.normalize import normalize_handle
from tiski.customers.selectors import CustomerPermissionError

MAX_EXTERNAL_ID = ExternalRecord._meta.get_field("external_id").max_length or 200
MAX_TITLE = ExternalRecord._meta.get_field("title").max_length or 300
MAX_STATUS = ExternalRecord._meta.get_field("status").max_length or 50
MAX_AMOUNT = Decimal(10) ** 12  # max_digits 14, decimal_places 2
WRITE_BATCH = 500
DEFAULT_LIMIT = 50
KINDS = frozenset(ExternalRecord.Kind.values)

# Phone numbers may still be stored under the kind they arrived on; a stored "phone" identity wins.
PHONE_LOOKUP_ORDER = (Identity.Kind.PHONE, Identity.Kind.SMS, Identity.Kind.WHATSAPP)

_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")
_NOT_SNAKE = re.compile(r"[^\w]+")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_TEMPLATE_FIELDS = ("external_id", "kind", "source")

# The fields an upsert writes; everything else of a record is bookkeeping.
DATA_FIELDS = (
    "kind",
    "customer_id",
    "organization_id",
    "title",
    "status",
    "date",
    "due_date",
    "renewal_date",
    "amount",
    "currency",
    "attributes",
)


@dataclass(frozen=True)
class RecordIn:
    """One record as a source system sends it; values may be text (from a file) or typed (from the API).

    The owner is named by exactly one way of naming a customer (customer_id, customer_email,
    customer_phone) and/or one way of naming an organisation (organization_id, organization_domain).
    ROW is the position reported with a rejection (a line number of a file); 0 means the position in the batch.
    """

    kind: str
    external_id: str
    customer_id: int | str | None = None
    customer_email: str = ""
    customer_phone: str = ""
    organization_id: int | str | None = None
    organization_domain: str = ""
    title: str = ""
    status: str = ""
    date: dt.date | str | None = None
    due_date: dt.date | str | None = None
    renewal_date: dt.date | str | None = None
    amount: Decimal | int | float | str | None = None
    currency: str = ""
    attributes: Any = None
    row: int = 0


@dataclass(frozen=True)
class Rejection:
    row: int
    external_id: str
    reason: str


@dataclass
class UpsertResult:
    """What an upsert did: counts of records created, updated and left unchanged, and the rows refused."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    superseded: int = 0  # rows replaced by a later row with the same external id in the same batch
    rejected: list[Rejection] = field(default_factory=list)

    def add(self, other: UpsertResult) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.superseded += other.superseded
        self.rejected.extend(other.rejected)


class _RowError(ValueError):
    """A row cannot be stored; the message is the reason reported for it."""


@dataclass
class _Clean:
    """A validated row, its owner still named the way the row named it."""

    row: int
    external_id: str
    values: dict[str, Any]
    customer_key: tuple[str, Any] | None
    organization_key: tuple[str, Any] | None


# --- validation of one row -------------------------------------------------------------------------------------


def _text(value: Any, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise _RowError(_("%(field)s must be text") % {"field": name})
        value = str(value)
    if "\x00" in value:
        raise _RowError(_("%(field)s contains a NUL character") % {"field": name})
    return value.strip()


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def _date(value: Any, name: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return timezone.localdate(value) if timezone.is_aware(value) else value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            if len(text) > 10 and text[10] in "T ":
                parsed = datetime.fromisoformat(text)
                return timezone.localdate(parsed) if timezone.is_aware(parsed) else parsed.date()
            if len(text) == 10:
                return date.fromisoformat(text)
        except ValueError:
            pass
    raise _RowError(_("%(field)s %(value)r is not a date (YYYY-MM-DD)") % {"field": name, "value": value})


def _amount(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _RowError(_("amount must be a number"))
    try:
        number = Decimal(value.strip()) if isinstance(value, str) else Decimal(str(value))
    except InvalidOperation:
        raise _RowError(_("amount %(value)r is not a number (write 1234.50)") % {"value": value}) from None
    if not number.is_finite():
        raise _RowError(_("amount %(value)r is not a number (write 1234.50)") % {"value": value})
    rounded = number.quantize(Decimal("0.01"))
    if rounded != number:
        raise _RowError(_("amount %(value)r has more than two decimals") % {"value": value})
    if abs(rounded) >= MAX_AMOUNT:
        raise _RowError(_("amount %(value)r is too large") % {"value": value})
    return rounded


def status_normalize(value: str) -> str:
    """Return a status the way records store it: lower-case snake ("In collection" → "in_collection")."""
    return _NOT_SNAKE.sub("_", value.strip().lower()).strip("_")


def _id(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        raise _RowError(_("%(field)s %(value)r is not an id") % {"field": name, "value": value})
    if not 1 <= number < 2**63:
        raise _RowError(_("%(field)s %(value)r is not an id") % {"field": name, "value": value})
    return number


class _Handles:
    """normalize_handle() remembered for one upsert: an import names the same customers again and again."""

    def __init__(self) -> None:
        self.known: dict[tuple[str, str], str | IdentityInvalidError] = {}

    def __call__(self, kind: str, value: str) -> str:
        key = (kind, value)
        if key not in self.known:
            try:
                self.known[key] = normalize_handle(kind, value)
            except IdentityInvalidError as exc:
                self.known[key] = exc
        found = self.known[key]
        if isinstance(found, IdentityInvalidError):
            raise found
        return found


def _owner_keys(record: RecordIn, handles: _Handles) -> tuple[tuple[str, Any] | None, tuple[str, Any] | None]:
    customer_keys: list[tuple[str, Any]] = []
    if (customer_id := _id(record.customer_id, "customer_id")) is not None:
        customer_keys.append(("id", customer_id))
    if email := _text(record.customer_email, "customer_email"):
        try:
            customer_keys.append(("email", handles(Identity.Kind.EMAIL, email)))
        except IdentityInvalidError as exc:
            raise _RowError(_("customer_email: %(error)s") % {"error": exc}) from None
    if phone := _text(record.customer_phone, "customer_phone"):
        try:
            customer_keys.append(("phone", handles(Identity.Kind.PHONE, phone)))
        except IdentityInvalidError as exc:
            raise _RowError(_("customer_phone: %(error)s") % {"error": exc}) from None
    organization_keys: list[tuple[str, Any]] = []
    if (organization_id := _id(record.organization_id, "organization_id")) is not None:
        organization_keys.append(("id", organization_id))
    if domain := _text(record.organization_domain, "organization_domain").lower().lstrip("@").rstrip("."):
        organization_keys.append(("domain", domain))
    if len(customer_keys) > 1:
        raise _RowError(_("name the customer one way only: customer_id, customer_email or customer_phone"))
    if len(organization_keys) > 1:
        raise _RowError(_("name the organisation one way only: organization_id or organization_domain"))
    if not customer_keys and not organization_keys:
        raise _RowError(
            _("no owner: give customer_id, customer_email or customer_phone, or organization_id or organization_domain")
        )
    return (customer_keys[0] if customer_keys else None, organization_keys[0] if organization_keys else None)


def _clean(record: RecordIn, row: int, handles: _Handles) -> _Clean:
    """Return the row validated and normalised; raise _RowError with the reason it cannot be stored."""
    kind = _text(record.kind, "kind").lower()
    if kind == "customer":
        raise _RowError(
            _("customers are not external records: create and update them through the customers API or console")
        )
    if kind not in KINDS:
        raise _RowError(
            _("unknown kind %(kind)r; use one of %(kinds)s")
            % {"kind": kind, "kinds": ", ".join(ExternalRecord.Kind.values)}
        )
    external_id = _text(record.external_id, "external_id")
    title = _text(record.title, "title")
    if len(title) > MAX_TITLE:
        raise _RowError(_("title is longer than %(max)d characters") % {"max": MAX_TITLE})
    status = status_normalize(_text(record.status, "status"))
    if len(status) > MAX_STATUS:
        raise _RowError(_("status is longer than %(max)d characters") % {"max": MAX_STATUS})
    currency = _text(record.currency, "currency").upper()
    if currency and not _CURRENCY.match(currency):
        raise _RowError(_("currency %(value)r is not a three-letter code such as EUR") % {"value": record.currency})
    attributes = {} if record.attributes is None else record.attributes
    if not isinstance(attributes, dict):
        raise _RowError(_("attributes must be a JSON object"))
    if _has_nul(attributes):
        raise _RowError(_("attributes contain a NUL character"))
    customer_key, organization_key = _owner_keys(record, handles)
    values = {
        "kind": kind,
        "title": title,
        "status": status,
        "date": _date(record.date, "date"),
        "due_date": _date(record.due_date, "due_date"),
        "renewal_date": _date(record.renewal_date, "renewal_date"),
        "amount": _amount(record.amount),
        "currency": currency,
        "attributes": attributes,
    }
    return _Clean(row, external_id, values, customer_key, organization_key)


def _external_id_problem(external_id: str) -> str | None:
    if not external_id:
        return _("external_id is missing")
    if len(external_id) > MAX_EXTERNAL_ID:
        return _("external_id is longer than %(max)d characters") % {"max": MAX_EXTERNAL_ID}
    return None


# --- owners ----------------------------------------------------------------------------------------------------


def _owners_resolve(rows: Sequence[_Clean]) -> tuple[dict[tuple[str, Any], Any], dict[tuple[str, Any], Any]]:
    """Return {customer key: customer id or a reason} and {organisation key: organisation id or a reason}."""
    customer_keys = [row.customer_key for row in rows if row.customer_key]
    customer_ids = {value for how, value in customer_keys if how == "id"}
    emails = {value for how, value in customer_keys if how == "email"}
    phones = {value for how, value in customer_keys if how == "phone"}
    customers: dict[tuple[str, Any], Any] = {}
    if customer_ids:
        for pk, erased_at in Customer.objects.filter(pk__in=customer_ids).values_list("pk", "erased_at"):
            customers[("id", pk)] = pk if erased_at is None else _("customer %(id)s has been erased") % {"id": pk}
        for pk in customer_ids - {key[1] for key in customers}:
            customers[("id", pk)] = _("no customer with id %(id)s") % {"id": pk}
    if emails or phones:
        found = Identity.objects.filter(
            Q(kind=Identity.Kind.EMAIL, value__in=emails) | Q(kind__in=PHONE_LOOKUP_ORDER, value__in=phones)
        ).values_list("kind", "value", "customer_id", "customer__erased_at")
        by_handle: dict[tuple[str, str], tuple[int, Any]] = {}
        for kind, value, customer_id, erased_at in found:
            key = ("email", value) if kind == Identity.Kind.EMAIL else ("phone", value)
            rank = 0 if kind == Identity.Kind.EMAIL else PHONE_LOOKUP_ORDER.index(kind)
            if key not in by_handle or rank < by_handle[key][0]:
                by_handle[key] = (rank, (customer_id, erased_at))
        for (how, value), (_rank, (customer_id, erased_at)) in by_handle.items():
            customers[(how, value)] = (
                customer_id if erased_at is None else _("customer %(id)s has been erased") % {"id": customer_id}
            )
        for value in emails:
            customers.setdefault(("email", value), _("no customer with the email address %(value)s") % {"value": value})
        for value in phones:
            customers.setdefault(("phone", value), _("no customer with the phone number %(value)s") % {"value": value})

    organization_keys = [row.organization_key for row in rows if row.organization_key]
    organization_ids = {value for how, value in organization_keys if how == "id"}
    domains = {value for how, value in organization_keys if how == "domain"}
    organizations: dict[tuple[str, Any], Any] = {}
    if organization_ids or domains:
        found_orgs = (
            Organization.objects.annotate(domain_key=Lower("domain"))
            .filter(Q(pk__in=organization_ids) | Q(domain_key__in=domains))
            .values_list("pk", "domain_key")
        )
        by_domain: dict[str, list[int]] = {}
        for pk, domain_key in found_orgs:
            if pk in organization_ids:
                organizations[("id", pk)] = pk
            if domain_key in domains:
                by_domain.setdefault(domain_key, []).append(pk)
        for pk in organization_ids:
            organizations.setdefault(("id", pk), _("no organisation with id %(id)s") % {"id": pk})
        for domain in domains:
            pks = by_domain.get(domain, [])
            if len(pks) == 1:
                organizations[("domain", domain)] = pks[0]
            elif pks:
                organizations[("domain", domain)] = _(
                    "%(count)d organisations have the domain %(domain)s; name one by organization_id"
                ) % {"count": len(pks), "domain": domain}
            else:
                organizations[("domain", domain)] = _("no organisation with the domain %(domain)s") % {"domain": domain}
    return customers, organizations


# --- the upsert ------------------------------------------------------------------------------------------------


def _require_change(actor: User | None) -> None:
    if actor is None:
        return
    if not (actor.is_active and actor.has_perm(CHANGE_RECORDS)):
        raise RecordPermissionError(_("You do not have permission to change external records."))


def source_check(*, source: str) -> SourceSystem:
    """Return the configured source system SOURCE; raise RecordSourceUnknownError when there is none."""
    if not source or not _SLUG.match(source):
        raise RecordSourceUnknownError(
            _("The source %(source)r is not a valid id (letters, digits, - and _).") % {"source": source}
        )
    system = SourceSystem.objects.filter(slug=source).first()
    if system is None:
        raise RecordSourceUnknownError(
            _("No source system %(source)r; an administrator adds it under Customers › Source systems.")
            % {"source": source}
        )
    return system


@transaction.atomic
def record_upsert_many(*, rows: Sequence[RecordIn], source: str, actor: User | None) -> UpsertResult:
    """Create or update the records ROWS of SOURCE by their external ids in one transaction; return the counts.

    Each row is validated on its own: a row that cannot be stored is rejected with the reason and the
    others are stored. Of rows with the same external id the last valid one wins. Owners are looked up,
    never created: an unknown customer or organisation rejects the row. The rows' existing records are
    locked while they are compared. ACTOR None is the system itself (the import command); a user needs
    the permission to change records. Raise RecordPermissionError, RecordSourceUnknownError.
    """
    _require_change(actor)
    source_check(source=source)
    result = UpsertResult()
    cleaned: list[_Clean] = []
    handles = _Handles()
    for position, record in enumerate(rows, start=1):
        row = record.row or position
        if not isinstance(record.external_id, str):
            result.rejected.append(Rejection(row, "", _("external_id must be text")))
            continue
        external_id = record.external_id.strip()
        if problem := _external_id_problem(external_id):
            result.rejected.append(Rejection(row, external_id[:MAX_EXTERNAL_ID], problem))
            continue
        try:
            cleaned.append(_clean(record, row, handles))
        except _RowError as exc:
            result.rejected.append(Rejection(row, external_id, str(exc)))
    customers, organizations = _owners_resolve(cleaned)
    latest: dict[str, _Clean] = {}
    for item in cleaned:
        customer_id = customers[item.customer_key] if item.customer_key else None
        organization_id = organizations[item.organization_key] if item.organization_key else None
        problem = next((found for found in (customer_id, organization_id) if isinstance(found, str)), None)
        if problem:
            result.rejected.append(Rejection(item.row, item.external_id, problem))
            continue
        item.values["customer_id"] = customer_id
        item.values["organization_id"] = organization_id
        if item.external_id in latest:
            result.superseded += 1
            del latest[item.external_id]  # keep the file's order for what follows
        latest[item.external_id] = item
    result.rejected.sort(key=lambda rejection: rejection.row)
    if not latest:
        return result

    stored = {
        external_id: values
        for external_id, *values in ExternalRecord.objects.select_for_update()
        .filter(source=source, external_id__in=list(latest))
        .values_list("external_id", *DATA_FIELDS)
    }
    now = timezone.now()
    writes: list[ExternalRecord] = []
    for external_id, item in latest.items():
        before = stored.get(external_id)
        if before is not None and before == [item.values[name] for name in DATA_FIELDS]:
            result.unchanged += 1
            continue
        if before is None:
            result.created += 1
        else:
            result.updated += 1
        writes.append(
            ExternalRecord(source=source, external_id=external_id, created_at=now, updated_at=now, **item.values)
        )
    watched = _signals_watch([w.customer_id for w in writes], [w.organization_id for w in writes])
    if writes:
        # One statement per batch for new and changed records alike: INSERT … ON CONFLICT (source, external_id)
        # DO UPDATE, keeping the stored created_at. It also settles a concurrent upsert that inserted one of the
        # new records first.
        ExternalRecord.objects.bulk_create(
            writes,
            batch_size=WRITE_BATCH,
            update_conflicts=True,
            unique_fields=["source", "external_id"],
            update_fields=[*DATA_FIELDS, "updated_at"],
        )
    _signals_publish(watched)
    return result


SIGNAL_WATCH_MAX = 5_000  # customers whose signals an upsert compares before and after (a bigger import: none)


def _signals_watch(customer_ids: Sequence[int | None], organization_ids: Sequence[int | None]) -> dict[int, set[int]]:
    """Return the signal rules each customer touched by an upsert has now (to tell what the upsert changed).

    An organisation's record counts for its members. Nothing when no signal rule exists or too many customers
    are touched (an import of everything: the signals show on the next read, no "changed" events are sent).
    """
    from tiski.customers.signal_rules import signal_rules_enabled, signals_for

    ids = {pk for pk in customer_ids if pk is not None}
    organizations = {pk for pk in organization_ids if pk is not None}
    if not (ids or organizations) or not signal_rules_enabled():
        return {}
    if organizations:
        ids |= set(
            Customer.objects.filter(organization_id__in=organizations).values_list("pk", flat=True)[:SIGNAL_WATCH_MAX]
        )
    if not ids or len(ids) > SIGNAL_WATCH_MAX:
        return {}
    return {pk: {signal.rule_id for signal in found} for pk, found in signals_for(customer_ids=ids).items()}


def _signals_publish(before: dict[int, set[int]]) -> None:
    """Publish CustomerSignalsChanged for each watched customer whose signals the upsert changed."""
    from tiski.customers.signal_rules import signals_for

    if not before:
        return
    after = signals_for(customer_ids=list(before))
    for customer_id, was in before.items():
        now = {signal.rule_id for signal in after.get(customer_id, [])}
        if now != was:
            events.publish(
                events.CustomerSignalsChanged(
                    customer_id=customer_id, gained=tuple(sorted(now - was)), lost=tuple(sorted(was - now))
                )
            )


@transaction.atomic
def record_delete(*, source: str, external_id: str, actor: User | None) -> None:
    """Delete the record SOURCE/EXTERNAL_ID; raise RecordNotFoundError, RecordPermissionError."""
    _require_change(actor)
    owner = ExternalRecord.objects.filter(source=source, external_id=external_id).values_list(
        "customer_id", "organization_id"
    )
    watched = _signals_watch(*zip(*owner, strict=True)) if owner.exists() else {}
    deleted, _by_model = ExternalRecord.objects.filter(source=source, external_id=external_id).delete()
    if not deleted:
        raise RecordNotFoundError(
            _("No record %(external_id)r from %(source)r.") % {"external_id": external_id, "source": source}
        )
    _signals_publish(watched)


# --- reads -----------------------------------------------------------------------------------------------------


def _require_view(user: User) -> None:
    if not (user.is_authenticated and user.is_active and user.has_perm(VIEW_CUSTOMERS)):
        raise CustomerPermissionError(_("You do not have permission to see customers."))


def link_render(*, template: str, record: ExternalRecord) -> str | None:
    """Return TEMPLATE with {external_id}, {kind} and {source} replaced by the record's URL-quoted values.

    Return None for an empty template or one that does not make an http(s) address.
    """
    if not template:
        return None
    url = template
    for name in _TEMPLATE_FIELDS:
        url = url.replace("{" + name + "}", quote(str(getattr(record, name)), safe=""))
    if not url.lower().startswith(("https://", "http://")):
        return None
    return url


def records_with_links(records: Iterable[ExternalRecord]) -> list[ExternalRecord]:
    """Return RECORDS as a list, each with ``link`` set to its address in its source system (or None).

    Load the source systems' templates in one query.
    """
    items = list(records)
    sources = {record.source for record in items}
    templates = (
        dict(SourceSystem.objects.filter(slug__in=sources).values_list("slug", "url_template")) if sources else {}
    )
    for record in items:
        record.link = link_render(template=templates.get(record.source, ""), record=record)  # type: ignore[attr-defined]
    return items


def record_link(record: ExternalRecord) -> str | None:
    """Return the address of RECORD in its source system, or None when the source has no link template."""
    if hasattr(record, "link"):
        return record.link  # type: ignore[no-any-return,unused-ignore]
    template = SourceSystem.objects.filter(slug=record.source).values_list("url_template", flat=True).first()
    return link_render(template=template or "", record=record)


def records_query(*, user: User, customer: Customer, kind: str | None = None) -> QuerySet[ExternalRecord]:
    """Return the records of CUSTOMER and of the customer's organisation, newest first."""
    _require_view(user)
    owned = Q(customer_id=customer.pk)
    if customer.organization_id is not None:
        owned |= Q(organization_id=customer.organization_id)
    records = ExternalRecord.objects.filter(owned)
    if kind:
        records = records.filter(kind=kind)
    return records.order_by(F("date").desc(nulls_last=True), "-pk")


def records_for(
    *, user: User, customer: Customer, kind: str | None = None, limit: int = DEFAULT_LIMIT
) -> list[ExternalRecord]:
    """Return up to LIMIT records of CUSTOMER and of their organisation, newest first, each with ``link``."""
    return records_with_links(records_query(user=user, customer=customer, kind=kind)[:limit])


def record_get(*, user: User, source: str, external_id: str) -> ExternalRecord:
    """Return the record SOURCE/EXTERNAL_ID with ``link``; raise RecordNotFoundError."""
    _require_view(user)
    record = (
        ExternalRecord.objects.select_related("customer", "organization")
        .filter(source=source, external_id=external_id)
        .first()
    )
    if record is None:
        raise RecordNotFoundError(
            _("No record %(external_id)r from %(source)r.") % {"external_id": external_id, "source": source}
        )
    return records_with_links([record])[0]


@dataclass(frozen=True)
class KindSummary:
    """A customer's records of one kind: how many, and the latest few (each with ``link``)."""

    kind: str
    label: str
    count: int
    latest: list[ExternalRecord]


def records_summary(*, customer: Customer, latest: int = 3, user: User | None = None) -> list[KindSummary]:
    """Return per kind (in the order of ExternalRecord.Kind) the count and the LATEST newest records.

    Count the customer's own records and their organisation's, in two queries whatever the number of
    kinds (plus one for the links). A USER given must be allowed to see customers.
    """
    if user is not None:
        _require_view(user)
    owned = Q(customer_id=customer.pk)
    if customer.organization_id is not None:
        owned |= Q(organization_id=customer.organization_id)
    records = ExternalRecord.objects.filter(owned)
    counts: dict[str, int] = dict(records.order_by().values("kind").annotate(n=Count("pk")).values_list("kind", "n"))
    if not counts:
        return []
    ranked = records.annotate(
        rank=Window(RowNumber(), partition_by=[F("kind")], order_by=[F("date").desc(nulls_last=True), F("pk").desc()])
    ).filter(rank__lte=latest)
    by_kind: dict[str, list[ExternalRecord]] = {}
    for record in records_with_links(ranked.order_by("kind", "rank")):
        by_kind.setdefault(record.kind, []).append(record)
    return [
        KindSummary(kind=kind, label=str(label), count=counts[kind], latest=by_kind.get(kind, []))
        for kind, label in ExternalRecord.Kind.choices
        if kind in counts
    ]
