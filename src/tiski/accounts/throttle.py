"""Login throttling with django-axes: a username tried from one address is locked out after repeated failures.

Settings: TISKI_LOGIN_FAILURES failures of one username from one client address lock that pair out for
TISKI_LOGIN_LOCKOUT_MINUTES. A wrong two-factor code counts as a failure too (`login_failure_record`).
API tokens are not passwords and never go through here.
"""

from __future__ import annotations

import ipaddress
import math
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import user_login_failed
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tiski.core.net import client_ip


class ThrottleBackend(AxesStandaloneBackend):
    """Refuse a locked-out username+address before any password is checked.

    Without a request there is no client address to throttle (`Client.login` in tests, management
    commands): the check is skipped there rather than refusing every such login.
    """

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def axes_client_ip(request: HttpRequest) -> str | None:
    """Return the client's address as Tiski reads it behind its trusted proxies (AXES_CLIENT_IP_CALLABLE).

    None when there is no address (a request built in code, as `Client.force_login` does): the database's
    address column would refuse anything else.
    """
    address = client_ip(request)
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return None
    return address


def login_allowed(*, request: HttpRequest, username: str) -> bool:
    """Return whether USERNAME may try to log in from this request's address now."""
    return bool(AxesProxyHandler.is_allowed(request, {"username": username}))


def login_failure_record(*, request: HttpRequest, username: str) -> None:
    """Count a failed login of USERNAME from this request's address (a wrong two-factor code, say).

    Sends Django's `user_login_failed`, so the throttle and the audit log both see it.
    """
    user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)


def lockout_minutes() -> int:
    """Return how many minutes a lockout lasts."""
    return max(1, math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60))


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """Answer a locked-out login with the login page and a message saying when to try again (AXES_LOCKOUT_CALLABLE)."""
    request.session.pop("tiski_2fa_pending", None)
    context = {
        "form": AuthenticationForm(request, initial={"username": (credentials or {}).get("username", "")}),
        "locked_out": True,
        "lockout_minutes": lockout_minutes(),
        "next": request.POST.get("next", "") if request.method == "POST" else "",
    }
    from tiski.accounts.oidc import oidc_login_context

    context |= oidc_login_context()
    return render(request, "registration/login.html", context, status=429)
