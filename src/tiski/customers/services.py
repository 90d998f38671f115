"""Writes for customers and their identities."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from tiski.customers.exceptions import IdentityInvalidError, IdentityTakenError
from tiski.customers.models import Customer, Identity
from tiski.customers.normalize import normalize_handle


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


def customer_identify(*, handles: Sequence[Handle], name: str = "", language: str = "") -> Identification:
    """Return the customer owning the sender's own handle (the first), else a new customer with the handles.

    Only the handle the contact came from identifies: the others a sender gives (a phone number typed into
    a form) are unverified, so they are attached only to a customer created now, and only when nobody owns
    them. Attaching them to an existing customer would let anyone add their own address to someone else's
    record and receive that customer's replies; linking handles to a known customer is an agent's decision.
    Raise IdentityInvalidError for a malformed handle, and IntegrityError when a concurrent transaction took
    one of the handles first: run it again in a new transaction (the inbound pipeline does).
    """
    normalized = list(dict.fromkeys((handle.kind, normalize_handle(handle.kind, handle.value)) for handle in handles))
    if not normalized:
        raise ValueError("identifying a customer needs at least one handle")
    known = {
        (identity.kind, identity.value): identity
        for identity in Identity.objects.select_related("customer").filter(
            kind__in={kind for kind, _ in normalized}, value__in={value for _, value in normalized}
        )
    }
    own = normalized[0]
    if own in known:
        identity = known[own]
        customer = identity.customer
        if not customer.name and name.strip():
            customer.name = name.strip()[:200]
            customer.save(update_fields=["name", "updated_at"])
        return Identification(customer=customer, created=False, identity=identity)
    customer = Customer.objects.create(name=name.strip()[:200], language=language)
    for kind, value in normalized:
        if (kind, value) not in known:
            known[(kind, value)] = Identity.objects.create(customer=customer, kind=kind, value=value)
    return Identification(customer=customer, created=True, identity=known[own])


_UNSET: Any = object()


def _normalized(handles: Sequence[Handle]) -> list[tuple[str, str]]:
    """Return the handles normalised, without repeats; raise IdentityInvalidError for a malformed one."""
    pairs = [(handle.kind, normalize_handle(handle.kind, handle.value)) for handle in handles]
    return list(dict.fromkeys(pairs))


def _identities_attach(*, customer: Customer, pairs: Sequence[tuple[str, str]]) -> None:
    """Attach PAIRS to CUSTOMER; raise IdentityTakenError when another customer owns one of them."""
    for kind, value in pairs:
        owner = Identity.objects.filter(kind=kind, value=value).values_list("customer_id", flat=True).first()
        if owner == customer.pk:
            continue
        if owner is None:
            try:
                with transaction.atomic():
                    Identity.objects.create(customer=customer, kind=kind, value=value)
                continue
            except IntegrityError:  # a concurrent contact attached it first
                owner = Identity.objects.filter(kind=kind, value=value).values_list("customer_id", flat=True).first()
        raise IdentityTakenError(
            f"The {kind} identity {value} belongs to customer {owner} already.", customer_id=owner or 0
        )


@transaction.atomic
def customer_create(
    *,
    name: str,
    language: str = "",
    tier: str = Customer.Tier.STANDARD,
    notes: str = "",
    identities: Sequence[Handle] = (),
) -> Customer:
    """Create a customer with the given identities and return it.

    Raise IdentityInvalidError for a malformed handle, IdentityTakenError when another customer owns one.
    """
    if tier not in Customer.Tier.values:
        raise ValueError(f"unknown tier {tier!r}")
    pairs = _normalized(identities)
    customer = Customer.objects.create(name=name.strip()[:200], language=language, tier=tier, notes=notes)
    _identities_attach(customer=customer, pairs=pairs)
    return customer


@transaction.atomic
def customer_update(
    *,
    customer: Customer,
    name: str = _UNSET,
    language: str = _UNSET,
    tier: str = _UNSET,
    notes: str = _UNSET,
    add_identities: Sequence[Handle] = (),
    remove_identities: Sequence[Handle] = (),
) -> Customer:
    """Change the given fields of CUSTOMER, then remove and add identities; return the customer.

    Raise IdentityInvalidError for a malformed handle or for removing a handle the customer does not have,
    IdentityTakenError when another customer owns a handle to add.
    """
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if tier is not _UNSET and tier not in Customer.Tier.values:
        raise ValueError(f"unknown tier {tier!r}")
    changes = {"name": name, "language": language, "tier": tier, "notes": notes}
    changed = []
    for field, value in changes.items():
        if value is _UNSET:
            continue
        new = value.strip()[:200] if field == "name" else value
        if new != getattr(customer, field):
            setattr(customer, field, new)
            changed.append(field)
    for kind, value in _normalized(remove_identities):
        deleted, _by_model = Identity.objects.filter(customer=customer, kind=kind, value=value).delete()
        if not deleted:
            raise IdentityInvalidError(f"{customer} has no {kind} identity {value}.")
    _identities_attach(customer=customer, pairs=_normalized(add_identities))
    customer.save(update_fields=[*changed, "updated_at"])
    return customer
