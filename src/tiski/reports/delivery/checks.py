"""System checks of the report delivery settings: a wrong value is reported at start-up, not at 2 a.m."""

from __future__ import annotations

from typing import Any

from django.core import checks

from tiski.reports.delivery.nightly import ExportConfigError, export_at, export_target


@checks.register()
def export_settings_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Return an error for each nightly export setting that cannot be used."""
    errors: list[checks.CheckMessage] = []
    for read, code in ((export_at, "report_delivery.E001"), (export_target, "report_delivery.E002")):
        try:
            read()
        except ExportConfigError as error:
            errors.append(checks.Error(str(error), hint="See docs/configuration.md.", id=code))
    return errors
