"""Messages: a case's messages, agent replies, inbound contacts pushed by integrators, delivery reports."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import Status
from pydantic import field_validator

from tiski.accounts.roles import WORK_CASES
from tiski.api.auth import require_case_reader, require_perm
from tiski.api.cases import CaseRef
from tiski.api.errors import ApiError
from tiski.api.paging import PageIn, PageMeta, page_of
from tiski.api.schemas import AUTH_ERRORS, CaseStatus, ChannelRef, ErrorOut, IdentityKind, ObjectId, UserRef
from tiski.api.selectors import case_by_ref, channel_ref_for, message_get, message_list_for_case
from tiski.cases.models import Message
from tiski.cases.services import FileIn, message_delivery_report, message_reply
from tiski.channels.interface import InboundAttachment, InboundMessage, Threading
from tiski.channels.services import message_receive
from tiski.customers.services import Handle

router = Router(tags=["messages"])

MAX_ATTACHMENTS = 10


class AttachmentOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int = Field(description="Bytes.")
    sha256: str


class MessageOut(Schema):
    id: int
    case_id: int
    case_reference: str
    channel: ChannelRef
    direction: str = Field(description="in: from the customer; out: a reply to the customer.")
    author: str = Field(description="customer, agent or system.")
    author_user: UserRef | None = Field(description="The agent who wrote a reply.")
    sender_name: str
    subject: str
    body_text: str
    body_html: str = Field(description="Sanitised HTML as received, or empty.")
    external_id: str | None = Field(description="The provider's id of the message (e.g. the email's Message-ID).")
    delivery_status: str = Field(
        description="received (inbound); queued, retrying, sent, delivered or failed (outbound)."
    )
    delivery_error: str
    created_at: datetime
    sent_at: datetime | None
    attachments: list[AttachmentOut]
    raw: str | None = Field(None, description="The raw source, base64-encoded; only with ?include=raw.")

    @staticmethod
    def resolve_case_reference(obj: Message) -> str:
        return obj.case.reference

    @staticmethod
    def resolve_attachments(obj: Message) -> list[Any]:
        return list(obj.attachments.all())

    @staticmethod
    def resolve_raw(obj: Message, context: dict[str, Any]) -> str | None:
        request = context.get("request")
        if request is None or "raw" not in request.GET.getlist("include") or "raw" in obj.get_deferred_fields():
            return None
        return base64.b64encode(bytes(obj.raw or b"")).decode("ascii")


class MessagePage(PageMeta):
    items: list[MessageOut]


class MessageFilters(Schema):
    direction: Literal["in", "out"] | None = Field(None, description="in: from the customer; out: replies.")


class MessageGetParams(Schema):
    include: list[Literal["raw"]] = Field(
        default_factory=list, description="raw: add the raw source as received, base64-encoded."
    )


class AttachmentIn(Schema):
    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field("application/octet-stream", max_length=255)
    content_base64: str = Field(description="The file's content, base64-encoded.")

    @field_validator("content_base64")
    @classmethod
    def _decodable(cls, value: str) -> str:
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("not valid base64") from None
        return value

    def content(self) -> bytes:
        return base64.b64decode(self.content_base64)


class ReplyIn(Schema):
    body: str = Field(min_length=1, max_length=100_000, description="The reply's text, sent to the customer.")
    status_after: CaseStatus | None = Field(
        None, description="The case's status after the reply (e.g. pending, solved); by default new becomes open."
    )
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)


class HandleIn(Schema):
    kind: IdentityKind
    value: str = Field(min_length=1, max_length=320, description="An email address, a phone number or an id.")


class InboundIn(Schema):
    channel_id: ObjectId = Field(description="The channel the contact came in on.")
    handles: list[HandleIn] = Field(
        min_length=1, max_length=10, description="The sender's handles; the first one is the sender of this message."
    )
    sender_name: str = Field("", max_length=200)
    subject: str = Field("", max_length=300)
    body_text: str = Field("", max_length=1_000_000)
    body_html: str = Field("", max_length=1_000_000, description="Sanitised before it is stored.")
    external_id: str | None = Field(
        None,
        min_length=1,
        max_length=500,
        description="Your id of the message: sending the same id on the same channel again stores nothing new.",
    )
    case_reference: str = Field(
        "", max_length=40, description='Continue this case ("TSK-1042") when it belongs to the same customer.'
    )
    language: str = Field("", max_length=8)
    threading: Literal["new_case", "conversation"] = Field(
        "new_case", description="conversation: continue the customer's open case on this channel (chat, SMS)."
    )
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)


class InboundOut(Schema):
    duplicate: bool = Field(description="True when this external_id was received before; nothing new was stored.")
    case_created: bool
    case_id: int
    case_reference: str
    customer_id: int
    message: MessageOut


class DeliveryPatch(Schema):
    delivery_status: Literal["delivered", "failed"] = Field(description="What the external system reports.")
    error: str = Field("", max_length=2000, description="Why delivery failed.")


@router.get(
    "/cases/{case_ref}/messages",
    response={200: MessagePage, 404: ErrorOut, **AUTH_ERRORS},
    summary="List a case's messages",
)
def messages_list(
    request: HttpRequest, case_ref: CaseRef, filters: Query[MessageFilters], page: Query[PageIn]
) -> dict[str, Any]:
    """List the case's messages on every channel, oldest first, without their raw source."""
    user = require_case_reader(request)
    case = case_by_ref(user=user, ref=case_ref)
    return page_of(request, message_list_for_case(case=case, direction=filters.direction), page)


