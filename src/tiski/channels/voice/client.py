"""Placing an outbound call through the telephony system (click-to-call from a case).

Twilio: the Calls resource of its REST API (httpx, as for SMS: tiski.channels.sms.client explains why not the
SDK's REST client). Twilio calls the customer and, when they answer, connects them to the agent's Twilio
Client (``client:<username>``); the call's status callbacks come to the channel's webhook and log it.

Generic: Tiski POSTs ``{"call_id", "to", "from", "agent", "case"}`` as JSON to the channel's ``dial_url``,
signed like the events (``X-Tiski-Signature: sha256=…`` with the channel's signing secret). The telephony
system places the call and reports its events with that call_id.
"""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlencode
from xml.sax.saxutils import escape

import httpx

from tiski.channels.models import Channel
from tiski.channels.secrets import channel_secret, channel_setting
from tiski.channels.sms.adapter import status_callback_url
from tiski.channels.sms.client import TIMEOUT, _error_from, api_url

DIAL_ERRORS = {21211: "The number is not a valid phone number.", 21212: "The channel has no number to call from."}


class DialError(Exception):
    """The telephony system did not take the call; the message says why, for the agent."""


def dial(*, channel: Channel, number: str, agent_username: str, case_reference: str) -> str:
    """Ask CHANNEL's telephony system to call NUMBER for the agent; return the call's id there."""
    provider = (channel.config or {}).get("provider")
    if provider == "twilio":
        return _twilio_dial(channel=channel, number=number, agent_username=agent_username)
    return _generic_dial(channel=channel, number=number, agent_username=agent_username, case_reference=case_reference)


def _twilio_dial(*, channel: Channel, number: str, agent_username: str) -> str:
    account, token = channel_setting(channel, "account_sid"), channel_secret(channel, "auth_token")
    callback = _callback_url(channel, agent_username)
    params: list[tuple[str, str]] = [
        ("To", number),
        ("From", str((channel.config or {}).get("from_number") or channel.address)),
        ("Twiml", f"<Response><Dial><Client>{escape(agent_username)}</Client></Dial></Response>"),
    ]
    if callback:
        params.append(("StatusCallback", callback))
        params += [("StatusCallbackEvent", event) for event in ("initiated", "ringing", "answered", "completed")]
    url = f"{api_url()}/2010-04-01/Accounts/{account}/Calls.json"
    try:
        response = httpx.post(
            url,
            content=urlencode(params),
            auth=(account, token),
            timeout=TIMEOUT,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    except httpx.HTTPError as exc:
        raise DialError(f"Twilio could not be reached ({type(exc).__name__}); try again.") from exc
    if response.status_code in (200, 201):
        try:
            sid = response.json().get("sid")
        except (ValueError, AttributeError):
            sid = None
        if isinstance(sid, str) and sid:
            return sid
        raise DialError(f"Twilio answered {response.status_code} without a call SID.")
    error = _error_from(response)
    explanation = DIAL_ERRORS.get(error.code or 0, "")
    parts = ("Twilio did not place the call.", explanation, f"({error.describe()})")
    raise DialError(" ".join(part for part in parts if part))


def _callback_url(channel: Channel, agent_username: str) -> str:
    """The channel's webhook with the agent named (Twilio signs the query as well), or "" without a public URL."""
    base = status_callback_url(channel)  # the channel's public_url, else TISKI_WEBHOOK_BASE_URL
    return f"{base}?{urlencode({'agent': agent_username})}" if base else ""


def _generic_dial(*, channel: Channel, number: str, agent_username: str, case_reference: str) -> str:
    from tiski.channels.voice.adapter import generic_signature

    url = channel_setting(channel, "dial_url")
    secret = channel_secret(channel, "signing_secret")
    call_id = f"tiski-{uuid.uuid4().hex}"
    body = json.dumps(
        {"call_id": call_id, "to": number, "from": channel.address, "agent": agent_username, "case": case_reference}
    ).encode()
    headers = {"Content-Type": "application/json", "X-Tiski-Signature": generic_signature(secret=secret, body=body)}
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        raise DialError(f"The telephony system could not be reached ({type(exc).__name__}); try again.") from exc
    if response.status_code >= 300:
        answer = f"HTTP {response.status_code}: {response.text[:200]}"
        raise DialError(f"The telephony system did not place the call ({answer}).")
    return call_id
