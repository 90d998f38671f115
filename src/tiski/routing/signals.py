"""Presence follows the session: logging in makes an agent available (TISKI_PRESENCE_ON_LOGIN), logging out offline.

Connected at import (tiski.routing.apps imports this module in ready()). Only users who work cases have a
presence; a login of anyone else changes nothing.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver
from django.http import HttpRequest

from tiski.accounts.roles import WORK_CASES
from tiski.routing.models import Presence
from tiski.routing.services import agent_state, presence_set


def _works_cases(user: object) -> bool:
    return isinstance(user, User) and user.is_active and user.has_perm(WORK_CASES)


@receiver(user_logged_in, dispatch_uid="tiski.routing.presence_on_login")
def presence_on_login(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    """Set the presence TISKI_PRESENCE_ON_LOGIN for an agent who was offline or away (their session had ended,
    often after the idle timeout had set them away). An agent online or busy, logged in in another browser,
    keeps the presence they chose.
    """
    wanted = settings.TISKI_PRESENCE_ON_LOGIN
    if wanted not in Presence.values or wanted == Presence.OFFLINE or not _works_cases(user):
        return
    if agent_state(user).presence in (Presence.OFFLINE, Presence.AWAY):
        presence_set(user=user, presence=wanted, reason="login")


@receiver(user_logged_out, dispatch_uid="tiski.routing.offline_on_logout")
def offline_on_logout(sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any) -> None:
    """Set an agent offline when they log out: their offers go to others, and no new work is offered to them."""
    if user is not None and _works_cases(user):
        presence_set(user=user, presence=Presence.OFFLINE, reason="logout")
