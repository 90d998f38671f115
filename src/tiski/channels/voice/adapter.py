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

Callbacks instead of waiting
    Generic: ``{"event": "queue_wait", "call_id": …, "from": …, "wait_s": 140}`` is answered with
    ``{"offer_callback": true}`` once the wait reaches the channel's ``callback_after_s`` (default 90), so the
    system can offer the caller a callback; ``{"event": "callback_requested", "call_id": …, "from": …,
    "reason": "keypress" | "congestion", "topic": …, "window_start": …, "window_end": …}`` records it.
    Twilio: set the ``<Enqueue>`` verb's ``waitUrl`` to ``/hooks/phone/<channel id>/?step=wait&queue=<name>``.
    Tiski answers with TwiML: a hold message, and from ``callback_after_s`` on a ``<Gather>`` offering "press 1
    to be called back", whose digit comes to ``?step=callback``: 1 records the request and ends the call with a
    confirmation; any other key puts the caller back into the queue.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from xml.sax.saxutils import escape

from django.conf import settings
from django.utils import translation
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
EVENTS = frozenset(
    {"ringing", "answered", "ended", "missed", "voicemail", "recording", "queue_wait", "callback_requested"}
)
CALLBACK_AFTER_S = 90  # a caller waiting this long is offered a callback (the channel's callback_after_s)
CALLBACK_KEY = "1"
TWIML = "application/xml"
ATTRIBUTE = {'"': "&quot;"}  # escape()'s extra entities inside an XML attribute
SAY_LANGUAGES = {"fi": "fi-FI", "en": "en-GB", "sv": "sv-SE"}

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
                "Replies on Phone cannot be sent from Tiski: a phone case is answered by calling. Add the "
                "customer's email address or mobile number to continue in writing, or add an internal note."
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
            step = request.query.get("step", "")
            if step == "wait":
                return _twilio_wait(channel, request)
            if step == "callback":
                return _twilio_keypress(channel, request)
            return WebhookBatch(calls=[_twilio_event(request)])
        try:
            body = json.loads(request.body)
        except ValueError as error:
            raise InboundInvalidError(f"The call event is not JSON: {error}") from None
        items = body.get("events") if isinstance(body, dict) and "events" in body else [body]
        if not isinstance(items, list) or not items:
            raise InboundInvalidError('Expected one call event object or {"events": [...]}.')
        events = [_generic_event(item) for item in items]
        waits = [event.wait_s or 0 for event in events if event.event == "queue_wait"]
        if not waits:
            return WebhookBatch(calls=events)
        offer = max(waits) >= callback_after_s(channel)
        return WebhookBatch(calls=events, answer=(json.dumps({"offer_callback": offer}), "application/json"))


def callback_after_s(channel: Channel) -> int:
    """Return the queue wait (seconds) from which CHANNEL's callers are offered a callback."""
    value = (channel.config or {}).get("callback_after_s", CALLBACK_AFTER_S)
    return int(value) if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else CALLBACK_AFTER_S


# --- Twilio's queue: offer a callback while the caller waits ------------------------------------------------


def _twilio_call(request: WebhookRequest, event: str, **fields: Any) -> CallEvent:
    form = form_params(request)
    sid = form.value("CallSid")
    if not sid:
        raise InboundInvalidError("Twilio's request has no CallSid.")
    return CallEvent(
        call_id=sid,
        event=event,
        number=_customer_side(form.value("From")),
        line=_customer_side(form.value("To")),
        queue=request.query.get("queue", ""),
        **fields,
    )


def _twilio_wait(channel: Channel, request: WebhookRequest) -> WebhookBatch:
    """Answer <Enqueue>'s waitUrl: hold on, and once the wait is long, offer to call back (press 1)."""
    waited = form_params(request).value("QueueTime")
    wait_s = int(waited) if waited.isdigit() else 0
    event = _twilio_call(request, "queue_wait", wait_s=wait_s)
    with _company_language(channel) as say:
        hold = _("Thank you for waiting. All our agents are busy; you will be answered as soon as possible.")
        if wait_s >= callback_after_s(channel):
            offer = _("To be called back at this number instead of waiting, press 1.")
            action = _with_query(request.url, step="callback")
            twiml = (
                f'<Gather numDigits="1" timeout="8" action="{escape(action, ATTRIBUTE)}" method="POST">'
                f'{say(offer)}</Gather>{say(hold)}<Pause length="10"/>'
            )
        else:
            twiml = f'{say(hold)}<Pause length="20"/>'
    return WebhookBatch(calls=[event], answer=(_twiml(twiml), TWIML))


def _twilio_keypress(channel: Channel, request: WebhookRequest) -> WebhookBatch:
    """Answer the <Gather> of the wait: 1 asks for a callback and ends the call; other keys go back to waiting."""
    digits = form_params(request).value("Digits")
    with _company_language(channel) as say:
        if digits != CALLBACK_KEY:
            wait_url = _with_query(request.url, step="wait")
            queue = escape(request.query.get("queue", "") or "support")
            twiml = f'{say(_("Back to the queue."))}<Enqueue waitUrl="{escape(wait_url, ATTRIBUTE)}">{queue}</Enqueue>'
            return WebhookBatch(answer=(_twiml(twiml), TWIML))
        event = _twilio_call(request, "callback_requested", reason="keypress")
        thanks = _("Thank you. We will call you back at this number as soon as an agent is free. Goodbye.")
        return WebhookBatch(calls=[event], answer=(_twiml(f"{say(thanks)}<Hangup/>"), TWIML))


def _twiml(verbs: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?><Response>{verbs}</Response>'


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True)) | params
    return urlunsplit(parts._replace(query=urlencode(query)))


@contextmanager
def _company_language(channel: Channel) -> Iterator[Callable[[str], str]]:
    """Speak in the channel's language (its ``language`` setting, else the company's): yield <Say>'s maker."""
    language = str((channel.config or {}).get("language") or settings.LANGUAGE_CODE)[:2]
    voice = SAY_LANGUAGES.get(language, "en-GB")
    with translation.override(language):
        yield lambda text: f'<Say language="{voice}">{escape(text)}</Say>'


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
    at = _time(item, "at")
    talk = item.get("talk_s")
    if talk is not None and (not isinstance(talk, int) or isinstance(talk, bool) or talk < 0):
        raise InboundInvalidError("talk_s must be a whole number of seconds.")
    caller, called = str(item.get("from") or ""), str(item.get("to") or "")
    wait = item.get("wait_s")
    if wait is not None and (not isinstance(wait, int) or isinstance(wait, bool) or wait < 0):
        raise InboundInvalidError("wait_s must be a whole number of seconds.")
    reason = str(item.get("reason") or "keypress")
    if event == "callback_requested" and reason not in ("keypress", "congestion"):
        raise InboundInvalidError(f"reason must be keypress or congestion; got {reason[:40]!r}.")
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
        wait_s=wait,
        reason=reason,
        topic=str(item.get("topic") or "")[:300],
        window_start=_time(item, "window_start"),
        window_end=_time(item, "window_end"),
    )


def _time(item: dict[str, Any], key: str) -> datetime | None:
    if not item.get(key):
        return None
    moment = parse_datetime(str(item[key]))
    if moment is None or moment.tzinfo is None:
        raise InboundInvalidError(f"{key} must be an ISO 8601 time with its offset; got {str(item[key])[:40]!r}.")
    return moment
