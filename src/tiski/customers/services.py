"""Writes for customers and their identities: identify, create, update by master-data rules, merge, split.

Every customer field remembers where its value came from (``Customer.field_sources``: "agent",
"channel:<kind>", "import:<system>", "api:<system>"); ``FieldPrecedence`` says which source may overwrite
which. Every change is recorded as a ``CustomerEvent`` with its actor: the customer's audit trail.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, models, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from tiski.accounts.roles import CHANGE_CUSTOMERS, MERGE_CUSTOMERS
from tiski.audit.services import audit_customer_label, audit_record
from tiski.customers.exceptions import (
    CustomerMergeError,
    IdentityInvalidError,
    IdentitySplitError,
    IdentityTakenError,
    SuggestionDecidedError,
)
from tiski.customers.lookup import identity_find
from tiski.customers.marketing import marketing_refresh
from tiski.customers.matching import match_keys_create, match_keys_refresh
from tiski.customers.models import (
    Customer,
    CustomerEvent,
    ExternalRecord,
    FieldPrecedence,
    Identity,
    MatchSuggestion,
    Organization,
)
from tiski.customers.normalize import fold_name, identity_key
from tiski.customers.selectors import CustomerPermissionError

logger = logging.getLogger(__name__)

AGENT_SOURCE = "agent"
MERGE_FIELDS = ("name", "language", "tier", "organization", "address", "interests", "notes")
_TEXT_LIMITS = {"name": 200, "language": 8}


@dataclass(frozen=True)
class Handle:
    """A handle as it arrived: the kind of identity and the raw value."""

    kind: str
    value: str


@dataclass(frozen=True)
class Identification:
    customer: Customer
    created: bool
    identity: Identity | None = None  # the first handle's identity, when it belongs to this customer


def _require(actor: User | None, perm: str, doing: str) -> None:
    if actor is None or not (actor.is_active and actor.has_perm(perm)):
        raise CustomerPermissionError(f"You do not have permission to {doing}.")


def _event(*, customer: Customer, kind: str, actor: User | None, **data: Any) -> CustomerEvent:
    return CustomerEvent.objects.create(customer=customer, kind=kind, actor=actor, data=data)


def _keys(handles: Sequence[Handle]) -> list[tuple[str, str]]:
    """Return the handles as stored (kind, value), without repeats; raise IdentityInvalidError for a bad one."""
    return list(dict.fromkeys(identity_key(handle.kind, handle.value) for handle in handles))


# --- Identify ---------------------------------------------------------------------------------------------


def customer_identify(
    *, handles: Sequence[Handle], name: str = "", language: str = "", source: str = ""
) -> Identification:
    """Return the customer owning the sender's own handle (the first), else a new customer with the handles.

    Only the handle the contact came from identifies: the others a sender gives (a phone number typed into
    a form) are unverified, so they are attached only to a customer created now, and only when nobody owns
    them. Attaching them to an existing customer would let anyone add their own address to someone else's
    record and receive that customer's replies; linking handles to a known customer is an agent's decision.

    A customer created here is provisional (an agent confirms it by linking it to a known customer or
    leaving it); its name and language are recorded as coming from SOURCE ("channel:<kind>"; by default
    the first handle's kind). Phone, SMS and WhatsApp numbers are one identity.

    Raise IdentityInvalidError for a malformed handle, and IntegrityError when a concurrent transaction took
    one of the handles first: run it again in a new transaction (the inbound pipeline does).
    """
    if not handles:
        raise ValueError("identifying a customer needs at least one handle")
    normalized = _keys(handles)
    own_kind, own_value = normalized[0]
    identity = identity_find(kind=own_kind, value=own_value)  # one query on the unique (kind, value) index
    name = name.strip()[:200]
    source = source or f"channel:{handles[0].kind}"
    if identity is not None:
        customer = identity.customer
        if not customer.name and name and customer.erased_at is None:
            _name_fill(customer=customer, name=name, source=source)
        return Identification(customer=customer, created=False, identity=identity)
    taken = set()
    if len(normalized) > 1:
        others = normalized[1:]
        taken = set(
            Identity.objects.filter(
                kind__in={kind for kind, _ in others}, value__in={value for _, value in others}
            ).values_list("kind", "value")
        )
    sources = {"name": source} if name else {}
    if language:
        sources["language"] = source
    customer = Customer.objects.create(
        name=name, name_key=fold_name(name), language=language[:8], provisional=True, field_sources=sources
    )
    created: list[Identity] = []
    for kind, value in normalized:
        if (kind, value) not in taken:
            created.append(Identity.objects.create(customer=customer, kind=kind, value=value))
    match_keys_create(customer=customer, emails=[i.value for i in created if i.kind == Identity.Kind.EMAIL])
    _event(
        customer=customer,
        kind=CustomerEvent.Kind.CREATED,
        actor=None,
        source=source,
        identities=[{"kind": i.kind, "value": i.value} for i in created],
    )
    return Identification(customer=customer, created=True, identity=created[0])


def _name_fill(*, customer: Customer, name: str, source: str) -> None:
    """Give a nameless known customer the NAME a contact signed with."""
    customer.name = name
    customer.name_key = fold_name(name)
    customer.field_sources = {**customer.field_sources, "name": source}
    customer.save(update_fields=["name", "name_key", "field_sources", "updated_at"])
    match_keys_refresh(customer=customer)
    _event(
        customer=customer, kind=CustomerEvent.Kind.UPDATED, actor=None, field="name", old="", new=name, source=source
    )


# --- Master-data precedence -------------------------------------------------------------------------------


def precedence_table() -> dict[str, list[str]]:
    """Return the master-data rules: field ("*" for the others) → sources, highest first."""
    return {rule.field: rule.source_list() for rule in FieldPrecedence.objects.all()}


def source_rank(*, field: str, source: str | None, table: Mapping[str, Sequence[str]] | None = None) -> int:
    """Return SOURCE's rank for FIELD: 0 is the highest. Unlisted sources rank below every listed one, and no
    source (unknown) below those."""
    rules = precedence_table() if table is None else table
    lines = rules.get(field, rules.get("*", []))
    if not source:
        return len(lines) + 1
    for rank, line in enumerate(lines):
        if line == source or (line.endswith("*") and source.startswith(line[:-1])):
            return rank
    return len(lines)


def source_may_overwrite(
    *, field: str, new_source: str, current_source: str | None, table: Mapping[str, Sequence[str]] | None = None
) -> bool:
    """Return whether NEW_SOURCE may overwrite FIELD's value set by CURRENT_SOURCE.

    A source may overwrite a value set by itself or a lower-ranked source, by FieldPrecedence's row for
    FIELD, else its row for "*" ("import:*" matches every import). A value without a recorded source may be
    written by anyone; with no rules at all, every source may overwrite every other.
    """
    if not current_source:
        return True
    rules = precedence_table() if table is None else table
    if field not in rules and "*" not in rules:
        return True
    return source_rank(field=field, source=new_source, table=rules) <= source_rank(
        field=field, source=current_source, table=rules
    )


@dataclass
class CustomerChange:
    """What customer_change() did: the fields written (old, new) and those the master-data rules kept."""

    customer: Customer
    changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # field → the source whose value was kept


_UNSET: Any = object()


def _field_value(customer: Customer, name: str) -> Any:
    return customer.organization_id if name == "organization" else getattr(customer, name)


def _audit_value(value: Any) -> Any:
    return value.pk if isinstance(value, models.Model) else value


@transaction.atomic
def customer_change(
    *,
    customer: Customer,
    fields: Mapping[str, Any],
    add_identities: Sequence[Handle] = (),
    remove_identities: Sequence[Handle] = (),
    source: str = AGENT_SOURCE,
    actor: User | None = None,
) -> CustomerChange:
    """Write FIELDS (name, language, tier, notes, address, interests, organization) as SOURCE allows; then
    remove and add identities. Return what changed and which fields the master-data rules kept.

    A field is written when it is empty or SOURCE may overwrite the source of its value
    (source_may_overwrite); each change is an UPDATED event with field, old, new and source. With ACTOR,
    the actor needs the permission to change customers.
    Raise IdentityInvalidError for a malformed handle or for removing a handle the customer does not have,
    IdentityTakenError when another customer owns a handle to add, ValueError for an unknown field or tier.
    """
    if actor is not None:
        _require(actor, CHANGE_CUSTOMERS, "change customers")
    unknown = set(fields) - set(MERGE_FIELDS)
    if unknown:
        raise ValueError(f"unknown customer field(s): {', '.join(sorted(unknown))}")
    if "tier" in fields and fields["tier"] not in Customer.Tier.values:
        raise ValueError(f"unknown tier {fields['tier']!r}")
    organization = fields.get("organization")
    if organization is not None and not isinstance(organization, Organization):
        raise ValueError("organization must be an Organization or None")
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    result = CustomerChange(customer=customer)
    table = precedence_table()
    sources = dict(customer.field_sources)
    for name, raw in fields.items():
        new = raw if name in ("organization", "tier") else str(raw).strip()
        if name in _TEXT_LIMITS:
            new = new[: _TEXT_LIMITS[name]]
        old = _field_value(customer, name)
        new_compare = new.pk if isinstance(new, Organization) else new
        if new_compare == old:
            continue
        current = sources.get(name)
        if old not in ("", None) and not source_may_overwrite(
            field=name, new_source=source, current_source=current, table=table
        ):
            result.skipped[name] = str(current)
            continue
        setattr(customer, name, new)
        if new_compare in ("", None):
            sources.pop(name, None)
        else:
            sources[name] = source
        result.changed[name] = (old, new_compare)
    if "name" in result.changed:
        customer.name_key = fold_name(customer.name)
    customer.field_sources = sources
    removed = _keys(remove_identities)
    for kind, value in removed:
        deleted, _by_model = Identity.objects.filter(customer=customer, kind=kind, value=value).delete()
        if not deleted:
            raise IdentityInvalidError(f"{customer} has no {kind} identity {value}.")
        _event(
            customer=customer, kind=CustomerEvent.Kind.IDENTITY_REMOVED, actor=actor, identity_kind=kind, value=value
        )
    added = _identities_attach(customer=customer, pairs=_keys(add_identities))
    for identity in added:
        _event(
            customer=customer,
            kind=CustomerEvent.Kind.IDENTITY_ADDED,
            actor=actor,
            identity_kind=identity.kind,
            value=identity.value,
            source=source,
        )
    update_fields = [*result.changed, "field_sources", "updated_at"]
    if "name" in result.changed:
        update_fields.append("name_key")
    customer.save(update_fields=update_fields)
    for name, (old, new) in result.changed.items():
        _event(
            customer=customer, kind=CustomerEvent.Kind.UPDATED, actor=actor, field=name, old=old, new=new, source=source
        )
    emails_changed = any(kind == Identity.Kind.EMAIL for kind, _ in removed) or any(
        identity.kind == Identity.Kind.EMAIL for identity in added
    )
    if "name" in result.changed or emails_changed:
        match_keys_refresh(customer=customer)
    return result


def _identities_attach(*, customer: Customer, pairs: Sequence[tuple[str, str]]) -> list[Identity]:
    """Attach PAIRS to CUSTOMER and return the identities added; raise IdentityTakenError when another
    customer owns one of them."""
    added = []
    for kind, value in pairs:
        owner = Identity.objects.filter(kind=kind, value=value).values_list("customer_id", flat=True).first()
        if owner == customer.pk:
            continue
        if owner is None:
            try:
                with transaction.atomic():
                    added.append(Identity.objects.create(customer=customer, kind=kind, value=value))
                continue
            except IntegrityError:  # a concurrent contact attached it first
                owner = Identity.objects.filter(kind=kind, value=value).values_list("customer_id", flat=True).first()
        raise IdentityTakenError(
            f"The {kind} identity {value} belongs to customer {owner} already.", customer_id=owner or 0
        )
    return added


@transaction.atomic
def customer_create(
    *,
    name: str,
    language: str = "",
    tier: str = Customer.Tier.STANDARD,
    notes: str = "",
    identities: Sequence[Handle] = (),
    source: str = AGENT_SOURCE,
    actor: User | None = None,
) -> Customer:
    """Create a confirmed customer with the given identities and return it; its fields come from SOURCE.

    Raise IdentityInvalidError for a malformed handle, IdentityTakenError when another customer owns one.
    """
    if tier not in Customer.Tier.values:
        raise ValueError(f"unknown tier {tier!r}")
    pairs = _keys(identities)
    name = name.strip()[:200]
    values = {"name": name, "language": language[:8], "notes": notes}
    sources = {field_name: source for field_name, value in values.items() if value}
    if tier != Customer.Tier.STANDARD:
        sources["tier"] = source
    customer = Customer.objects.create(
        name=name, name_key=fold_name(name), language=language[:8], tier=tier, notes=notes, field_sources=sources
    )
    added = _identities_attach(customer=customer, pairs=pairs)
    match_keys_create(customer=customer, emails=[i.value for i in added if i.kind == Identity.Kind.EMAIL])
    _event(
        customer=customer,
        kind=CustomerEvent.Kind.CREATED,
        actor=actor,
        source=source,
        identities=[{"kind": i.kind, "value": i.value} for i in added],
    )
    return customer


def customer_update(
    *,
    customer: Customer,
    name: str = _UNSET,
    language: str = _UNSET,
    tier: str = _UNSET,
    notes: str = _UNSET,
    address: str = _UNSET,
    interests: str = _UNSET,
    organization: Organization | None = _UNSET,
    add_identities: Sequence[Handle] = (),
    remove_identities: Sequence[Handle] = (),
    source: str = AGENT_SOURCE,
    actor: User | None = None,
) -> Customer:
    """Change the given fields of CUSTOMER as SOURCE may (master-data rules), then remove and add
    identities; return the customer. customer_change() does the same and also says which fields were kept.

    Raise IdentityInvalidError for a malformed handle or for removing a handle the customer does not have,
    IdentityTakenError when another customer owns a handle to add.
    """
    given = {
        "name": name,
        "language": language,
        "tier": tier,
        "notes": notes,
        "address": address,
        "interests": interests,
        "organization": organization,
    }
    return customer_change(
        customer=customer,
        fields={key: value for key, value in given.items() if value is not _UNSET},
        add_identities=add_identities,
        remove_identities=remove_identities,
        source=source,
        actor=actor,
    ).customer


@dataclass
class ImportOutcome:
    """What customer_upsert_from_import() did with one row."""

    customer: Customer
    created: bool
    changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # field → the source whose value was kept
    identities_taken: list[tuple[str, str, int]] = field(default_factory=list)  # (kind, value, owner id)


def _import_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Return FIELDS with an organisation given by name resolved to one (created when new)."""
    unknown = set(fields) - set(MERGE_FIELDS)
    if unknown:
        raise ValueError(f"unknown customer field(s): {', '.join(sorted(unknown))}")
    resolved = dict(fields)
    organization = resolved.get("organization")
    if isinstance(organization, str):
        org_name = organization.strip()[:200]
        resolved["organization"] = (
            (Organization.objects.filter(name=org_name).first() or Organization.objects.create(name=org_name))
            if org_name
            else None
        )
    return resolved


@transaction.atomic
def customer_upsert_from_import(*, source: str, handles: Sequence[Handle], fields: Mapping[str, Any]) -> ImportOutcome:
    """Create or update the customer of one imported row from SOURCE ("import:erp"), matched by its first
    handle; return what happened.

    FIELDS are name, language, tier, notes, address, interests and organization (an Organization or a
    name, created when unknown); the master-data rules decide which of them overwrite what is there. The
    row's other handles are attached when nobody owns them (the importing system vouches for them); those
    another customer owns are reported, not moved. A customer found or created here is confirmed.
    Raise IdentityInvalidError for a malformed handle, ValueError for an unknown field or tier.
    """
    if not handles:
        raise IdentityInvalidError("an imported customer needs at least one handle (email, phone …)")
    if not source.strip():
        raise ValueError("an import needs a source, e.g. import:erp")
    pairs = _keys(handles)
    resolved = _import_fields(fields)
    if "tier" in resolved and resolved["tier"] not in Customer.Tier.values:
        raise ValueError(f"unknown tier {resolved['tier']!r}")
    kind, value = pairs[0]
    owner_id = Identity.objects.filter(kind=kind, value=value).values_list("customer_id", flat=True).first()
    created = owner_id is None
    if owner_id is None:
        customer = Customer.objects.create(field_sources={})
        _event(customer=customer, kind=CustomerEvent.Kind.CREATED, actor=None, source=source)
    else:
        customer = Customer.objects.select_for_update().get(pk=owner_id)
    taken = []
    free = []
    owners = {
        (k, v): c
        for k, v, c in Identity.objects.filter(
            kind__in={k for k, _ in pairs}, value__in={v for _, v in pairs}
        ).values_list("kind", "value", "customer_id")
    }
    for pair in pairs:
        owner = owners.get(pair)
        if owner is None:
            free.append(Handle(*pair))
        elif owner != customer.pk:
            taken.append((pair[0], pair[1], owner))
    change = customer_change(customer=customer, fields=resolved, add_identities=free, source=source)
    customer = change.customer
    if customer.provisional:
        customer.provisional = False
        customer.save(update_fields=["provisional", "updated_at"])
    return ImportOutcome(
        customer=customer, created=created, changed=change.changed, skipped=change.skipped, identities_taken=taken
    )


# --- Suggestions: accept, reject --------------------------------------------------------------------------


def _customers_lock(*pks: int) -> dict[int, Customer]:
    """Lock the customers PKS, in primary-key order (the order every service locks customers in)."""
    return {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=pks).order_by("pk")}


