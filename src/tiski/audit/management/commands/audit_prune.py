"""Delete the audit entries older than the retention period (TISKI_AUDIT_RETENTION_DAYS, 730 by default)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tiski.audit.services import audit_prune


class Command(BaseCommand):
    help = "Delete the audit entries older than TISKI_AUDIT_RETENTION_DAYS (default 730 days)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None, help="Keep this many days instead of the setting.")

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = audit_prune(days=options["days"])
        self.stdout.write(f"Deleted {deleted} audit entries.")
