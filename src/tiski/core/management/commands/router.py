"""`tiski router`: the router loop in a process of its own (for web servers running with TISKI_ROUTER=off)."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from tiski.routing import service


class Command(BaseCommand):
    help = (
        "Route queued work to agents until stopped (SIGTERM or Ctrl-C). Run any number of these beside web "
        "servers started with TISKI_ROUTER=off; they share the work safely."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.REDIS_URL:
            self.stderr.write(
                "Warning: TISKI_REDIS_URL is not set, so offers routed here are not pushed to consoles served by "
                "web servers in other processes (they see them on their next reload). Set TISKI_REDIS_URL for "
                "live pushes."
            )
        if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
            self.stderr.write(
                f"Note: without PostgreSQL the router polls every {settings.TISKI_ROUTER_POLL_S} s "
                "(TISKI_ROUTER_POLL_S) instead of waking at each commit."
            )
        asyncio.run(self._run(options["verbosity"]))

    async def _run(self, verbosity: int) -> None:
        stop_event = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop_event.set)
        if verbosity:
            self.stdout.write("Routing work (Ctrl-C to stop).")
            self.stdout.flush()
        await service.run(stop_event)
        if verbosity:
            self.stdout.write("Router stopped.")
