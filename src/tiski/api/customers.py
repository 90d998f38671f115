"""Customers: list, get, create, update, with their identities (email addresses, phone numbers, ids)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from tiski.accounts.roles import CHANGE_CUSTOMERS, VIEW_CUSTOMERS
from tiski.accounts.scope import can_see_full_customer
from tiski.api.auth import require_perm
from tiski.api.paging import PageIn, PageMeta, page_of
from tiski.api.schemas import AUTH_ERRORS, OMITTED, ErrorOut, IdentityKind, IdentityTakenOut, ObjectId, TierName
from tiski.api.selectors import customer_identities_for
from tiski.api.timestamps import aware
from tiski.customers.models import Customer
from tiski.customers.selectors import customer_get, customer_list
from tiski.customers.services import Handle, customer_change, customer_create

ADD_CUSTOMERS = "customers.add_customer"


def _viewer(context: dict[str, Any] | None) -> User | None:
    """Return the user an API answer is for, from a schema's serialisation context."""
    request = (context or {}).get("request")
    user = getattr(request, "auth", None)
    return user if isinstance(user, User) else None


def _full(context: dict[str, Any] | None) -> bool:
    """Return whether the answer's reader may see customers' full data (False for partner agents)."""
    user = _viewer(context)
    return user is None or can_see_full_customer(user)


router = Router(tags=["customers"])


class IdentityIn(Schema):
    kind: IdentityKind = Field(description="What the value is: an email address, a phone number, a messaging id…")
    value: str = Field(
        min_length=1,
        max_length=320,
        description="As given; email addresses are lower-cased and phone numbers stored in E.164 (+358401234567).",
    )

    def handle(self) -> Handle:
        return Handle(self.kind, self.value)


class IdentityOut(Schema):
    id: int
    kind: str
    value: str = Field(description="The normalised value.")
    verified: bool


class OrganizationOut(Schema):
    id: int
    name: str


class CustomerOut(Schema):
    id: int
    name: str
    language: str = Field(description='The customer\'s language ("fi", "en"), or "" when unknown.')
    tier: str = Field(description="standard, silver, gold or vip; service levels may depend on it.")
    notes: str
    address: str
    interests: str
    provisional: bool = Field(description="Created by a contact from an unknown handle and not confirmed yet.")
    do_not_market: bool = Field(description="True while the customer has an open complaint case.")
    field_sources: dict[str, str] = Field(description='Where each field\'s value came from: {"address": "import:erp"}.')
    organization: OrganizationOut | None
    identities: list[IdentityOut]
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_do_not_market(obj: Customer) -> bool:
        return obj.marketing_suppressed

    @staticmethod
    def resolve_identities(obj: Customer, context: dict[str, Any]) -> list[Any]:
        user = _viewer(context)
        if user is None:
            return list(obj.identities.all())
        return customer_identities_for(user=user, customer=obj)

    # A partner agent sees the name and the identities used on their cases; the rest stays empty.
    @staticmethod
    def resolve_notes(obj: Customer, context: dict[str, Any]) -> str:
        return obj.notes if _full(context) else ""

    @staticmethod
    def resolve_address(obj: Customer, context: dict[str, Any]) -> str:
        return obj.address if _full(context) else ""

    @staticmethod
    def resolve_interests(obj: Customer, context: dict[str, Any]) -> str:
        return obj.interests if _full(context) else ""

    @staticmethod
    def resolve_field_sources(obj: Customer, context: dict[str, Any]) -> dict[str, str]:
        return dict(obj.field_sources or {}) if _full(context) else {}

    @staticmethod
    def resolve_organization(obj: Customer, context: dict[str, Any]) -> Any:
        return obj.organization if _full(context) else None


class CustomerChangedOut(CustomerOut):
    skipped: dict[str, str] = Field(
        description="Fields not written because a higher-ranked source set them: field → that source."
    )


class CustomerPage(PageMeta):
    items: list[CustomerOut]


class CustomerFilters(Schema):
    q: str = Field("", max_length=200, description="A part of the name, or a whole identity such as an email address.")
    updated_since: datetime | None = Field(
        None, description="Only customers changed at or after this time (ISO 8601; UTC without an offset)."
    )


