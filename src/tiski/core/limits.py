"""Rate and size limits of the public endpoints, applied in one middleware before a view reads the request.

Each public endpoint belongs to a family (the table ENDPOINTS, by URL name): the family names its rate
(settings.TISKI_RATES, see tiski.core.ratelimit), what it is counted by (the client address, or the API
token), the largest request body it accepts, and whether its refusals are an HTML page (browsers) or JSON
(the API and the providers' webhooks). Over the rate: 429 with Retry-After; too large: 413.

The web form and the help centre's suggestions count in their views (tiski.core.ratelimit.rate_hit) instead,
so that a refused visitor keeps the text typed and the widget reads its CORS-enabled answer.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _

from tiski.core.net import client_ip
from tiski.core.ratelimit import rate_hit

logger = logging.getLogger(__name__)

KB = 1024


def webhook_max_bytes() -> int:
    """Return the largest body a messaging provider's webhook call may have (TISKI_WEBHOOK_MAX_KB)."""
    return int(settings.TISKI_WEBHOOK_MAX_KB) * KB


def public_post_max_bytes() -> int:
    """Return the largest body of a public form post without files (TISKI_PUBLIC_POST_MAX_KB)."""
    return int(settings.TISKI_PUBLIC_POST_MAX_KB) * KB


def chat_upload_max_bytes() -> int:
    """Return the largest chat attachment post: five files of the chat's size limit and the multipart framing."""
    return 5 * int(settings.TISKI_CHAT_MAX_ATTACHMENT_BYTES) + 64 * KB


def mail_webhook_max_bytes() -> int:
    """Return the largest inbound-mail post of an email provider (the whole mail: TISKI_MAX_REQUEST_MB)."""
    return int(settings.TISKI_MAX_REQUEST_BYTES)


@dataclass(frozen=True)
class Family:
    """The limits of a group of public endpoints."""

    rate: str  # the name in settings.TISKI_RATES
    json: bool  # refuse with JSON (API, webhooks) rather than an HTML page
    max_bytes: Callable[[], int] | None = None  # the largest body; None: the server-wide limit only
    by_token: bool = False  # count per API token (the address when there is none)
    methods: frozenset[str] = frozenset()  # the methods counted; empty: all


WEBHOOK = Family(rate="webhook", json=True, max_bytes=webhook_max_bytes)
MAIL_WEBHOOK = Family(rate="webhook", json=True, max_bytes=mail_webhook_max_bytes)
API = Family(rate="api", json=True, by_token=True)
CHAT = Family(rate="chat", json=True, max_bytes=chat_upload_max_bytes)
HELP = Family(rate="help", json=False, max_bytes=public_post_max_bytes)
HELP_FEEDBACK = Family(rate="help_feedback", json=False, max_bytes=public_post_max_bytes)
SURVEY = Family(rate="survey", json=False, max_bytes=public_post_max_bytes)

# URL name (namespace:name) → family; a namespace alone ("api:") covers all its URLs.
ENDPOINTS: dict[str, Family] = {
    "channel-webhook": WEBHOOK,
    "email:": MAIL_WEBHOOK,
    "api:": API,
    "chat:upload": CHAT,
    "chat:attachment": CHAT,
    "help:search": HELP,
    "help:partners-search": HELP,
    "help:share": HELP,
    "help:feedback": HELP_FEEDBACK,
    "help:partners-feedback": HELP_FEEDBACK,
    "surveys:answer": SURVEY,
}


def family_for(request: HttpRequest) -> Family | None:
    """Return the limits of the endpoint REQUEST was routed to, or None for an endpoint without any."""
    match = request.resolver_match
    if match is None:
        return None
    family = ENDPOINTS.get(match.view_name)
    if family is None and match.namespace:
        family = ENDPOINTS.get(f"{match.namespace}:")
    return family


