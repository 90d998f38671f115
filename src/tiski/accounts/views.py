"""Logging in: password, then the two-factor code when the user has it; the user's own two-factor page."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import User
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from tiski.accounts import two_factor
from tiski.accounts.forms import CodeForm, DisableTwoFactorForm
from tiski.accounts.oidc import oidc_login_context
from tiski.accounts.session import METHOD_PASSWORD, METHOD_TWO_FACTOR, SESSION_KEY, session_start, session_times
from tiski.accounts.throttle import lockout_response, login_allowed, login_failure_record

PENDING_KEY = "tiski_2fa_pending"
PENDING_TTL_S = 300  # the code must follow the password within five minutes


class TiskiLoginView(LoginView):
    """The password step; hands over to the two-factor step when the user has it."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)
        context |= oidc_login_context()
        context["expired"] = "expired" in self.request.GET
        context["sso_failed"] = "sso" in self.request.GET
        return context

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        user = form.get_user()
        if two_factor.two_factor_enabled(user=user):
            self.request.session[PENDING_KEY] = {
                "user_id": user.pk,
                "backend": getattr(user, "backend", settings.AUTHENTICATION_BACKENDS[1]),
                "at": time.time(),
                "next": self.get_redirect_url(),
            }
            return redirect("login-two-factor")
        return super().form_valid(form)  # user_logged_in starts the session's clocks


def login_two_factor(request: HttpRequest) -> HttpResponse:
    """Ask for the authenticator code (or a backup code) of the user who just gave the right password."""
    pending = request.session.get(PENDING_KEY)
    if not pending or time.time() - float(pending["at"]) > PENDING_TTL_S:
        request.session.pop(PENDING_KEY, None)
        return redirect("login")
    user: User = get_user_model().objects.get(pk=pending["user_id"])
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not login_allowed(request=request, username=user.get_username()):
            return lockout_response(request, None, {"username": user.get_username()})
        device = two_factor.two_factor_verify(user=user, token=form.cleaned_data["code"])
        if device is None:
            login_failure_record(request=request, username=user.get_username())
            if not login_allowed(request=request, username=user.get_username()):
                return lockout_response(request, None, {"username": user.get_username()})
            form.add_error("code", _("The code is wrong or has already been used. Try again."))
        else:
            del request.session[PENDING_KEY]
            login(request, user, backend=pending["backend"])
            otp_login(request, device)
            session_start(request=request, method=METHOD_TWO_FACTOR)
            next_url = pending.get("next") or ""
            allowed = url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()})
            return redirect(next_url if next_url and allowed else settings.LOGIN_REDIRECT_URL)
    return render(request, "accounts/login_two_factor.html", {"form": form})


@login_required
def two_factor_settings(request: HttpRequest) -> HttpResponse:
    """Set up, look after and turn off the user's own two-factor authentication."""
    user = request.user
    assert isinstance(user, User)
    context: dict[str, Any] = {"required": settings.TISKI_REQUIRE_2FA}
    action = request.POST.get("action") if request.method == "POST" else None
    enabled = two_factor.two_factor_enabled(user=user)
    if action == "confirm" and not enabled:
        form = CodeForm(request.POST)
        codes = two_factor.totp_confirm(user=user, token=request.POST.get("code", "")) if form.is_valid() else None
        if codes is None:
            form.add_error("code", _("The code does not match. Check the time on your phone and try again."))
            context["confirm_form"] = form
        else:
            state = request.session.get(SESSION_KEY) or {}
            request.session[SESSION_KEY] = state | {"method": METHOD_TWO_FACTOR}
            context["backup_codes"] = codes
            enabled = True
    elif action == "regenerate" and enabled:
        context["backup_codes"] = two_factor.backup_codes_regenerate(user=user)
    elif action == "disable" and enabled:
        disable_form = DisableTwoFactorForm(request.POST, user=user)
        if disable_form.is_valid():
            two_factor.two_factor_disable(user=user)
            state = request.session.get(SESSION_KEY) or {}
            request.session[SESSION_KEY] = state | {"method": METHOD_PASSWORD}
            messages.success(request, _("Two-factor authentication is off."))
            return redirect("account:two-factor")
        context["disable_form"] = disable_form
    context["enabled"] = enabled
    if enabled:
        context["backup_left"] = two_factor.backup_codes_left(user=user)
        context.setdefault("disable_form", DisableTwoFactorForm(user=user))
    else:
        device = two_factor.totp_device_pending(user=user)
        context["qr_svg"] = mark_safe(two_factor.totp_qr_svg(device=device))  # noqa: S308 (segno's own SVG)
        context["secret"] = two_factor.totp_secret_text(device=device)
        context.setdefault("confirm_form", CodeForm())
    status = 400 if action and ("confirm_form" in context and context["confirm_form"].errors) else 200
    if "disable_form" in context and context["disable_form"].errors:
        status = 400
    return render(request, "accounts/two_factor.html", context, status=status)


@require_POST
def session_keepalive(request: HttpRequest) -> HttpResponse:
    """Count real activity the page saw without a request (typing, scrolling) and return the time left."""
    if not request.user.is_authenticated:
        return JsonResponse({"idle_left": 0, "absolute_left": 0, "login_url": reverse("login")}, status=401)
    return JsonResponse(session_times(request=request))