def _suggestion_lock(suggestion: MatchSuggestion) -> MatchSuggestion:
    """Lock the suggestion's customers, then the suggestion (refreshing suggestions locks the same way)."""
    _customers_lock(suggestion.customer_id, suggestion.candidate_id)
    locked = MatchSuggestion.objects.select_for_update().filter(pk=suggestion.pk).first()
    if locked is None or locked.status != MatchSuggestion.Status.OPEN:
        raise SuggestionDecidedError("This suggestion was accepted or rejected already.")
    return locked


@transaction.atomic
def suggestion_accept(*, suggestion: MatchSuggestion, actor: User) -> Customer:
    """Link the suggestion's provisional customer to the suggested known one and return that customer.

    The known customer is the master: the provisional one's identities, cases, records and history move to
    it, so the handle is known from then on. Agents may do this (permission to change customers); when
    the customer is not provisional any more it is an ordinary merge and needs the merge permission.
    Raise SuggestionDecidedError when it was decided already.
    """
    _require(actor, CHANGE_CUSTOMERS, "link customers")
    suggestion = _suggestion_lock(suggestion)
    other = Customer.objects.get(pk=suggestion.customer_id)
    if not other.provisional:
        _require(actor, MERGE_CUSTOMERS, "merge customers")
    master = Customer.objects.get(pk=suggestion.candidate_id)
    return _merge(
        master=master,
        other=other,
        actor=actor,
        kind=CustomerEvent.Kind.LINKED,
        extra={"suggestion": {"id": suggestion.pk, "score": suggestion.score, "reasons": suggestion.reasons}},
    )


