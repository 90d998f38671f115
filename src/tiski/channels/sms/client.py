"""Twilio's REST API as the SMS channel uses it: create a message, download inbound media.

httpx rather than the twilio SDK's REST client: the SDK builds every URL from per-domain base URLs fixed in
its generated code (https://api.twilio.com), so pointing it at TISKI_TWILIO_API_URL (a local simulator, a
regional edge, a proxy) would mean rewriting URLs inside a custom HttpClient. The two calls used here are
small, documented, and their errors are mapped to the outbox's DeliveryError / DeliveryPermanentError
below. The SDK is used where it matters most: its RequestValidator checks webhook signatures.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from tiski.channels.exceptions import DeliveryError, DeliveryPermanentError

TIMEOUT = httpx.Timeout(15.0, connect=5.0)
MAX_BODY = 1600  # characters Twilio takes in one message's Body (error 21617 beyond)

# What the common refusals mean for an agent: Twilio's own message is terse.
EXPLANATIONS: dict[int, str] = {
    20003: "Twilio refused the account SID and auth token: check the channel's account_sid and its auth token.",
    21211: "The customer's number is not a valid phone number for SMS.",
    21408: "Sending SMS to this country is not enabled in the Twilio account (Messaging geographic permissions).",
    21602: "The message is empty.",
    21603: "The channel has no sending number: set from_number or messaging_service_sid in its settings.",
    21604: "The customer has no phone number to send to.",
    21606: "The channel's number cannot send SMS (not an SMS-capable number of this Twilio account).",
    21610: "The customer has unsubscribed from this number (replied STOP); they must text START to receive messages.",
    21612: "Twilio cannot route SMS between the channel's number and the customer's number.",
    21614: "The customer's number is not a mobile number that can receive SMS.",
    21617: "The reply is longer than 1,600 characters, the most one SMS conversation message can carry.",
    30003: "Unreachable destination handset: the phone is off or out of coverage.",
    30004: "Message blocked: the recipient or their carrier blocks it.",
    30005: "Unknown destination handset: the number does not exist.",
    30006: "Landline or unreachable carrier: the number cannot receive SMS.",
    30007: "The carrier filtered the message as spam.",
    30008: "Unknown error from the carrier.",
}


@dataclass(frozen=True)
class TwilioError:
    """An error answer of Twilio's REST API ({"code", "message", "more_info", "status"})."""

    status: int
    code: int | None
    message: str
    more_info: str

    def describe(self) -> str:
        """Return the error for an agent: what it means, then Twilio's code, message and documentation link."""
        explanation = EXPLANATIONS.get(self.code or 0, "")
        code = f"Twilio error {self.code}" if self.code else f"Twilio answered HTTP {self.status}"
        parts = [explanation, f"({code}: {self.message})" if self.message else f"({code})", self.more_info]
        return " ".join(part for part in parts if part)


def error_describe(code: str | int | None, message: str = "") -> str:
    """Return a delivery report's error code (and Twilio's message, if any) for an agent."""
    try:
        number = int(code) if code not in (None, "") else None
    except (TypeError, ValueError):
        number = None
    if number is None:
        return message
    more = f"https://www.twilio.com/docs/errors/{number}"
    return TwilioError(status=0, code=number, message=message, more_info=more).describe()


def api_url() -> str:
    """Return the base URL of Twilio's REST API (TISKI_TWILIO_API_URL, https://api.twilio.com by default)."""
    return str(settings.TISKI_TWILIO_API_URL).rstrip("/")


def _error_from(response: httpx.Response) -> TwilioError:
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        data = None
    if not isinstance(data, dict):
        return TwilioError(response.status_code, None, response.text[:200].strip(), "")
    code = data.get("code")
    return TwilioError(
        status=response.status_code,
        code=code if isinstance(code, int) else None,
        message=str(data.get("message") or data.get("detail") or ""),
        more_info=str(data.get("more_info") or ""),
    )


def twilio_message_create(*, account_sid: str, auth_token: str, params: Mapping[str, str]) -> str:
    """Create an outbound message with Twilio's Messages resource and return its SID (SM…).

    Raise DeliveryPermanentError when Twilio refuses it for good (a 4xx: invalid number, unsubscribed
    recipient, region not enabled, wrong credentials) and DeliveryError when it may work later (429, 5xx,
    no connection).
    """
    url = f"{api_url()}/2010-04-01/Accounts/{account_sid}/Messages.json"
    try:
        response = httpx.post(url, data=dict(params), auth=(account_sid, auth_token), timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"Twilio could not be reached ({type(exc).__name__}: {exc}); the SMS is retried.") from exc
    if response.status_code in (200, 201):
        try:
            sid = response.json().get("sid")
        except (json.JSONDecodeError, ValueError, AttributeError):
            sid = None
        if not isinstance(sid, str) or not sid:
            raise DeliveryError(f"Twilio answered {response.status_code} without a message SID; the SMS is retried.")
        return sid
    error = _error_from(response)
    if response.status_code == 401:
        raise DeliveryPermanentError(
            "Twilio refused the channel's credentials: check account_sid in the channel's settings and the auth "
            f"token in its environment variable. ({error.describe()})"
        )
    if response.status_code == 429 or response.status_code >= 500:
        raise DeliveryError(f"Twilio is busy or failing; the SMS is retried. ({error.describe()})")
    raise DeliveryPermanentError(f"Twilio refused the SMS. {error.describe()}")


class MediaDownloadError(Exception):
    """Inbound media could not be fetched; the message says why."""


def twilio_media_download(*, url: str, account_sid: str, auth_token: str, max_bytes: int) -> tuple[str, bytes]:
    """Download the media at URL and return (content type, bytes); raise MediaDownloadError.

    The account's credentials go only to Twilio's own API host (media URLs are
    https://api.twilio.com/2010-04-01/Accounts/…/Media/…, which may require HTTP basic auth); redirects
    (Twilio serves the file from a storage host) drop them.
    """
    ours = urlsplit(api_url())
    target = urlsplit(url)
    trusted = (target.scheme, target.netloc) == (ours.scheme, ours.netloc) or target.hostname in (
        "api.twilio.com",
        "media.twiliocdn.com",
    )
    auth = (account_sid, auth_token) if trusted else None
    try:
        with httpx.stream("GET", url, auth=auth, timeout=TIMEOUT, follow_redirects=True) as response:
            if response.status_code != 200:
                raise MediaDownloadError(f"HTTP {response.status_code}")
            content = bytearray()
            for chunk in response.iter_bytes():
                content.extend(chunk)
                if len(content) > max_bytes:
                    raise MediaDownloadError(f"larger than {max_bytes // (1024 * 1024)} MB")
            content_type = response.headers.get("content-type", "").split(";")[0].strip()
    except httpx.HTTPError as exc:
        raise MediaDownloadError(f"{type(exc).__name__}: {exc}") from exc
    return content_type, bytes(content)
