"""Writes for customers and their identities."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction

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
    """Return the customer owning the first known handle, else a new customer with all the handles.

    Handles not yet owned by anyone are attached to the customer found, so the next contact through any
    of them is recognised. A handle owned by another customer is left where it is (merging two
    customers is an agent's decision). Raise IdentityInvalidError for a malformed handle.
    """
    normalized = [(handle.kind, normalize_handle(handle.kind, handle.value)) for handle in handles]
    if not normalized:
        raise ValueError("identifying a customer needs at least one handle")
    known = {
        (identity.kind, identity.value): identity
        for identity in Identity.objects.select_related("customer").filter(
            kind__in={kind for kind, _ in normalized}, value__in={value for _, value in normalized}
        )
    }
    customer = next((known[key].customer for key in normalized if key in known), None)
    created = customer is None
    if customer is None:
        customer = Customer.objects.create(name=name.strip()[:200], language=language)
    elif not customer.name and name.strip():
        customer.name = name.strip()[:200]
        customer.save(update_fields=["name", "updated_at"])
    for key in dict.fromkeys(normalized):
        if key not in known:
            attached = _identity_attach(customer=customer, kind=key[0], value=key[1])
            if attached is not None:
                known[key] = attached
    if created and not any(known.get(key) for key in normalized):
        # A concurrent first contact through the same handles won the race: use its customer.
        customer.delete()
        return customer_identify(handles=handles, name=name, language=language)
    first = known.get(normalized[0])
    return Identification(
        customer=customer, created=created, identity=first if first and first.customer_id == customer.pk else None
    )


def _identity_attach(*, customer: Customer, kind: str, value: str) -> Identity | None:
    """Attach a handle to CUSTOMER; return None when a concurrent contact attached it to someone first."""
    try:
        with transaction.atomic():
            return Identity.objects.create(customer=customer, kind=kind, value=value)
    except IntegrityError:
        return None
