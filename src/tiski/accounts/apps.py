from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_roles(sender: AppConfig, **kwargs: Any) -> None:
    from tiski.accounts.services import roles_ensure

    if sender.name != "tiski.accounts":
        return

    roles_ensure()


class AccountsConfig(AppConfig):
    name = "tiski.accounts"
    verbose_name = _("Agents and teams")

    def ready(self) -> None:
        # Permissions exist only after post_migrate of every app; the groups are (re)built then.
        post_migrate.connect(_ensure_roles, dispatch_uid="tiski.accounts.roles")
        from django.contrib.auth.signals import user_logged_in

        from tiski.accounts.session import session_started

        user_logged_in.connect(session_started, dispatch_uid="tiski.accounts.session")
