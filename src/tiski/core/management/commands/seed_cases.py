"""`tiski seed-cases`: bulk-create many realistic cases for performance testing."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tiski.core.demo import SEED, cases_seed


class Command(BaseCommand):
    help = "Bulk-create realistic customers, cases and messages for performance testing (not for production)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=10_000, help="how many cases (default: 10000)")
        parser.add_argument("--batch-size", type=int, default=2000, help="cases per insert batch (default: 2000)")
        parser.add_argument("--days", type=int, default=365, help="spread the cases over this many days")
        parser.add_argument("--seed", type=int, default=SEED, help="random seed (same seed, same data)")

    def handle(self, *args: Any, count: int, batch_size: int, days: int, seed: int, **options: Any) -> None:
        if count < 1 or batch_size < 1 or days < 1:
            raise CommandError("--count, --batch-size and --days must be positive.")
        result = cases_seed(count=count, seed=seed, batch_size=batch_size, days=days)
        self.stdout.write(
            f"Created {result.cases} cases, {result.customers} customers and {result.messages} messages "
            f"in {result.seconds:.1f} s ({result.cases / max(result.seconds, 0.001):.0f} cases/s)."
        )
