"""Single sign-on over OpenID Connect (mozilla-django-oidc), configured from TISKI_OIDC_* and off without them.

A user is matched by email, created on first login (TISKI_OIDC_CREATE_USERS), and given the Tiski role that
the provider's role claim maps to (TISKI_OIDC_ROLE_CLAIM, TISKI_OIDC_ROLE_MAP, TISKI_OIDC_DEFAULT_ROLE) on
every login. A user whose claims map to no role is refused.

A value may map to "partner agent:<partner name>": the user becomes an agent of that partner, whatever else
their claims map to (the narrower access wins: a partner's group never grants more). Claims naming two
partners, or a partner that does not exist or is inactive, are refused.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from tiski.accounts.models import AgentProfile, Partner
from tiski.accounts.roles import ADMINISTRATOR, AGENT, PARTNER_AGENT, READ_ONLY, ROLES, TEAM_LEAD

logger = logging.getLogger(__name__)

# The roles a provider may grant, strongest first: a user in several mapped groups gets the strongest.
_ROLE_ORDER = (ADMINISTRATOR, TEAM_LEAD, AGENT, READ_ONLY)
_PARTNER_PREFIX = PARTNER_AGENT + ":"  # "partner agent:Chatly Oy"
SESSION_METHOD_OIDC = "oidc"


@dataclass(frozen=True)
class OidcGrant:
    """What a provider's claims give: a role, and for a partner agent the partner."""

    role: str
    partner: Partner | None = None


def oidc_login_context() -> dict[str, Any]:
    """Return what the login page needs to offer single sign-on (nothing when it is off)."""
    if not settings.TISKI_OIDC_ENABLED:
        return {}
    return {"oidc_enabled": True, "oidc_provider_name": settings.TISKI_OIDC_PROVIDER_NAME}


def oidc_grant_for_claims(*, claims: dict[str, Any]) -> OidcGrant | None:
    """Return the role (and partner) the claims map to, the default role when none does, or None: refused."""
    raw = claims.get(settings.TISKI_OIDC_ROLE_CLAIM) or []
    values = [raw] if isinstance(raw, str) else [str(value) for value in raw]
    mapped = {settings.TISKI_OIDC_ROLE_MAP[value] for value in values if value in settings.TISKI_OIDC_ROLE_MAP}
    partners = {role.removeprefix(_PARTNER_PREFIX).strip() for role in mapped if role.startswith(_PARTNER_PREFIX)}
    if partners:
        partner = Partner.objects.filter(name=partners.pop(), active=True).first() if len(partners) == 1 else None
        if partner is None:
            logger.warning("OIDC: %s maps to no single active partner; refused", claims.get("email"))
        return OidcGrant(PARTNER_AGENT, partner) if partner is not None else None
    for role in _ROLE_ORDER:
        if role in mapped:
            return OidcGrant(role)
    default: str = settings.TISKI_OIDC_DEFAULT_ROLE
    return OidcGrant(default) if default in _ROLE_ORDER else None


@transaction.atomic
def oidc_user_sync(*, user: User, claims: dict[str, Any], grant: OidcGrant) -> User:
    """Bring USER's names, role and partner in line with the provider's claims and return it."""
    user.first_name = str(claims.get("given_name") or user.first_name)[:150]
    user.last_name = str(claims.get("family_name") or user.last_name)[:150]
    user.email = str(claims.get("email") or user.email)
    user.is_staff = grant.role == ADMINISTRATOR  # the Django admin is for administrators
    user.save(update_fields=["first_name", "last_name", "email", "is_staff"])
    role_groups = Group.objects.filter(name__in=ROLES)
    user.groups.remove(*role_groups.exclude(name=grant.role))
    user.groups.add(Group.objects.get(name=grant.role))
    profile, _created = AgentProfile.objects.get_or_create(user=user)
    if profile.partner_id != (grant.partner.pk if grant.partner else None):
        profile.partner = grant.partner
        profile.save(update_fields=["partner"])
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
        if oidc_grant_for_claims(claims=claims) is None:
            logger.warning("OIDC: %s maps to no Tiski role; refused", claims.get("email"))
            return False
        return True

    def create_user(self, claims: dict[str, Any]) -> User:
        user = User.objects.create_user(username=_username_for(claims), password=None, email=claims["email"])
        return self.update_user(user, claims)

    def update_user(self, user: User, claims: dict[str, Any]) -> User:
        grant = oidc_grant_for_claims(claims=claims)
        if grant is None:  # the mapping or the partner changed since verify_claims: refuse, change nothing
            raise SuspiciousOperation("the user's claims map to no Tiski role")
        return oidc_user_sync(user=user, claims=claims, grant=grant)


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
