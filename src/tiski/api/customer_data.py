"""Customer data: marketing suppression for marketing systems, GDPR export and erasure, follows and notifications."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from ninja.responses import Status
from pydantic import model_validator

from tiski.accounts.roles import ERASE_CUSTOMERS, EXPORT_CUSTOMERS, VIEW_CUSTOMERS
from tiski.api.auth import require_case_reader, require_perm
from tiski.api.customers import IdentityOut
from tiski.api.errors import ApiError
from tiski.api.paging import PageIn, PageMeta, page_of
from tiski.api.schemas import AUTH_ERRORS, ErrorOut, ObjectId
from tiski.api.selectors import follow_target_visible
from tiski.customers.exceptions import CustomerErasedError
from tiski.customers.gdpr import customer_erase, customer_export
from tiski.customers.marketing import marketing_status, marketing_suppressions
from tiski.customers.models import Customer
from tiski.customers.selectors import customer_get
from tiski.notifications.exceptions import FollowInvalidError, FollowTargetNotFoundError
from tiski.notifications.models import Follow, Notification
from tiski.notifications.selectors import follow_target_get, follows_of, notifications_list, notifications_unread_count
from tiski.notifications.services import follow, notifications_mark_read, unfollow

router = Router(tags=["customer data"])


# Marketing suppression --------------------------------------------------------------------------------------


class MarketingOut(Schema):
    customer_id: int
    do_not_market: bool = Field(description="True while the customer has an open complaint case.")
    reason: str = Field(description='"open_complaint" while suppressed, else "no_open_complaint".')
    cases: list[str] = Field(description="References of the open complaint cases.")


class SuppressedCustomerOut(Schema):
    customer_id: int = Field(alias="id")
    name: str
    identities: list[IdentityOut]
    updated_at: datetime

    @staticmethod
    def resolve_identities(obj: Customer) -> list[Any]:
        return list(obj.identities.all())


class SuppressionPage(PageMeta):
    items: list[SuppressedCustomerOut]


@router.get(
    "/customers/{customer_id}/marketing",
    response={200: MarketingOut, 404: ErrorOut, **AUTH_ERRORS},
    summary="May the customer be marketed to",
)
def customers_marketing(request: HttpRequest, customer_id: ObjectId) -> dict[str, Any]:
    """Say whether a marketing system must leave the customer alone ("do not market") and why."""
    user = require_perm(request, VIEW_CUSTOMERS, "see customers")
    status = marketing_status(user=user, customer_id=customer_id)
    return {
        "customer_id": status.customer_id,
        "do_not_market": status.do_not_market,
        "reason": status.reason,
        "cases": status.cases,
    }


@router.get(
    "/marketing/suppressions",
    response={200: SuppressionPage, **AUTH_ERRORS},
    summary="List the customers not to be marketed to",
)
def marketing_suppressions_list(request: HttpRequest, page: Query[PageIn]) -> dict[str, Any]:
    """List every customer who must not be marketed to now, with their identities, by id.

    A marketing system syncs from this list, or listens to the webhook (TISKI_MARKETING_WEBHOOK_URL).
    """
    user = require_perm(request, VIEW_CUSTOMERS, "see customers")
    return page_of(request, marketing_suppressions(user=user), page)


# GDPR --------------------------------------------------------------------------------------------------------


class EraseIn(Schema):
    confirm: str = Field(max_length=40, description="The customer's id again, to confirm: erasure cannot be undone.")


class ErasedOut(Schema):
    customer_id: int
    erased_at: datetime


@router.get(
    "/customers/{customer_id}/export",
    response={200: dict[str, Any], 404: ErrorOut, **AUTH_ERRORS},
    summary="Export everything about a customer (GDPR)",
)
def customers_export(request: HttpRequest, customer_id: ObjectId) -> HttpResponse:
    """Download everything Tiski holds about the customer as one JSON file; the export is recorded."""
    user = require_perm(request, EXPORT_CUSTOMERS, "export customers' data")
    customer = _customer(user, customer_id)
    data = customer_export(customer=customer, actor=user)
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}.json"'
    return response


@router.post(
    "/customers/{customer_id}/erase",
    response={200: ErasedOut, 400: ErrorOut, 404: ErrorOut, 409: ErrorOut, **AUTH_ERRORS},
    summary="Erase a customer's personal data (GDPR)",
)
def customers_erase(request: HttpRequest, customer_id: ObjectId, data: EraseIn) -> dict[str, Any]:
    """Anonymise the customer for good; cases and their statistics stay. Confirm with {"confirm": "<id>"}."""
    user = require_perm(request, ERASE_CUSTOMERS, "erase customers' personal data")
    customer = _customer(user, customer_id)
    if data.confirm.strip() != str(customer.pk):
        raise ApiError(
            400,
            "confirmation_mismatch",
            f'Erasure cannot be undone: confirm it with {{"confirm": "{customer.pk}"}} (the customer\'s id).',
        )
    try:
        customer_erase(customer=customer, actor=user)
    except CustomerErasedError as exc:
        raise ApiError(409, "customer_erased", str(exc)) from exc
    customer.refresh_from_db(fields=["erased_at"])
    return {"customer_id": customer.pk, "erased_at": customer.erased_at}


def _customer(user: User, customer_id: int) -> Customer:
    """Return the customer; the export and erase permissions are not tied to seeing the customer list."""
    if user.has_perm(VIEW_CUSTOMERS):
        return customer_get(user=user, customer_id=customer_id)
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise ApiError(404, "customer_not_found", f"No customer {customer_id}.")
    return customer


# Following and notifications -----------------------------------------------------------------------------------


class FollowIn(Schema):
    customer_id: ObjectId | None = None
    organization_id: ObjectId | None = None
    case_id: ObjectId | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> FollowIn:
        if sum(value is not None for value in (self.customer_id, self.organization_id, self.case_id)) != 1:
            raise ValueError("give exactly one of customer_id, organization_id and case_id")
        return self


class FollowOut(Schema):
    id: int
    customer_id: int | None
    organization_id: int | None
    case_id: int | None
    created_at: datetime


class NotificationOut(Schema):
    id: int
    kind: str = Field(description="contact (the customer wrote) or case_changed.")
    text: str = Field(description="One line in the agent's language, e.g. “Minna set TSK-1042 to Solved”.")
    case_id: int | None
    customer_id: int | None
    created_at: datetime
    read_at: datetime | None


class NotificationsOut(Schema):
    unread: int = Field(description="How many of the user's notifications are unread.")
    items: list[NotificationOut]


class NotificationFilters(Schema):
    limit: int = Field(50, ge=1, le=200)
    unread: bool = Field(False, description="Only unread notifications.")


class MarkReadIn(Schema):
    ids: list[ObjectId] | None = Field(None, max_length=1000, description="The notifications to mark; null: all.")


class MarkedOut(Schema):
    marked: int


def _follow_errors(exc: Exception) -> ApiError:
    if isinstance(exc, FollowTargetNotFoundError):
        return ApiError(404, "not_found", str(exc))
    return ApiError(400, "follow_invalid", str(exc))


@router.get("/follows", response={200: list[FollowOut], **AUTH_ERRORS}, summary="List what I follow")
def follows_list(request: HttpRequest) -> list[Follow]:
    """List the customers, organisations and cases the token's user follows, newest first."""
    user = require_case_reader(request)
    return list(follows_of(user=user))