@transaction.atomic
def suggestion_reject(*, suggestion: MatchSuggestion, actor: User) -> MatchSuggestion:
    """Mark the suggestion rejected (it is not made again) and record it; return it.

    Raise SuggestionDecidedError when it was decided already.
    """
    _require(actor, CHANGE_CUSTOMERS, "reject suggestions")
    suggestion = _suggestion_lock(suggestion)
    suggestion.status = MatchSuggestion.Status.REJECTED
    suggestion.decided_by = actor
    suggestion.decided_at = timezone.now()
    suggestion.save(update_fields=["status", "decided_by", "decided_at"])
    candidate = Customer.objects.filter(pk=suggestion.candidate_id).values_list("name", flat=True).first()
    _event(
        customer=suggestion.customer,
        kind=CustomerEvent.Kind.SUGGESTION_REJECTED,
        actor=actor,
        candidate={"id": suggestion.candidate_id, "name": candidate or ""},
        score=suggestion.score,
    )
    return suggestion


# --- Merge and split --------------------------------------------------------------------------------------


@transaction.atomic
def customer_merge(*, master: Customer, other: Customer, actor: User) -> Customer:
    """Merge OTHER into MASTER and return MASTER; OTHER is deleted.

    Identities, cases, external records, follows, notifications, suggestions and history move to MASTER;
    fields are resolved by the master-data rules (merge_fields_resolve). A MERGED event on MASTER records
    who merged which customer, its identities and cases. Needs the merge permission.
    Raise CustomerMergeError for the same customer twice or an erased customer.
    """
    _require(actor, MERGE_CUSTOMERS, "merge customers")
    return _merge(master=master, other=other, actor=actor, kind=CustomerEvent.Kind.MERGED, extra={})


