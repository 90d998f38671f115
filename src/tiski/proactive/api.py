"""External events for proactive service: another system tells Tiski that something happened (first icy evening)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.responses import Status
from pydantic import ConfigDict

from tiski.api.auth import require_perm
from tiski.api.errors import ApiError
from tiski.api.schemas import AUTH_ERRORS, ErrorOut
from tiski.proactive.models import ExternalEvent
from tiski.proactive.services import EventInvalidError, EventUnknownError, external_event_receive

SEND_EVENTS = "proactive.send_external_event"

router = Router(tags=["proactive service"])


class ExternalEventIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        min_length=1,
        max_length=100,
        pattern=r"^[a-z0-9][a-z0-9_.\-]*$",
        description='The event, as the proactive rules name it, in lower case: "icy_evening".',
    )
    occurrence: str = Field(
        "",
        max_length=100,
        description="Which time of the event this is; the same name and occurrence is acted on once. "
        "Empty: today (the company's local date), so an event is taken once a day however often it is sent.",
    )
    data: dict[str, Any] = Field(
        default_factory=dict, description="Anything about the event, shown to the agent on each case it makes."
    )


class ExternalEventOut(Schema):
    id: int
    name: str
    occurrence: str
    new: bool = Field(description="False when this occurrence had been received before: nothing more was done.")
    status: str = Field(description="queued (being processed in the background), done or failed.")
    rules: int = Field(description="Enabled rules listening for the event.")
    matched: int = Field(description="Customers whose interests matched (so far, while queued).")
    created: int = Field(description="Outbound cases made (so far, while queued).")
    received_at: datetime


@router.post(
    "/external-events",
    response={200: ExternalEventOut, 202: ExternalEventOut, 400: ErrorOut, 404: ErrorOut, **AUTH_ERRORS},
    summary="Send an external event",
)
def external_events_create(request: HttpRequest, data: ExternalEventIn) -> Status[dict[str, object]]:
    """Tell Tiski that an event happened: every enabled proactive rule listening for its name makes outbound
    work (a call or a message, routed to an agent) for each customer whose interests match the rule's keywords.

    Answers 200 when done (a few customers, or an occurrence received before), 202 when the work is being
    made in the background, and 404 when no rule listens for the name (most likely a typo: the answer lists
    the names rules listen for). A rule that exists but is disabled still makes the name known: 200 with
    `rules` 0.
    """
    user = require_perm(request, SEND_EVENTS, "send external events")
    try:
        event, new = external_event_receive(name=data.name, occurrence=data.occurrence, data=data.data, actor=user)
    except EventUnknownError as error:
        raise ApiError(404, "event_unknown", str(error)) from None
    except EventInvalidError as error:
        raise ApiError(400, "event_invalid", str(error)) from None
    status = 202 if event.status == ExternalEvent.Status.QUEUED else 200
    return Status(status, _out(event, new))


@router.get(
    "/external-events/{event_id}",
    response={200: ExternalEventOut, 404: ErrorOut, **AUTH_ERRORS},
    summary="Read an external event",
)
def external_events_get(request: HttpRequest, event_id: int) -> dict[str, object]:
    """Read an event sent before: its status and how many customers it reached (poll it after a 202)."""
    require_perm(request, SEND_EVENTS, "send external events")
    event = ExternalEvent.objects.filter(pk=event_id).first()
    if event is None:
        raise ApiError(404, "event_not_found", f"There is no external event {event_id}.")
    return _out(event, False)


def _out(event: ExternalEvent, new: bool) -> dict[str, object]:
    return {
        "id": event.pk,
        "name": event.name,
        "occurrence": event.occurrence,
        "new": new,
        "status": event.status,
        "rules": event.rules,
        "matched": event.matched,
        "created": event.created,
        "received_at": event.received_at,
    }
