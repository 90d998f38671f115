"""Writes for agents, teams, roles and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from django.contrib.auth.models import Group, Permission, User
from django.db import transaction
from django.utils import timezone

from tiski.accounts.models import AgentProfile, ApiToken, Team
from tiski.accounts.roles import ADMIN_APPS, ADMINISTRATOR, ROLE_PERMISSIONS

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
) -> User:
    """Create a console user with the given role and return it."""
    if role not in ROLE_PERMISSIONS:
        raise ValueError(f"unknown role {role!r}; choose one of {', '.join(ROLE_PERMISSIONS)}")
    user = User.objects.create_user(
        username=username, password=password, first_name=first_name, last_name=last_name, email=email
    )
    user.is_staff = role == "administrator"  # the Django admin is for administrators
    user.save(update_fields=["is_staff"])
    user.groups.add(Group.objects.get(name=role))
    profile = AgentProfile.objects.create(user=user, language=language)
    if teams:
        profile.teams.set(teams)
    return user


def api_token_issue(*, user: User, name: str) -> IssuedToken:
    """Create an API token for USER and return it with its raw value (shown to the user once)."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=raw[:12], digest=token_digest(raw))
    return IssuedToken(token=token, raw=raw)


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke TOKEN so it no longer authenticates."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token