@router.post(
    "/cases/{case_ref}/messages",
    response={201: MessageOut, 400: ErrorOut, 404: ErrorOut, 409: ErrorOut, **AUTH_ERRORS},
    summary="Reply to the customer",
)
def messages_reply(request: HttpRequest, case_ref: CaseRef, data: ReplyIn) -> Status[Message]:
    """Queue a reply on the case's channel as the token's user; it is sent in the background.

    The message answers with delivery_status "queued"; it becomes "sent" (or "retrying", "failed").
    """
    user = require_perm(request, WORK_CASES, "work on cases")
    case = case_by_ref(user=user, ref=case_ref)
    files = [FileIn(item.filename, item.content_type, item.content()) for item in data.attachments]
    message = message_reply(case=case, actor=user, body=data.body, files=files, status_after=data.status_after)
    return Status(201, message_get(message_id=message.pk))


@router.get("/messages/{message_id}", response={200: MessageOut, 404: ErrorOut, **AUTH_ERRORS}, summary="Get a message")
def messages_get(
    request: HttpRequest,
    message_id: ObjectId,
    params: Query[MessageGetParams],
) -> Message:
    """Return one message with its attachments' metadata and delivery status."""
    user = require_case_reader(request)
    return message_get(message_id=message_id, with_raw="raw" in params.include, user=user)


@router.patch(
    "/messages/{message_id}",
    response={200: MessageOut, 404: ErrorOut, 409: ErrorOut, **AUTH_ERRORS},
    summary="Report an outbound message's delivery",
)
def messages_update(request: HttpRequest, message_id: ObjectId, data: DeliveryPatch) -> Message:
    """Record that a sent reply was delivered or failed, as an external system reports it.

    Inbound messages cannot be changed (409), nor replies not sent yet (409).
    """
    user = require_perm(request, WORK_CASES, "work on cases")
    message = message_get(message_id=message_id, user=user)
    message_delivery_report(message=message, status=data.delivery_status, actor=user, error=data.error)
    return message_get(message_id=message_id)


@router.post(
    "/inbound",
    response={200: InboundOut, 201: InboundOut, 400: ErrorOut, 404: ErrorOut, **AUTH_ERRORS},
    summary="Push an inbound contact",
)
def inbound_create(request: HttpRequest, data: InboundIn) -> Status[dict[str, Any]]:
    """Store a contact from another system through the inbound pipeline, exactly once per external_id.

    The sender is identified by their handles (a new customer when none is known) and the message lands
    on the right case. A new message answers 201; a repeated external_id answers 200 with duplicate true.
    """
    user = require_perm(request, WORK_CASES, "work on cases")
    channel = channel_ref_for(user=user, pk=data.channel_id)
    if not channel.active:
        raise ApiError(400, "channel_inactive", f"The channel {channel} is switched off; switch it on to receive.")
    receipt = message_receive(
        inbound=InboundMessage(
            channel=channel,
            handles=[Handle(handle.kind, handle.value) for handle in data.handles],
            body_text=data.body_text,
            external_id=data.external_id,
            sender_name=data.sender_name,
            subject=data.subject,
            body_html=data.body_html,
            attachments=[InboundAttachment(a.filename, a.content_type, a.content()) for a in data.attachments],
            language=data.language,
            case_reference=data.case_reference,
            threading=Threading(data.threading),
        )
    )
    body = {
        "duplicate": receipt.duplicate,
        "case_created": receipt.case_created,
        "case_id": receipt.case.pk,
        "case_reference": receipt.case.reference,
        "customer_id": receipt.case.customer_id,
        "message": message_get(message_id=receipt.message.pk),
    }
    return Status(200 if receipt.duplicate else 201, body)
