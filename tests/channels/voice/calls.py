"""What the voice tests share: the numbers and secrets, and how a telephony system calls Tiski's webhook —
Twilio (signed with the twilio SDK's algorithm) and the generic JSON format (HMAC-SHA256)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

from django.test import Client
from django.urls import reverse
from twilio.request_validator import RequestValidator

from tiski.channels.models import Channel
from tiski.channels.voice.adapter import generic_signature

TOKEN = "4f1c2b3a5d6e7f8091a2b3c4d5e6f708"
SECRET = "pbx-signing-secret"
CALLER = "+358401234567"
LINE = "+35891234567"
T0 = datetime(2026, 11, 20, 9, 0, 0, tzinfo=UTC)


def twilio_post(client: Client, channel: Channel, params: dict[str, str], *, query: str = "", token: str = TOKEN):
    """POST a Twilio voice status callback, signed as Twilio signs it (the twilio SDK computes the signature)."""
    path = reverse("channel-webhook", kwargs={"kind": "phone", "channel_id": channel.pk}) + (
        f"?{query}" if query else ""
    )
    signature = RequestValidator(token).compute_signature(f"http://testserver{path}", params)
    return client.post(
        path,
        data=urlencode(params),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature},
    )


def twilio_status(status: str, at: datetime, **extra: str) -> dict[str, str]:
    params = {
        "CallSid": "CA" + "1" * 32,
        "AccountSid": "AC" + "2" * 32,
        "From": CALLER,
        "To": "client:maija",
        "Direction": "inbound",
        "CallStatus": status,
        "Timestamp": format_datetime(at),
        "CallbackSource": "call-progress-events",
    }
    params.update(extra)
    return params


def pbx_post(client: Client, channel: Channel, payload: Any, *, secret: str = SECRET):
    body = json.dumps(payload).encode()
    return client.post(
        reverse("channel-webhook", kwargs={"kind": "phone", "channel_id": channel.pk}),
        data=body,
        content_type="application/json",
        headers={"X-Tiski-Signature": generic_signature(secret=secret, body=body)},
    )


def pbx_event(event: str, at: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "call_id": "pbx-4711",
        "event": event,
        "direction": "inbound",
        "from": "040 123 4567",
        "to": LINE,
        "agent": "maija",
        "queue": "Support",
        "at": at.isoformat(),
        **extra,
    }
