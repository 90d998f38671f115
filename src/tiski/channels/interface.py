"""The provider-neutral contract between the pipeline and channel adapters."""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from tiski.channels.models import Channel, ChannelKind
from tiski.customers.services import Handle


class Threading(enum.Enum):
    """How an inbound message without an explicit reference finds its case."""

    NEW_CASE = "new_case"  # every contact is a new topic (web form, new email)
    CONVERSATION = "conversation"  # continue the customer's open case on this channel (chat, SMS)


@dataclass(frozen=True)
class InboundAttachment:
    filename: str
    content_type: str
    content: bytes
    content_id: str = ""


@dataclass(frozen=True)
class InboundMessage:
    """One contact as an adapter parsed it, before the pipeline identifies, threads and stores it."""

    channel: Channel
    handles: Sequence[Handle]
    body_text: str
    external_id: str | None = None
    sender_name: str = ""
    subject: str = ""
    body_html: str = ""  # as received; the pipeline sanitises it
    attachments: Sequence[InboundAttachment] = ()
    raw: bytes = b""
    language: str = ""
    category_id: int | None = None
    case_reference: str = ""  # reference tokens found in the contact, e.g. "TSK-1042" (several: space-separated)
    in_reply_to: Sequence[str] = ()  # external ids of earlier messages this one answers
    threading: Threading = Threading.NEW_CASE
    full_text: str = ""  # the whole text when body_text holds only the visible reply
    auto_submitted: bool = False  # an auto-reply or bulk message: stored, never answered automatically
    reopen_within: timedelta | None = None  # a solved case older than this is not reopened: a new one is opened


@dataclass(frozen=True)
class OutboundAttachment:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class OutboundMessage:
    """One reply for an adapter to send."""

    message_id: int
    channel: Channel
    case_reference: str
    subject: str
    body_text: str
    recipients: Sequence[str]
    sender_name: str = ""
    language: str = ""
    in_reply_to: Sequence[str] = ()
    attachments: Sequence[OutboundAttachment] = field(default_factory=tuple)
    automatic: bool = False  # sent by Tiski itself (an acknowledgement): marked so autoresponders stay quiet
    body_html: str = ""  # Tiski's own formatted text (a survey's score buttons), sanitised; else the text is shown


@dataclass(frozen=True)
class DeliveryResult:
    external_id: str


class ChannelAdapter(ABC):
    """What every channel provides: sending a reply. Inbound parsing differs too much to share."""

    kind: ClassVar[ChannelKind]
    recipient_kinds: ClassVar[tuple[str, ...]]  # identity kinds a reply can be addressed to
    reply_window: ClassVar[timedelta | None] = None
    deliver_inline: ClassVar[bool] = False  # a live channel (chat): attempt delivery right after the reply commits

    def reply_check(self, *, case: Any) -> None:
        """Raise CaseReplyError saying why a reply to CASE cannot be sent now (e.g. WhatsApp's 24-hour window);
        by default every reply may be sent."""
        return

    @abstractmethod
    def send(self, *, message: OutboundMessage) -> DeliveryResult:
        """Send MESSAGE and return the provider's id; raise DeliveryError to have it retried."""


@dataclass(frozen=True)
class WebhookRequest:
    """A provider's call to /hooks/<kind>/<channel id>/, as the adapter needs it to verify and parse it."""

    method: str
    url: str  # the full URL the provider called (scheme, host, path and query), as the provider signs it
    headers: Mapping[str, str]  # names lower-cased
    query: Mapping[str, str]
    body: bytes
    form: Mapping[str, str] = field(default_factory=dict)  # a form-encoded body, decoded (Twilio)


@dataclass(frozen=True)
class StatusUpdate:
    """A provider's report on an outbound message it took: sent, delivered, read or failed."""

    external_id: str
    status: str  # a cases.Message.Delivery value
    error: str = ""
    reference: str = ""  # the reply's key echoed by the provider (channels.outbox.outbound_reference), if any


@dataclass(frozen=True)
class CallEvent:
    """A telephony system's report on one call: it rings, is answered, ends, is missed, or has a recording."""

    call_id: str
    event: str  # ringing | answered | ended | missed | voicemail | recording | queue_wait | callback_requested
    direction: str = "inbound"  # inbound | outbound
    number: str = ""  # the customer's number (the caller's on an inbound call, the called one's outbound)
    line: str = ""  # our number or line the call came in on or went out from
    agent: str = ""  # the agent the call is connected to: username or email
    queue: str = ""
    at: datetime | None = None  # when it happened, by the telephony system's clock (now when not given)
    talk_s: int | None = None
    recording_url: str = ""
    outcome: str = ""  # the provider's own word (busy, no-answer, abandoned …)
    wait_s: int | None = None  # queue_wait: how long the caller has waited in the queue
    reason: str = ""  # callback_requested: congestion (the system turned the wait into a callback) or keypress
    topic: str = ""  # callback_requested: what the caller chose or said it is about
    window_start: datetime | None = None  # callback_requested: call back from …
    window_end: datetime | None = None  # … until


@dataclass(frozen=True)
class WebhookBatch:
    """What one verified webhook call carries: inbound messages, delivery reports and call events."""

    messages: Sequence[InboundMessage] = ()
    statuses: Sequence[StatusUpdate] = ()
    calls: Sequence[CallEvent] = ()
    answer: tuple[str, str] | None = None  # (body, content type) for the provider, instead of acknowledgement()


class WebhookAdapter(ChannelAdapter):
    """A channel whose provider calls us: verify the call, then parse it into inbound messages and statuses.

    The one view in tiski.channels.webhooks calls these; adding a provider adds an adapter, not a view.
    """

    def handshake(self, *, channel: Channel, request: WebhookRequest) -> str | None:
        """Answer a provider's GET (a subscription check such as Meta's hub.challenge): the text to return,
        or None to refuse it with 403. By default every GET is refused."""
        return None

    @abstractmethod
    def verify(self, *, channel: Channel, request: WebhookRequest) -> bool:
        """Return whether the request carries the provider's valid signature for CHANNEL."""

    @abstractmethod
    def parse(self, *, channel: Channel, request: WebhookRequest) -> WebhookBatch:
        """Return what a verified request carries; raise InboundInvalidError when it cannot be read."""

    def acknowledgement(self) -> tuple[str, str]:
        """Return the body and content type the provider expects back after a call was taken."""
        return "", "text/plain"


_ADAPTERS: dict[ChannelKind, ChannelAdapter] = {}


def adapter_register(adapter: type[ChannelAdapter]) -> type[ChannelAdapter]:
    """Register ADAPTER for its kind (a class decorator)."""
    if adapter.kind in _ADAPTERS:
        raise ValueError(f"an adapter for {adapter.kind} is registered already")
    _ADAPTERS[adapter.kind] = adapter()
    return adapter


def adapter_for(kind: str) -> ChannelAdapter:
    """Return the adapter of channel KIND; raise ChannelKindUnknownError when there is none."""
    from tiski.channels.exceptions import ChannelKindUnknownError

    try:
        return _ADAPTERS[ChannelKind(kind)]
    except (KeyError, ValueError):
        raise ChannelKindUnknownError(f"no adapter handles channel kind {kind!r}") from None
