"""URLs under /api/v1/: the API's operations, JSON answers for unknown paths and wrong methods."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseNotAllowed
from django.urls import URLPattern, URLResolver, re_path
from django.views.decorators.csrf import csrf_exempt

from tiski.api.api import api
from tiski.api.errors import json_error


def _json_not_allowed(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Answer a method the path does not offer with a JSON 405 instead of an empty page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = response["Allow"]
            error = json_error(405, "method_not_allowed", f"{request.method} is not allowed here; use {allowed}.")
            error["Allow"] = allowed
            return error
        return response

    return wrapper


@csrf_exempt
def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    return json_error(404, "not_found", f"There is no API endpoint /api/v1/{path}; see /api/v1/docs.")


def _patterns() -> list[URLPattern | URLResolver]:
    patterns, _app_name, _namespace = api.urls
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            pattern.callback = _json_not_allowed(pattern.callback)
    return patterns


app_name = "api"
urlpatterns = [*_patterns(), re_path(r"^(?P<path>.*)$", not_found)]
