"""Writes for agents, teams, roles and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import Group, Permission, User
from django.db import transaction
from django.utils import timezone

from tiski.accounts.exceptions import TokenScopeError
from tiski.accounts.models import AgentProfile, ApiToken, Partner, Team
from tiski.accounts.roles import ADMIN_APPS, ADMINISTRATOR, PARTNER_AGENT, ROLE_PERMISSIONS
from tiski.accounts.token_scopes import ALL_SCOPES, scopes_normalised, scopes_unknown
from tiski.audit.services import audit_record

TOKEN_PREFIX = "tsk_"  # noqa: S105  (a prefix, not a secret)


def token_digest(raw: str) -> str:
    """Return the stored digest of a raw token."""
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    raw: str


def roles_ensure() -> None:
    """Create the role groups and give each exactly its permissions (idempotent)."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():  # post_migrate of an earlier app runs before later apps'
        create_permissions(app_config, verbosity=0)
    for role, perm_names in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        perms = []
        for name in perm_names:
            app_label, codename = name.split(".")
            perms.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        if role == ADMINISTRATOR:
            perms += list(Permission.objects.filter(content_type__app_label__in=ADMIN_APPS))
        group.permissions.set(set(perms))


@transaction.atomic
def agent_create(
    *,
    username: str,
    password: str | None,
    role: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    teams: list[Team] | None = None,
    language: str = "",
    partner: Partner | None = None,
) -> User:
    """Create a console user with the given role and return it; a partner agent needs PARTNER."""
    if role not in ROLE_PERMISSIONS:
        raise ValueError(f"unknown role {role!r}; choose one of {', '.join(ROLE_PERMISSIONS)}")
    if (role == PARTNER_AGENT) != (partner is not None):
        raise ValueError("a partner agent needs a partner, and only a partner agent has one")
    user = User.objects.create_user(
        username=username, password=password, first_name=first_name, last_name=last_name, email=email
    )
    user.is_staff = role == "administrator"  # the Django admin is for administrators
    user.save(update_fields=["is_staff"])
    user.groups.add(Group.objects.get(name=role))
    profile = AgentProfile.objects.create(user=user, language=language, partner=partner)
    if teams:
        profile.teams.set(teams)
    return user


def api_token_issue(*, user: User, name: str, scopes: Iterable[str], actor: User | None = None) -> IssuedToken:
    """Create an API token for USER limited to SCOPES and return it with its raw value (shown to the user once).

    Raise TokenScopeError when SCOPES is empty or names something that is not a scope. The audit log names
    ACTOR, else the signed-in user of the request being served.
    """
    scopes = list(scopes)
    unknown = scopes_unknown(scopes)
    if unknown:
        raise TokenScopeError(f"Unknown scope {', '.join(unknown)}; choose from {', '.join(ALL_SCOPES)}.")
    if not scopes:
        raise TokenScopeError("A token needs at least one scope.")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=raw[:12], digest=token_digest(raw), scopes=scopes_normalised(scopes)
    )
    _token_audit(action="token.create", token=token, actor=actor)
    return IssuedToken(token=token, raw=raw)


def api_token_revoke(*, token: ApiToken, actor: User | None = None) -> ApiToken:
    """Revoke TOKEN so it no longer authenticates."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        _token_audit(action="token.revoke", token=token, actor=actor)
    return token


def _token_audit(*, action: str, token: ApiToken, actor: User | None) -> None:
    audit_record(
        action=action,
        actor=actor,
        target=token,
        target_label=f"{token.name} ({token.prefix}…)",
        detail={"user": token.user.get_username(), "scopes": list(token.scopes)},
    )
