from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "tiski.core"
    verbose_name = _("Tiski")

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from tiski.core.sqlite import sqlite_wal_once

        connection_created.connect(sqlite_wal_once, dispatch_uid="tiski.core.sqlite_wal_once")
