"""Single sign-on over OpenID Connect (mozilla-django-oidc), configured from TISKI_OIDC_* and off without them.

A user is matched by email, created on first login (TISKI_OIDC_CREATE_USERS), and given the Tiski role that
the provider's role claim maps to (TISKI_OIDC_ROLE_CLAIM, TISKI_OIDC_ROLE_MAP, TISKI_OIDC_DEFAULT_ROLE) on
every login. A user whose claims map to no role is refused.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from tiski.accounts.models import AgentProfile
from tiski.accounts.roles import ADMINISTRATOR, AGENT, TEAM_LEAD

logger = logging.getLogger(__name__)

# The roles a provider may grant, strongest first: a user in several mapped groups gets the strongest.
_ROLE_ORDER = (ADMINISTRATOR, TEAM_LEAD, AGENT)
SESSION_METHOD_OIDC = "oidc"


def oidc_login_context() -> dict[str, Any]:
    """Return what the login page needs to offer single sign-on (nothing when it is off)."""
    if not settings.TISKI_OIDC_ENABLED:
        return {}
    return {"oidc_enabled": True, "oidc_provider_name": settings.TISKI_OIDC_PROVIDER_NAME}


def oidc_role_for_claims(*, claims: dict[str, Any]) -> str | None:
    """Return the Tiski role the claims map to, the default role when none does, or None."""
    raw = claims.get(settings.TISKI_OIDC_ROLE_CLAIM) or []
    values = [raw] if isinstance(raw, str) else [str(value) for value in raw]
    mapped = {settings.TISKI_OIDC_ROLE_MAP[value] for value in values if value in settings.TISKI_OIDC_ROLE_MAP}
    for role in _ROLE_ORDER:
        if role in mapped:
            return role
    default: str = settings.TISKI_OIDC_DEFAULT_ROLE
    return default if default in _ROLE_ORDER else None


@transaction.atomic
def oidc_user_sync(*, user: User, claims: dict[str, Any], role: str) -> User:
    """Bring USER's names and role in line with the provider's claims and return it."""
    user.first_name = str(claims.get("given_name") or user.first_name)[:150]
    user.last_name = str(claims.get("family_name") or user.last_name)[:150]
    user.email = str(claims.get("email") or user.email)
    user.is_staff = role == ADMINISTRATOR  # the Django admin is for administrators
    user.save(update_fields=["first_name", "last_name", "email", "is_staff"])
    role_groups = Group.objects.filter(name__in=_ROLE_ORDER)
    user.groups.remove(*role_groups.exclude(name=role))
    user.groups.add(Group.objects.get(name=role))
    AgentProfile.objects.get_or_create(user=user)
    return user


def _username_for(claims: dict[str, Any]) -> str:
    """Return a free username from the preferred_username or email claim."""
    base = str(claims.get("preferred_username") or str(claims.get("email", "")).split("@")[0] or "sso-user")
    base = re.sub(r"[^\w.@+-]", "", base)[:140] or "sso-user"
    candidate, number = base, 1
    while User.objects.filter(username__iexact=candidate).exists():
        number += 1
        candidate = f"{base}-{number}"
    return candidate


class OidcBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend with Tiski's role mapping; inert while single sign-on is off."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if settings.TISKI_OIDC_ENABLED:
            super().__init__(*args, **kwargs)
        else:
            self.UserModel = get_user_model()

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:
        if not settings.TISKI_OIDC_ENABLED or request is None:
            return None
        user: User | None = super().authenticate(request, **kwargs)
        return user

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any] | None:
        """Check the signature and nonce (the library), then the audience, expiry and issuer."""
        try:
            payload: dict[str, Any] | None = super().verify_token(token, **kwargs)
        except SuspiciousOperation as error:  # a bad signature or nonce: a failed login, not a server error
            logger.warning("OIDC: id_token refused: %s", error)
            return None
        if not payload:
            return None
        audience = payload.get("aud")
        audiences = [audience] if isinstance(audience, str) else list(audience or [])
        if settings.OIDC_RP_CLIENT_ID not in audiences:
            logger.warning("OIDC: id_token is for %r, not this client", audiences)
            return None
        if float(payload.get("exp", 0)) < time.time() - 60:
            logger.warning("OIDC: id_token expired")
            return None
        if settings.TISKI_OIDC_ISSUER and payload.get("iss") != settings.TISKI_OIDC_ISSUER:
            logger.warning("OIDC: id_token issued by %r, expected %r", payload.get("iss"), settings.TISKI_OIDC_ISSUER)
            return None
        return payload

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        if not claims.get("email"):
            logger.warning("OIDC: the provider sent no email claim; refused")
            return False
        if oidc_role_for_claims(claims=claims) is None:
            logger.warning("OIDC: %s maps to no Tiski role; refused", claims.get("email"))
            return False
        return True

    def create_user(self, claims: dict[str, Any]) -> User:
        user = User.objects.create_user(username=_username_for(claims), password=None, email=claims["email"])
        return self.update_user(user, claims)

    def update_user(self, user: User, claims: dict[str, Any]) -> User:
        role = oidc_role_for_claims(claims=claims)
        assert role is not None  # verify_claims refused the login otherwise
        return oidc_user_sync(user=user, claims=claims, role=role)


class OidcStartView(OIDCAuthenticationRequestView):
    """Send the browser to the provider's login page (404 while single sign-on is off)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not settings.TISKI_OIDC_ENABLED:
            raise Http404
        response: HttpResponse = super().get(request)
        return response


class OidcCallbackView(OIDCAuthenticationCallbackView):
    """Take the provider's answer, log the user in and note that the provider vouched for them."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not settings.TISKI_OIDC_ENABLED:
            raise Http404
        response: HttpResponse = super().get(request)
        return response

    def login_success(self) -> HttpResponse:
        response: HttpResponse = super().login_success()
        from tiski.accounts.session import session_start

        session_start(request=self.request, method=SESSION_METHOD_OIDC)
        return response
