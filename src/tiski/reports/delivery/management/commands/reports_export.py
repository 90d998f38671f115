"""`tiski reports-export`: write one day's figures (CSV, Parquet and a manifest) for a BI system now."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from tiski.reports.delivery.models import ExportRun
from tiski.reports.delivery.nightly import (
    ExportConfigError,
    Target,
    export_claim,
    export_day_write,
    export_run,
    export_target,
)
from tiski.reports.filters import report_zone


class Command(BaseCommand):
    help = (
        "Export one day's figures to DIR/<day>/ as CSV and Parquet with a manifest.json (the nightly export does "
        "this by itself when TISKI_REPORTS_EXPORT_DIR is set). Default: yesterday, to TISKI_REPORTS_EXPORT_DIR."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--day", help="the day to export, YYYY-MM-DD (default: yesterday, local time)")
        parser.add_argument("--dir", help="the directory to write to (default: TISKI_REPORTS_EXPORT_DIR)")

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        try:
            day = date.fromisoformat(options["day"]) if options["day"] else None
        except ValueError:
            raise CommandError(f"--day: expected a date as YYYY-MM-DD, got {options['day']!r}") from None
        today = now.astimezone(report_zone()).date()
        day = day or today - timedelta(days=1)
        if day >= today:
            raise CommandError(f"--day: {day} is not over yet; export a day before {today}")
        try:
            configured = export_target()
        except ExportConfigError as error:
            raise CommandError(str(error)) from None
        directory: Target | None = Path(options["dir"]) if options["dir"] else configured
        if directory is None:
            raise CommandError("Nowhere to export to: give --dir DIR or set TISKI_REPORTS_EXPORT_DIR.")
        if directory != configured and not (
            isinstance(directory, Path) and isinstance(configured, Path) and directory.resolve() == configured.resolve()
        ):
            # Somewhere of its own: a one-off copy, not the nightly export's record.
            files = export_day_write(day=day, directory=directory, now=now)
            self._done(day, directory, len(files))
            return
        if not export_claim(day=day, now=now, force=True):
            raise CommandError(f"{day} is being exported by another process right now; try again in a minute.")
        run = export_run(day=day, directory=directory, now=now)
        if run is None:
            raise CommandError(f"{day} was taken over by another process.")
        if run.status != ExportRun.Status.DONE:
            raise CommandError(f"The export of {day} failed: {run.error}")
        self._done(day, directory, len(run.files))

    def _done(self, day: date, directory: Target, count: int) -> None:
        self.stdout.write(f"Exported {day}: {count} files in {directory / day.isoformat()}")
