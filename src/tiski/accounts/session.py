"""Session lifetime and required two-factor, enforced on every request of a logged-in user.

A session ends TISKI_SESSION_HOURS after login however active the user is, and after
TISKI_SESSION_IDLE_MINUTES without activity. Background requests (htmx polling, marked by the console's
session.js with X-Tiski-Background) are not activity. With TISKI_REQUIRE_2FA every password user sets up
two-factor before anything else in the console.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse

SESSION_KEY = "tiski_auth"
BACKGROUND_HEADER = "X-Tiski-Background"
_SEEN_RESOLUTION_S = 30  # write "last seen" to the session at most this often
METHOD_PASSWORD = "password"  # noqa: S105 (how the user logged in, not a secret)
METHOD_TWO_FACTOR = "two-factor"


def session_start(*, request: HttpRequest, method: str) -> None:
    """Record that the session's user just logged in, and how (call right after django.contrib.auth.login)."""
    now = time.time()
    request.session[SESSION_KEY] = {"login_at": now, "seen_at": now, "method": method}


def session_started(sender: object, request: HttpRequest | None, user: object, **kwargs: Any) -> None:
    """Start the session's clocks at every login (user_logged_in); the login views then say how it happened."""
    if request is not None and hasattr(request, "session"):
        session_start(request=request, method=METHOD_PASSWORD)


def session_times(*, request: HttpRequest) -> dict[str, float]:
    """Return the seconds left until the session ends for idleness and for its absolute lifetime."""
    state = request.session.get(SESSION_KEY) or {}
    now = time.time()
    login_at = float(state.get("login_at", now))
    seen_at = float(state.get("seen_at", now))
    absolute_left = login_at + settings.TISKI_SESSION_HOURS * 3600 - now
    idle_minutes = settings.TISKI_SESSION_IDLE_MINUTES
    idle_left = seen_at + idle_minutes * 60 - now if idle_minutes > 0 else absolute_left
    return {"idle_left": max(0.0, min(idle_left, absolute_left)), "absolute_left": max(0.0, absolute_left)}


def is_background(request: HttpRequest) -> bool:
    """Return whether the request was made by the page on its own (polling), not by the user."""
    return request.headers.get(BACKGROUND_HEADER) == "1"


def session_method(*, request: HttpRequest) -> str:
    """Return how the session's user logged in: METHOD_PASSWORD, METHOD_TWO_FACTOR or "oidc"."""
    return str((request.session.get(SESSION_KEY) or {}).get("method", METHOD_PASSWORD))


class SessionSecurityMiddleware:
    """End expired sessions, count activity, and send users who must set up two-factor to do so."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            response = self._check(request)
            if response is not None:
                return response
        return self.get_response(request)

    def _check(self, request: HttpRequest) -> HttpResponse | None:
        state: dict[str, Any] | None = request.session.get(SESSION_KEY)
        now = time.time()
        if state is None:  # logged in some other way (the admin, force_login): the clock starts now
            request.session[SESSION_KEY] = {"login_at": now, "seen_at": now, "method": METHOD_PASSWORD}
        else:
            times = session_times(request=request)
            if times["absolute_left"] <= 0 or times["idle_left"] <= 0:
                logout(request)
                return _to_login(request, reason="expired")
            if not is_background(request) and now - float(state.get("seen_at", 0)) >= _SEEN_RESOLUTION_S:
                state["seen_at"] = now
                request.session[SESSION_KEY] = state
        if settings.TISKI_REQUIRE_2FA and _needs_two_factor_setup(request):
            return _redirect(request, reverse("account:two-factor"))
        return None


def _needs_two_factor_setup(request: HttpRequest) -> bool:
    if session_method(request=request) != METHOD_PASSWORD:
        return False  # logged in with two-factor, or the identity provider vouched (its own MFA policy)
    path = request.path_info
    if not path.startswith(("/console/", "/admin/")):
        return False
    exempt = (reverse("account:two-factor"), reverse("account:session"))
    return not path.startswith(exempt)


def _to_login(request: HttpRequest, *, reason: str) -> HttpResponse:
    if request.path_info.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"idle_left": 0, "absolute_left": 0, "login_url": reverse("login")}, status=401)
    login_url = reverse("login") + f"?{reason}=1"
    if request.headers.get("HX-Request"):
        return _redirect(request, login_url)
    response: HttpResponse = redirect_to_login(request.get_full_path(), login_url)
    return response


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    """Redirect the browser, also out of an htmx request (which would otherwise swap the target page in)."""
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    from django.shortcuts import redirect

    return redirect(url)