def merge_fields_resolve(
    *, master: Customer, other: Customer, table: Mapping[str, Sequence[str]] | None = None
) -> dict[str, dict[str, Any]]:
    """Set on MASTER the fields OTHER's value wins, with their sources; return them {field: {old, new, source}}.

    A field empty on MASTER takes OTHER's value; when both are set, the value whose source ranks higher
    wins, and on a tie MASTER's stays. Nothing is saved.
    """
    rules = precedence_table() if table is None else table
    taken: dict[str, dict[str, Any]] = {}
    sources = dict(master.field_sources)
    for name in MERGE_FIELDS:
        mine, theirs = _field_value(master, name), _field_value(other, name)
        if theirs in ("", None) or mine == theirs:
            continue
        if name == "tier" and theirs == Customer.Tier.STANDARD:
            continue  # the default says nothing
        their_source = other.field_sources.get(name)
        empty = mine in ("", None) or (name == "tier" and mine == Customer.Tier.STANDARD)
        if not empty and source_rank(field=name, source=their_source, table=rules) >= source_rank(
            field=name, source=sources.get(name), table=rules
        ):
            continue
        setattr(master, "organization_id" if name == "organization" else name, theirs)
        if their_source:
            sources[name] = their_source
        else:
            sources.pop(name, None)
        taken[name] = {"old": mine, "new": theirs, "source": their_source or ""}
    master.field_sources = sources
    if "name" in taken:
        master.name_key = fold_name(master.name)
    return taken