@router.post(
    "/follows", response={200: FollowOut, 400: ErrorOut, 404: ErrorOut, **AUTH_ERRORS}, summary="Follow something"
)
def follows_create(request: HttpRequest, data: FollowIn) -> Follow:
    """Follow one customer, organisation or case: be notified when the customer writes or the case changes.

    Following what one follows already answers the existing follow.
    """
    user = require_case_reader(request)
    try:
        target = follow_target_get(user=user, **data.model_dump())
        follow_target_visible(user=user, target=target)
        return follow(user=user, **target)
    except (FollowInvalidError, FollowTargetNotFoundError) as exc:
        raise _follow_errors(exc) from exc


@router.post(
    "/follows/remove",
    response={204: None, 400: ErrorOut, 404: ErrorOut, **AUTH_ERRORS},
    summary="Stop following something",
)
def follows_remove(request: HttpRequest, data: FollowIn) -> Status[None]:
    """Stop following the customer, organisation or case; answers 404 when it was not followed."""
    user = require_case_reader(request)
    try:
        target = follow_target_get(user=user, **data.model_dump())
    except (FollowInvalidError, FollowTargetNotFoundError) as exc:
        raise _follow_errors(exc) from exc
    if not unfollow(user=user, **target):
        raise ApiError(404, "not_following", "You do not follow that.")
    return Status(204, None)


@router.get("/notifications", response={200: NotificationsOut, **AUTH_ERRORS}, summary="My notifications")
def notifications_get(request: HttpRequest, filters: Query[NotificationFilters]) -> dict[str, Any]:
    """Return the token's user's newest notifications and how many are unread."""
    user = require_case_reader(request)
    items: list[Notification] = notifications_list(user=user, limit=filters.limit, unread_only=filters.unread)
    return {"unread": notifications_unread_count(user=user), "items": items}


@router.post("/notifications/read", response={200: MarkedOut, **AUTH_ERRORS}, summary="Mark notifications read")
def notifications_read(request: HttpRequest, data: MarkReadIn) -> dict[str, int]:
    """Mark the given notifications (or all, when ids is null) read."""
    user = require_case_reader(request)
    return {"marked": notifications_mark_read(user=user, ids=data.ids)}
