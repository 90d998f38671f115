"""`tiski worker`: the background worker (django_tasks_db's loop), recovering stalled deliveries and bulk runs first."""

from __future__ import annotations

from typing import Any

from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from tiski.channels.outbox import outbox_requeue_stale
from tiski.macros.services import macro_run_requeue_unfinished


class Command(DbWorkerCommand):
    help = "Run the background worker: send queued replies and run other background tasks until stopped."

    def handle(self, *args: Any, **options: Any) -> None:
        requeued = outbox_requeue_stale()
        if requeued and options["verbosity"]:
            self.stdout.write(f"Requeued {requeued} stalled deliveries.")
        runs = macro_run_requeue_unfinished()
        if runs and options["verbosity"]:
            self.stdout.write(f"Requeued {runs} unfinished bulk macro runs.")
        super().handle(*args, **options)
