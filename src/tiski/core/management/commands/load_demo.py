"""`tiski load-demo`: load the demo company (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from tiski.core.demo import COMPANY, demo_load


class Command(BaseCommand):
    help = "Load the demo company's teams, agents, channels, customers and cases (once; a second run does nothing)."

    def handle(self, *args: Any, **options: Any) -> None:
        result = demo_load()
        if result.created:
            self.stdout.write(
                f"Loaded the demo company {COMPANY}: {result.customers} customers, {result.cases} cases, "
                f"{result.messages} messages in {result.seconds:.1f} s."
            )
        else:
            self.stdout.write(f"The demo data is loaded already ({result.cases} cases); nothing to do.")
