"""Reads for customers."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet

from tiski.accounts.roles import VIEW_CUSTOMERS
from tiski.customers.models import Customer


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
    customers = Customer.objects.select_related("organization").prefetch_related("identities")
    if q.strip():
        text = q.strip()
        customers = customers.filter(Q(name__icontains=text) | Q(identities__value__iexact=text.lower())).distinct()
    return customers.order_by("name", "pk")


def customer_get(*, user: User, customer_id: int) -> Customer:
    """Return one customer with identities; raise CustomerNotFoundError."""
    _require(user)
    customer = (
        Customer.objects.select_related("organization").prefetch_related("identities").filter(pk=customer_id).first()
    )
    if customer is None:
        raise CustomerNotFoundError(f"No customer {customer_id}.")
    return customer
