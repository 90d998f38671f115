from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    """Reports and dashboards: the key figures (defined once in figures.py), the per-case facts they read, the
    console's dashboards, exports and the API per figure."""

    name = "tiski.reports"
    label = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from tiski.reports import subscribers
        from tiski.reports.sql import sqlite_functions

        connection_created.connect(sqlite_functions, dispatch_uid="tiski.reports.sqlite_functions")
        subscribers.connect()
