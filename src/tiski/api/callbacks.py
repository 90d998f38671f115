"""Callback requests: a company's own site, app or IVR asks Tiski to have an agent call a customer back."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.responses import Status

from tiski.accounts.roles import WORK_CASES
from tiski.api.auth import require_perm
from tiski.api.errors import ApiError
from tiski.api.schemas import AUTH_ERRORS, ErrorOut, ObjectId
from tiski.api.selectors import case_by_ref, customer_ref_for
from tiski.api.timestamps import aware
from tiski.channels.voice.callbacks import CallbackError, callback_request
from tiski.channels.voice.models import CallbackRequest

router = Router(tags=["callback requests"])


class CallbackIn(Schema):
    customer_id: ObjectId
    number: str = Field(max_length=64, description="The number to call, in any common format (stored as E.164).")
    topic: str = Field("", max_length=300)
    preferred_time: str = Field("", max_length=100, description='As the customer said it, e.g. "after 4 pm".')
    window_start: datetime | None = Field(None, description="Not before (ISO 8601 with its offset).")
    window_end: datetime | None = Field(None, description="Not after (ISO 8601 with its offset).")
    case: str = Field("", max_length=40, description="The case's id or reference; empty: a new phone case.")


class CallbackOut(Schema):
    id: int
    case: str = Field(description="The reference of the case the request is on.")
    number: str
    topic: str
    status: str = Field(description="scheduled, queued, done, unreachable or cancelled.")
    attempts: int
    due_at: datetime | None = Field(description="When the customer is to be called back by.")
    next_attempt_at: datetime | None
    new: bool = Field(description="False when an open request for this customer and number was updated instead.")


@router.post(
    "/callback-requests",
    response={201: CallbackOut, 200: CallbackOut, 400: ErrorOut, 404: ErrorOut, **AUTH_ERRORS},
    summary="Ask for a callback",
)
def callback_requests_create(request: HttpRequest, data: CallbackIn) -> Status[dict[str, object]]:
    """Record a callback request: routed to a free agent as callback work when its window opens (at once
    without one). An open request for the same customer and number is kept and answered with 200."""
    user = require_perm(request, WORK_CASES, "work on cases")
    customer = customer_ref_for(user=user, pk=data.customer_id)
    case = case_by_ref(user=user, ref=data.case) if data.case else None
    if case is not None and case.customer_id != customer.pk:
        raise ApiError(400, "callback_invalid", f"{case.reference} is not a case of customer {customer.pk}.")
    try:
        callback, new = callback_request(
            customer=customer,
            number=data.number,
            source=CallbackRequest.Source.API,
            case=case,
            topic=data.topic,
            preferred_time=data.preferred_time,
            window_start=aware(data.window_start) if data.window_start else None,
            window_end=aware(data.window_end) if data.window_end else None,
            actor=user,
        )
    except CallbackError as error:
        raise ApiError(400, "callback_invalid", str(error)) from None
    callback.refresh_from_db()
    return Status(201 if new else 200, _out(callback, new))


def _out(callback: CallbackRequest, new: bool) -> dict[str, object]:
    return {
        "id": callback.pk,
        "case": callback.case.reference,
        "number": callback.number,
        "topic": callback.topic,
        "status": callback.status,
        "attempts": callback.attempts,
        "due_at": callback.due_at,
        "next_attempt_at": callback.next_attempt_at,
        "new": new,
    }