class CustomerIn(Schema):
    name: str = Field("", max_length=200)
    language: str = Field("", max_length=8, description='A language code such as "fi" or "en".')
    tier: TierName = "standard"
    notes: str = Field("", max_length=20_000)
    identities: list[IdentityIn] = Field(default_factory=list, max_length=50)


class CustomerPatch(Schema):
    name: str = Field(OMITTED, max_length=200, description='Left out: unchanged. Null is refused; send "" to clear.')
    language: str = Field(OMITTED, max_length=8)
    tier: TierName = Field(OMITTED)
    notes: str = Field(OMITTED, max_length=20_000)
    address: str = Field(OMITTED, max_length=2000)
    interests: str = Field(OMITTED, max_length=2000)
    source: str = Field(
        "",
        pattern=r"^[a-z0-9][a-z0-9_-]{0,48}$",
        description="The system the values come from (erp, crm …), recorded as api:<source> for the master-data "
        "rules: a field whose value came from a higher-ranked source is kept and listed in `skipped`. "
        "Default: the token's user name.",
    )
    add_identities: list[IdentityIn] = Field(
        default_factory=list, max_length=50, description="Identities to attach to the customer."
    )
    remove_identities: list[IdentityIn] = Field(
        default_factory=list, max_length=50, description="Identities to detach (their messages stay on the cases)."
    )


@router.get("/customers", response={200: CustomerPage, **AUTH_ERRORS}, summary="List customers")
def customers_list(request: HttpRequest, filters: Query[CustomerFilters], page: Query[PageIn]) -> dict[str, Any]:
    """List the customers matching the filters, by name."""
    user = require_perm(request, VIEW_CUSTOMERS, "see customers")
    customers = customer_list(user=user, q=filters.q)
    if filters.updated_since is not None:
        customers = customers.filter(updated_at__gte=aware(filters.updated_since))
    return page_of(request, customers, page)


@router.get(
    "/customers/{customer_id}", response={200: CustomerOut, 404: ErrorOut, **AUTH_ERRORS}, summary="Get a customer"
)
def customers_get(request: HttpRequest, customer_id: ObjectId) -> Customer:
    """Return one customer with all their identities."""
    user = require_perm(request, VIEW_CUSTOMERS, "see customers")
    return customer_get(user=user, customer_id=customer_id)


@router.post(
    "/customers",
    response={201: CustomerOut, 400: ErrorOut, 409: IdentityTakenOut, **AUTH_ERRORS},
    summary="Create a customer",
)
def customers_create(request: HttpRequest, data: CustomerIn) -> Status[Customer]:
    """Create a customer. An identity that belongs to another customer answers 409 with that customer's id."""
    user = require_perm(request, ADD_CUSTOMERS, "create customers")
    customer = customer_create(
        name=data.name,
        language=data.language,
        tier=data.tier,
        notes=data.notes,
        identities=[identity.handle() for identity in data.identities],
    )
    return Status(201, customer_get(user=user, customer_id=customer.pk))


@router.patch(
    "/customers/{customer_id}",
    response={200: CustomerChangedOut, 400: ErrorOut, 404: ErrorOut, 409: IdentityTakenOut, **AUTH_ERRORS},
    summary="Update a customer",
)
def customers_update(request: HttpRequest, customer_id: ObjectId, data: CustomerPatch) -> Customer:
    """Change the fields given, as the master-data rules allow; remove, then add identities."""
    user = require_perm(request, CHANGE_CUSTOMERS, "change customers")
    customer = customer_get(user=user, customer_id=customer_id)
    fields = data.model_dump(exclude_unset=True, include={"name", "language", "tier", "notes", "address", "interests"})
    change = customer_change(
        customer=customer,
        fields=fields,
        add_identities=[identity.handle() for identity in data.add_identities],
        remove_identities=[identity.handle() for identity in data.remove_identities],
        source=f"api:{data.source or user.get_username()}",
        actor=user,
    )
    updated = customer_get(user=user, customer_id=customer_id)
    updated.skipped = change.skipped  # type: ignore[attr-defined]
    return updated
