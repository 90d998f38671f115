"""The phone channel's webhook: call events from Twilio Voice or from any telephony system in the generic format.

A phone channel's settings say which (``"provider": "twilio"`` or ``"generic"``):

Twilio Voice
    Point the number's (or TwiML app's) *status callback* at ``/hooks/phone/<channel id>/`` with the events
    initiated, ringing, answered and completed, and the recording status callback at the same URL. The call is
    signed with X-Twilio-Signature (checked with the twilio SDK's validator and the channel's ``auth_token``).
    The agent the call is connected to is the ``client:<username>`` the call was dialled to, or ``?agent=`` in
    the callback URL (Twilio signs the query too); ``?queue=`` names the queue.

Generic JSON (contact-centre platforms, PBXs, CTI connectors)
    ``POST`` one event, or ``{"events": [...]}``, as JSON::

        {"call_id": "pbx-4711", "event": "ringing", "direction": "inbound",
         "from": "+358401234567", "to": "+35891234567", "agent": "maija", "queue": "Support",
         "at": "2026-11-22T10:00:00+02:00", "talk_s": 312, "recording_url": "https://…", "outcome": "busy"}

    ``event`` is one of ringing, answered, ended, missed, voicemail, recording; ``at`` defaults to the time of
    arrival. Signed with ``X-Tiski-Signature: sha256=<hex HMAC-SHA256 of the raw body>`` and the channel's
    ``signing_secret``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from tiski.cases.exceptions import CaseReplyError
from tiski.cases.models import Case
from tiski.channels.exceptions import ChannelConfigError, DeliveryPermanentError, InboundInvalidError
from tiski.channels.interface import (
    CallEvent,
    DeliveryResult,
    OutboundMessage,
    WebhookAdapter,
    WebhookBatch,
    WebhookRequest,
    adapter_register,
)
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.secrets import channel_secret
from tiski.channels.sms.adapter import FormParams, form_params, twilio_signed
from tiski.customers.models import Identity

PROVIDERS = ("twilio", "generic")
EVENTS = frozenset({"ringing", "answered", "ended", "missed", "voicemail", "recording"})

# Twilio's CallStatus → our event; busy, no-answer, canceled and failed are calls nobody took.
TWILIO_STATUS = {
    "queued": "ringing",
    "initiated": "ringing",
    "ringing": "ringing",
    "in-progress": "answered",
    "completed": "ended",
    "busy": "missed",
    "no-answer": "missed",
    "canceled": "missed",
    "failed": "missed",
}


def provider(channel: Channel) -> str:
    name = str((channel.config or {}).get("provider") or "")
    if name not in PROVIDERS:
        raise ChannelConfigError(
            f'Phone channel "{channel}" needs "provider": one of {", ".join(PROVIDERS)} in its settings.'
        )
    return name


def generic_signature(*, secret: str, body: bytes) -> str:
    """Return the X-Tiski-Signature header value for BODY (what a telephony system computes to call us)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@adapter_register
class VoiceAdapter(WebhookAdapter):
    kind = ChannelKind.PHONE
    recipient_kinds = (Identity.Kind.PHONE,)

    def reply_check(self, *, case: Case) -> None:
        raise CaseReplyError(
            _(
                "Replies on Phone cannot be sent from Tiski: a phone case is answered by calling. Reply on a "
                "channel the customer wrote on, or add an internal note."
            )
        )

    def send(self, *, message: OutboundMessage) -> DeliveryResult:
        raise DeliveryPermanentError("A phone channel sends no messages.")

    # --- inbound --------------------------------------------------------------------------------------------

    def verify(self, *, channel: Channel, request: WebhookRequest) -> bool:
        if request.method != "POST":
            return False
        if provider(channel) == "twilio":
            return twilio_signed(channel=channel, request=request)
        secret = channel_secret(channel, "signing_secret")
        given = request.headers.get("x-tiski-signature", "")
        return bool(given) and hmac.compare_digest(given, generic_signature(secret=secret, body=request.body))

    def parse(self, *, channel: Channel, request: WebhookRequest) -> WebhookBatch:
        if provider(channel) == "twilio":
            return WebhookBatch(calls=[_twilio_event(request)])
        try:
            body = json.loads(request.body)
        except ValueError as error:
            raise InboundInvalidError(f"The call event is not JSON: {error}") from None
        items = body.get("events") if isinstance(body, dict) and "events" in body else [body]
        if not isinstance(items, list) or not items:
            raise InboundInvalidError('Expected one call event object or {"events": [...]}.')
        return WebhookBatch(calls=[_generic_event(item) for item in items])


