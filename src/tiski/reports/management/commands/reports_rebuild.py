"""`tiski reports-rebuild`: compute every case's report facts again from the cases."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from tiski.reports.facts import facts_rebuild


class Command(BaseCommand):
    help = "Compute the facts the reports read (times, counts, keywords) again for every case."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        count = facts_rebuild()
        if options["verbosity"]:
            self.stdout.write(f"Recomputed the report facts of {count} cases in {time.monotonic() - started:.1f} s.")