# Relations merge moves itself; any other model pointing at a customer (added by a later feature) is
# moved generically so that a merge never deletes data through a cascade.
_MOVED_EXPLICITLY = ("customers.Identity", "customers.MatchSuggestion", "customers.CustomerMatchKey")


def _merge(*, master: Customer, other: Customer, actor: User, kind: str, extra: Mapping[str, Any]) -> Customer:
    if master.pk == other.pk:
        raise CustomerMergeError("A customer cannot be merged with itself.")
    locked = _customers_lock(master.pk, other.pk)
    if len(locked) != 2:
        raise CustomerMergeError("One of the customers does not exist any more.")
    master, other = locked[master.pk], locked[other.pk]
    if master.erased_at is not None or other.erased_at is not None:
        raise CustomerMergeError("An erased customer cannot be merged.")
    from tiski.cases.models import Case
    from tiski.notifications.models import Follow, Notification

    identities = [
        {"id": i.pk, "kind": i.kind, "value": i.value} for i in Identity.objects.filter(customer=other).order_by("pk")
    ]
    Identity.objects.filter(customer=other).update(customer=master)
    case_ids = list(Case.objects.filter(customer=other).values_list("pk", flat=True))
    Case.objects.filter(pk__in=case_ids).update(customer=master)
    marketing_refresh(customer_id=master.pk)  # suppression follows the open complaint cases
    records = ExternalRecord.objects.filter(customer=other).update(customer=master)
    followers = set(Follow.objects.filter(customer=master).values_list("user_id", flat=True))
    Follow.objects.filter(customer=other, user_id__in=followers).delete()
    Follow.objects.filter(customer=other).update(customer=master)
    Notification.objects.filter(customer=other).update(customer=master)
    MatchSuggestion.objects.filter(customer=other).delete()
    MatchSuggestion.objects.filter(customer=master, candidate=other).delete()
    pointing_at_master = MatchSuggestion.objects.filter(candidate=master).values("customer_id")
    MatchSuggestion.objects.filter(candidate=other, customer_id__in=pointing_at_master).delete()
    MatchSuggestion.objects.filter(candidate=other).update(candidate=master)
    CustomerEvent.objects.filter(customer=other).update(customer=master)
    _move_other_relations(master=master, other=other)
    fields = merge_fields_resolve(master=master, other=other)
    master.provisional = False
    master.save()
    merged = {"id": other.pk, "name": other.name, "provisional": other.provisional}
    _event(
        customer=master,
        kind=kind,
        actor=actor,
        merged=merged,
        identities=identities,
        cases=case_ids,
        records=records,
        fields={name: {**change, "old": _audit_value(change["old"])} for name, change in fields.items()},
        **extra,
    )
    other.delete()
    match_keys_refresh(customer=master)
    audit_record(
        action="customer.merge",
        actor=actor,
        target=master,
        target_label=audit_customer_label(master.pk),  # no personal data in the append-only log
        detail={"merged": merged["id"], "kind": kind, "identities": len(identities), "cases": len(case_ids)},
    )
    logger.info("customer %s merged into %s by %s", merged["id"], master.pk, actor.pk)
    return master