def _twilio_event(request: WebhookRequest) -> CallEvent:
    form: FormParams = form_params(request)
    sid = form.value("CallSid")
    if not sid:
        raise InboundInvalidError("Twilio's call event has no CallSid.")
    outbound = form.value("Direction").startswith("outbound")
    caller, called = form.value("From"), form.value("To")
    agent = request.query.get("agent", "")
    for address in (called, caller):
        if address.startswith("client:"):
            agent = agent or address.removeprefix("client:")
    if form.value("RecordingUrl") and form.value("RecordingStatus") in ("", "completed"):
        event, outcome = "recording", ""
    else:
        status = form.value("CallStatus").lower()
        event = TWILIO_STATUS.get(status, "")
        if not event:
            raise InboundInvalidError(f"Unknown Twilio CallStatus {status!r}.")
        outcome = status if event == "missed" else ""
    duration = form.value("CallDuration")
    return CallEvent(
        call_id=sid,
        event=event,
        direction="outbound" if outbound else "inbound",
        number=_customer_side(called if outbound else caller),
        line=_customer_side(caller if outbound else called),
        agent=agent,
        queue=request.query.get("queue", ""),
        at=_rfc2822(form.value("Timestamp")),
        talk_s=int(duration) if duration.isdigit() else None,
        recording_url=form.value("RecordingUrl"),
        outcome=outcome,
    )


def _customer_side(address: str) -> str:
    return "" if address.startswith(("client:", "sip:")) else address


def _rfc2822(value: str) -> datetime | None:
    try:
        return parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None


def _generic_event(item: Any) -> CallEvent:
    if not isinstance(item, dict):
        raise InboundInvalidError("A call event is a JSON object.")
    call_id, event = str(item.get("call_id") or "").strip(), str(item.get("event") or "").strip().lower()
    if not call_id or len(call_id) > 128:
        raise InboundInvalidError("A call event needs a call_id (at most 128 characters).")
    if event not in EVENTS:
        raise InboundInvalidError(f"event must be one of {', '.join(sorted(EVENTS))}; got {event[:40]!r}.")
    direction = str(item.get("direction") or "inbound").lower()
    if direction not in ("inbound", "outbound"):
        raise InboundInvalidError(f"direction must be inbound or outbound; got {direction[:40]!r}.")
    at = None
    if item.get("at"):
        at = parse_datetime(str(item["at"]))
        if at is None or at.tzinfo is None:
            raise InboundInvalidError(f"at must be an ISO 8601 time with its offset; got {str(item['at'])[:40]!r}.")
    talk = item.get("talk_s")
    if talk is not None and (not isinstance(talk, int) or isinstance(talk, bool) or talk < 0):
        raise InboundInvalidError("talk_s must be a whole number of seconds.")
    caller, called = str(item.get("from") or ""), str(item.get("to") or "")
    return CallEvent(
        call_id=call_id,
        event=event,
        direction=direction,
        number=(called if direction == "outbound" else caller)[:64],
        line=(caller if direction == "outbound" else called)[:64],
        agent=str(item.get("agent") or "")[:150],
        queue=str(item.get("queue") or "")[:100],
        at=at,
        talk_s=talk,
        recording_url=str(item.get("recording_url") or "")[:500],
        outcome=str(item.get("outcome") or "")[:32],
    )