def _api_token(request: HttpRequest) -> str:
    scheme, _space, token = request.headers.get("Authorization", "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def rate_key(request: HttpRequest, family: Family) -> str:
    """Return what REQUEST counts against: its API token (hashed) for the API, else the client address."""
    if family.by_token and (token := _api_token(request)):
        return "token:" + hashlib.sha256(token.encode()).hexdigest()
    return "ip:" + client_ip(request)


def _declared_length(request: HttpRequest) -> int | None:
    raw = request.META.get("CONTENT_LENGTH") or "0"
    try:
        return int(raw)
    except ValueError:
        return None


def too_large_response(request: HttpRequest, *, limit: int, as_json: bool) -> HttpResponse:
    """Answer 413: the request body is larger than LIMIT bytes."""
    size = f"{limit // KB} KB" if limit < 10 * KB * KB else f"{limit // (KB * KB)} MB"
    detail = _("The request is too large: at most %(size)s.") % {"size": size}
    if as_json:
        return _json(413, "request_too_large", detail)
    return render(request, "core/limit.html", {"title": _("Request too large"), "detail": detail}, status=413)


def too_many_response(request: HttpRequest, *, retry_after_s: int, as_json: bool) -> HttpResponse:
    """Answer 429 with Retry-After: the client sent too many requests in the window."""
    if as_json:
        response = _json(
            429, "throttled", _("Too many requests; try again in %(seconds)s seconds.") % {"seconds": retry_after_s}
        )
    else:
        minutes = max(1, -(-retry_after_s // 60))
        detail = _("You have sent too many requests in a short time. Please try again in %(minutes)s min.") % {
            "minutes": minutes
        }
        response = render(request, "core/limit.html", {"title": _("Too many requests"), "detail": detail}, status=429)
    response["Retry-After"] = str(retry_after_s)
    return response


def _json(status: int, code: str, detail: str) -> HttpResponse:
    body: dict[str, Any] = {"detail": detail, "code": code}
    return HttpResponse(json.dumps(body), status=status, content_type="application/json")


class PublicLimitsMiddleware:
    """Refuse a public endpoint's request that is too large (413) or over its family's rate (429).

    Runs in process_view, after URL resolution and before the CSRF check or the view read the body.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> HttpResponseBase | None:
        family = family_for(request)
        if family is None:
            return None
        if family.max_bytes is not None:
            limit = family.max_bytes()
            declared = _declared_length(request)
            if declared is None or declared > limit:
                logger.info("%s %s: body of %s bytes refused (limit %s)", request.method, request.path, declared, limit)
                return too_large_response(request, limit=limit, as_json=family.json)
        if family.methods and request.method not in family.methods:
            return None
        decision = rate_hit(name=family.rate, key=rate_key(request, family))
        if decision.allowed:
            return None
        logger.warning("%s %s: rate %s reached by %s", request.method, request.path, family.rate, client_ip(request))
        return too_many_response(request, retry_after_s=decision.retry_after_s, as_json=family.json)


_ERROR_BODY = {
    "application/json": {
        "schema": {
            "type": "object",
            "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
            "required": ["detail", "code"],
        }
    }
}
OPENAPI_LIMIT_RESPONSES: dict[int, Any] = {
    413: {"description": "The request body is too large (`request_too_large`).", "content": _ERROR_BODY},
    429: {
        "description": (
            "Too many requests from this token (`throttled`): each token may send TISKI_RATE_API requests "
            "(600 a minute unless configured); wait the seconds in Retry-After."
        ),
        "headers": {"Retry-After": {"description": "Seconds until the window ends.", "schema": {"type": "integer"}}},
        "content": _ERROR_BODY,
    },
}


def limits_documented(run: Callable[..., Any]) -> Callable[..., Any]:
    """Document the 413 and 429 answers of PublicLimitsMiddleware on the Ninja operation RUN belongs to.

    Installed with ``api.add_decorator(limits_documented, mode="view")``; returns RUN unchanged.
    """
    operation = getattr(run, "__self__", None)
    if operation is not None:
        extra = dict(getattr(operation, "openapi_extra", None) or {})
        responses = dict(extra.get("responses") or {})
        for status, answer in OPENAPI_LIMIT_RESPONSES.items():
            responses.setdefault(status, answer)
        extra["responses"] = responses
        operation.openapi_extra = extra
    return run


_CONTROL = dict.fromkeys(c for c in range(32) if c not in (9, 10, 13)) | {0x7F: None}


def visitor_text(value: str, *, limit: int) -> str:
    """Return text a visitor sent without NUL and other control characters (tabs and newlines stay), stripped
    and cut to LIMIT characters: PostgreSQL refuses NUL in text, and nothing else needs the rest."""
    return value.translate(_CONTROL).strip()[:limit]
