"""Reads for agents and tokens."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils import timezone

from tiski.accounts.models import ApiToken
from tiski.accounts.roles import WORK_CASES
from tiski.accounts.services import token_digest


def agent_list() -> QuerySet:
    """Return the active users who may work cases, by name."""
    user_model = get_user_model()
    return (
        user_model.objects.filter(is_active=True)
        .filter(groups__permissions__codename="work_case")
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def user_is_agent(user: User) -> bool:
    """Return whether USER may work in the console."""
    return bool(user.is_authenticated and user.is_active and user.has_perm(WORK_CASES))


def api_token_user(*, raw: str) -> User | None:
    """Return the active user a raw API token belongs to, or None; refresh its last-used time."""
    token = api_token_get(raw=raw)
    return token.user if token is not None else None


def api_token_get(*, raw: str) -> ApiToken | None:
    """Return the live token (with its active user) a raw API token is, or None; refresh its last-used time."""
    if not raw:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=token_digest(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
