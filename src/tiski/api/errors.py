"""Errors as JSON: {"detail": "<sentence>", "code": "<machine code>"}, mapped from the domain's exceptions."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from tiski.cases.exceptions import (
    CaseClosedError,
    CaseError,
    CaseInvalidError,
    CaseNotFoundError,
    CasePermissionError,
    CaseReplyError,
    MessageImmutableError,
    MessageNotSentError,
)
from tiski.channels.exceptions import InboundInvalidError
from tiski.customers.exceptions import IdentityInvalidError, IdentityTakenError
from tiski.customers.selectors import CustomerNotFoundError, CustomerPermissionError

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An error the API answers with STATUS and a JSON body of DETAIL, CODE and any EXTRA fields."""

    def __init__(self, status: int, code: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.extra = extra


# Domain exception → (HTTP status, machine code). The exception's message is the detail.
DOMAIN_ERRORS: Mapping[type[Exception], tuple[int, str]] = {
    CaseNotFoundError: (404, "case_not_found"),
    CaseClosedError: (409, "case_closed"),
    CasePermissionError: (403, "permission_denied"),
    CaseReplyError: (400, "reply_not_possible"),
    CaseInvalidError: (400, "case_invalid"),
    CaseError: (400, "case_error"),
    CustomerNotFoundError: (404, "customer_not_found"),
    CustomerPermissionError: (403, "permission_denied"),
    IdentityInvalidError: (400, "identity_invalid"),
    InboundInvalidError: (400, "inbound_invalid"),
    MessageImmutableError: (409, "message_immutable"),
    MessageNotSentError: (409, "message_not_sent"),
}

_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "request_too_large",
    429: "throttled",
}


def error_body(status: int, code: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"detail": detail, "code": code, **extra}


def json_error(status: int, code: str, detail: str, **extra: Any) -> HttpResponse:
    """Return an error response without going through an API instance (URL fallbacks)."""
    return HttpResponse(
        json.dumps(error_body(status, code, detail, **extra)), status=status, content_type="application/json"
    )


def _respond(api: NinjaAPI, request: HttpRequest, status: int, code: str, detail: str, **extra: Any) -> HttpResponse:
    response = api.create_response(request, error_body(status, code, detail, **extra), status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="tiski"'
    return response


def _on_api_error(request: HttpRequest, exc: ApiError, api: NinjaAPI) -> HttpResponse:
    return _respond(api, request, exc.status, exc.code, exc.detail, **exc.extra)


def _on_domain_error(request: HttpRequest, exc: Exception, api: NinjaAPI) -> HttpResponse:
    status, code = next(mapped for cls, mapped in DOMAIN_ERRORS.items() if isinstance(exc, cls))
    return _respond(api, request, status, code, str(exc) or "The request cannot be carried out.")


def _on_identity_taken(request: HttpRequest, exc: IdentityTakenError, api: NinjaAPI) -> HttpResponse:
    return _respond(api, request, 409, "identity_taken", str(exc), customer_id=exc.customer_id)


def _field_name(loc: tuple[Any, ...] | list[Any]) -> tuple[str, str]:
    """Return (where, dotted field) from a Ninja error location such as ("body", "data", "subject")."""
    parts = [str(part) for part in loc]
    where = parts[0] if parts else "body"
    rest = parts[1:]
    if where == "body" and len(rest) > 1:
        rest = rest[1:]  # the view's parameter name, not a field the client sent
    return where, ".".join(rest) or where


def _on_validation_error(request: HttpRequest, exc: ValidationError, api: NinjaAPI) -> HttpResponse:
    errors = []
    for error in exc.errors:
        where, field = _field_name(error.get("loc") or ())
        message = str(error.get("msg") or error)
        errors.append({"in": where, "field": field, "message": message})
    summary = "; ".join(f"{error['field']}: {error['message']}" for error in errors[:5])
    detail = f"The request is invalid: {summary}." if summary else "The request is invalid."
    return _respond(api, request, 422, "validation_error", detail, errors=errors)


def _on_http_error(request: HttpRequest, exc: HttpError, api: NinjaAPI) -> HttpResponse:
    cause = exc.__cause__
    if isinstance(cause, RequestDataTooBig):
        return _respond(api, request, 413, "request_too_large", "The request body is too large.")
    if isinstance(cause, ApiError):
        return _on_api_error(request, cause, api)
    if isinstance(cause, ValueError):
        return _respond(api, request, 400, "malformed_json", f"The request body is not valid JSON: {cause}.")
    if isinstance(exc, AuthenticationError):
        return _respond(api, request, 401, "not_authenticated", "Authentication required: send a valid API token.")
    status = exc.status_code
    return _respond(api, request, status, _HTTP_CODES.get(status, "error"), str(exc))


def _on_404(request: HttpRequest, exc: Exception, api: NinjaAPI) -> HttpResponse:
    return _respond(api, request, 404, "not_found", "Not found.")


def _on_unexpected(request: HttpRequest, exc: Exception, api: NinjaAPI) -> HttpResponse:
    logger.exception("API %s %s failed", request.method, request.path, exc_info=exc)
    return _respond(api, request, 500, "server_error", "Something went wrong on our side; the error is logged.")


def exception_handlers_install(api: NinjaAPI) -> None:
    """Answer every error of API as JSON with a code."""
    handlers: list[tuple[type[Exception], Callable[..., HttpResponse]]] = [
        (Exception, _on_unexpected),
        (Http404, _on_404),
        (HttpError, _on_http_error),
        (ValidationError, _on_validation_error),
        (ApiError, _on_api_error),
        (IdentityTakenError, _on_identity_taken),
        *((cls, _on_domain_error) for cls in DOMAIN_ERRORS),
    ]
    for exc_class, handler in handlers:
        api.add_exception_handler(exc_class, partial(handler, api=api))
