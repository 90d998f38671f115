"""`tiski kb-reindex`: rebuild the knowledge base's search index from the language versions."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from tiski.knowledge.search import search_reindex


class Command(BaseCommand):
    help = "Rebuild the knowledge base's search index (after a restore from backup or an upgrade of the search)."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        with transaction.atomic():
            count = search_reindex()
        self.stdout.write(f"Indexed {count} language versions in {time.perf_counter() - started:.1f} s.")
