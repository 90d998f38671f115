"""Meta's Graph API as the adapters use it: the signature rule, REST calls, errors, media downloads.

The base URL is settings.TISKI_META_GRAPH_URL (https://graph.facebook.com/v21.0); tests and `tiski demo`
point it at the local simulator (tiski.simulators.meta).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings

from tiski.channels.exceptions import DeliveryError, DeliveryPermanentError

TIMEOUT = httpx.Timeout(20.0, connect=10.0)
MEDIA_MAX_BYTES = 100 * 1024 * 1024  # WhatsApp documents may be up to 100 MB

# Meta's error codes that name the problem better than its message does.
TOKEN_INVALID = 190
REENGAGEMENT = 131047  # WhatsApp: more than 24 hours since the customer last wrote
THROTTLED = frozenset({4, 17, 32, 613, 80007, 130429, 131048, 131056})  # rate limits: retry later
TRANSIENT = frozenset({1, 2, 131000, 131016})  # "unknown"/"service unavailable": retry later


def graph_url(path: str) -> str:
    """Return the Graph API URL of PATH under settings.TISKI_META_GRAPH_URL."""
    return f"{settings.TISKI_META_GRAPH_URL.rstrip('/')}/{path.lstrip('/')}"


def signature_sha256(secret: str, body: bytes) -> str:
    """Return the X-Hub-Signature-256 value Meta sends for BODY: "sha256=" + hex HMAC-SHA256(app secret, body)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_sha1(secret: str, body: bytes) -> str:
    """Return the legacy X-Hub-Signature value: "sha1=" + hex HMAC-SHA1(app secret, body)."""
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def signature_valid(*, secret: str, body: bytes, sha256: str = "", sha1: str = "") -> bool:
    """Return whether the X-Hub-Signature-256 (or, only when that is absent, the legacy X-Hub-Signature)
    header value is Meta's signature of the raw BODY with SECRET; compared in constant time."""
    if sha256:
        return hmac.compare_digest(sha256.strip().lower().encode(), signature_sha256(secret, body).encode())
    if sha1:
        return hmac.compare_digest(sha1.strip().lower().encode(), signature_sha1(secret, body).encode())
    return False


@dataclass(frozen=True)
class GraphError:
    status: int
    code: int | None
    subcode: int | None
    message: str
    details: str


def graph_error(response: httpx.Response) -> GraphError:
    """Return the error Meta documents in RESPONSE's JSON body (error.code, error.message, error_data.details)."""
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    if not isinstance(error, dict):
        error = {}
    data = error.get("error_data") or {}
    details = data.get("details", "") if isinstance(data, dict) else str(data)
    code = error.get("code")
    subcode = error.get("error_subcode")
    return GraphError(
        status=response.status_code,
        code=code if isinstance(code, int) else None,
        subcode=subcode if isinstance(subcode, int) else None,
        message=str(error.get("message") or response.reason_phrase or "no error message"),
        details=str(details or ""),
    )


def error_text(error: GraphError, *, provider: str) -> str:
    """Return a clear sentence for an agent about ERROR."""
    if error.code == REENGAGEMENT:
        return (
            f"{provider} refused the message (error {REENGAGEMENT}): more than 24 hours have passed since the "
            "customer last wrote, so only an approved template can be sent."
        )
    if error.code == TOKEN_INVALID:
        return (
            f"{provider} refused the access token (error {TOKEN_INVALID}: {error.message}): the channel's access "
            "token is invalid or expired; set a new one in the environment variable its settings name."
        )
    text = f"{provider} refused the message (HTTP {error.status}, error {error.code}): {error.message}"
    return f"{text} — {error.details}" if error.details else text


def graph_post(*, path: str, token: str, payload: dict[str, Any], provider: str) -> dict[str, Any]:
    """POST PAYLOAD as JSON to the Graph API with TOKEN; return the JSON answer.

    Raise DeliveryPermanentError for a refusal that a retry cannot fix (4xx, an invalid token, the closed
    24-hour window) and DeliveryError (retried) for rate limits, server errors and network failures.
    """
    try:
        response = httpx.post(
            graph_url(path),
            content=json.dumps(payload).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=TIMEOUT,
        )
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{provider} could not be reached: {exc}") from exc
    return _answer(response, provider=provider)


def graph_upload(
    *, path: str, token: str, filename: str, content_type: str, content: bytes, provider: str
) -> dict[str, Any]:
    """Upload a file as multipart/form-data (WhatsApp's POST /{phone-number-id}/media); return the JSON answer.

    Errors are raised as graph_post() raises them.
    """
    try:
        response = httpx.post(
            graph_url(path),
            data={"messaging_product": "whatsapp", "type": content_type},
            files={"file": (filename, content, content_type)},
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT,
        )
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{provider} could not be reached: {exc}") from exc
    return _answer(response, provider=provider)


def _answer(response: httpx.Response, *, provider: str) -> dict[str, Any]:
    if response.status_code < 300:
        try:
            answer = response.json()
        except ValueError as exc:
            raise DeliveryError(f"{provider} answered with something other than JSON: {response.text[:200]}") from exc
        return answer if isinstance(answer, dict) else {}
    error = graph_error(response)
    text = error_text(error, provider=provider)
    if response.status_code == 429 or response.status_code >= 500 or error.code in THROTTLED | TRANSIENT:
        raise DeliveryError(text)
    raise DeliveryPermanentError(text)


class MediaError(Exception):
    """A media file named in a webhook could not be fetched."""


def graph_get_json(*, path: str, token: str, params: dict[str, str] | None = None) -> dict[str, Any]:
    """GET a Graph API object with TOKEN and return its JSON; raise MediaError when that fails."""
    try:
        response = httpx.get(
            graph_url(path), params=params, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT
        )
    except httpx.HTTPError as exc:
        raise MediaError(f"the Graph API could not be reached: {exc}") from exc
    if response.status_code >= 300:
        error = graph_error(response)
        raise MediaError(f"the Graph API refused (HTTP {error.status}, error {error.code}): {error.message}")
    try:
        answer = response.json()
    except ValueError as exc:
        raise MediaError("the Graph API answered with something other than JSON") from exc
    return answer if isinstance(answer, dict) else {}


def download(url: str, *, token: str | None = None) -> tuple[bytes, str]:
    """Download URL (with TOKEN as Bearer when given) and return its bytes and content type, at most
    MEDIA_MAX_BYTES; raise MediaError when that fails."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with httpx.stream("GET", url, headers=headers, timeout=TIMEOUT, follow_redirects=True) as response:
            if response.status_code >= 300:
                raise MediaError(f"downloading the file failed with HTTP {response.status_code}")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MEDIA_MAX_BYTES:
                    raise MediaError(f"the file is larger than {MEDIA_MAX_BYTES // (1024 * 1024)} MB")
                chunks.append(chunk)
            content_type = response.headers.get("content-type", "application/octet-stream").split(";")[0].strip()
    except httpx.HTTPError as exc:
        raise MediaError(f"downloading the file failed: {exc}") from exc
    return b"".join(chunks), content_type