def _move_other_relations(*, master: Customer, other: Customer) -> None:
    """Point every other foreign key to OTHER at MASTER (relations added by later features)."""
    handled = {
        "cases.Case",
        "notifications.Follow",
        "notifications.Notification",
        "customers.ExternalRecord",
        "customers.CustomerEvent",
        *_MOVED_EXPLICITLY,
    }
    for relation in Customer._meta.related_objects:
        model = relation.related_model
        if not isinstance(model, type) or model._meta.label in handled:
            continue
        if relation.many_to_many:
            continue  # no many-to-many relation to customers exists
        field_name = relation.field.name
        model._base_manager.filter(**{field_name: other}).update(**{field_name: master})


@transaction.atomic
def identity_split(*, identity: Identity, actor: User) -> Customer:
    """Move IDENTITY off its customer to a new customer, with the cases it opened; return the new customer.

    The cases that moved are those whose first inbound message came from IDENTITY. The new customer is
    named by that identity's latest message's sender name, is provisional (not linked to anyone yet) and
    is never suggested as its old customer again. A SPLIT event is recorded on both customers. Needs the
    merge permission. Raise IdentitySplitError for a customer's only identity or an erased customer.
    """
    _require(actor, MERGE_CUSTOMERS, "split customers")
    from tiski.cases.models import Case, Message

    # The customer first, then the identity: the order merges lock in.
    owner_id = Identity.objects.filter(pk=identity.pk).values_list("customer_id", flat=True).first()
    source = Customer.objects.select_for_update().filter(pk=owner_id).first() if owner_id else None
    locked = Identity.objects.select_for_update().filter(pk=identity.pk, customer=source).first() if source else None
    if source is None or locked is None:
        raise IdentitySplitError("This identity does not exist any more, or moved meanwhile.")
    identity = locked
    if source.erased_at is not None:
        raise IdentitySplitError("An erased customer's identities cannot be split off.")
    if Identity.objects.filter(customer=source).count() < 2:
        raise IdentitySplitError(
            f"{identity.kind} {identity.value} is the only identity of {source}: there is nothing to split it from."
        )
    latest = (
        Message.objects.filter(identity=identity, direction=Message.Direction.IN)
        .exclude(sender_name="")
        .select_related("channel")
        .order_by("-created_at", "-pk")
        .first()
    )
    name = latest.sender_name[:200] if latest else ""
    name_source = f"channel:{latest.channel.kind}" if latest else ""
    new = Customer.objects.create(
        name=name,
        name_key=fold_name(name),
        language=source.language,
        provisional=True,
        field_sources={"name": name_source} if name and name_source else {},
    )
    identity.customer = new
    identity.save(update_fields=["customer"])
    first_inbound = (
        Message.objects.filter(case=OuterRef("pk"), direction=Message.Direction.IN)
        .order_by("created_at", "pk")
        .values("identity_id")[:1]
    )
    case_ids = list(
        Case.objects.filter(customer=source)
        .annotate(first_identity=Subquery(first_inbound))
        .filter(first_identity=identity.pk)
        .values_list("pk", flat=True)
    )
    Case.objects.filter(pk__in=case_ids).update(customer=new)
    marketing_refresh(customer_id=source.pk)  # suppression follows the open complaint cases
    marketing_refresh(customer_id=new.pk)
    MatchSuggestion.objects.create(
        customer=new,
        candidate=source,
        score=0,
        reasons=[{"kind": "split", "detail": f"split off {source} by {actor.get_username()}", "points": 0}],
        status=MatchSuggestion.Status.REJECTED,
        decided_by=actor,
        decided_at=timezone.now(),
    )
    moved = {"id": identity.pk, "kind": identity.kind, "value": identity.value}
    _event(
        customer=source, kind=CustomerEvent.Kind.SPLIT, actor=actor, identity=moved, to_customer=new.pk, cases=case_ids
    )
    _event(
        customer=new,
        kind=CustomerEvent.Kind.SPLIT,
        actor=actor,
        identity=moved,
        from_customer=source.pk,
        cases=case_ids,
    )
    match_keys_refresh(customer=source)
    match_keys_refresh(customer=new)
    audit_record(
        action="customer.split",
        actor=actor,
        target=source,
        target_label=audit_customer_label(source.pk),
        detail={"new_customer": new.pk, "identity": identity.pk, "identity_kind": identity.kind, "cases": case_ids},
    )
    return new
