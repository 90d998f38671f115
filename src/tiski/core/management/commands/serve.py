"""`tiski serve`: the ASGI web server (uvicorn) for production, behind a reverse proxy."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

ASGI_APP = "tiski.asgi:application"


def quiet_static_file_warning() -> None:
    """Silence Django's warning that WhiteNoise streams static files with a synchronous iterator under ASGI.

    WhiteNoise has no asynchronous file iterator; Django consumes the file in a thread, which is correct.
    """
    warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous iterators")


def migrations_pending() -> bool:
    """Return whether the database lacks migrations this code has."""
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))


class Command(BaseCommand):
    help = "Serve Tiski over HTTP and WebSocket with uvicorn (no migrations, no demo data)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("TISKI_HOST", "127.0.0.1"), help="default: 127.0.0.1")
        parser.add_argument("--port", type=int, default=int(os.environ.get("TISKI_PORT", "8000")), help="default: 8000")
        parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default: 1)")
        parser.add_argument(
            "--forwarded-allow-ips",
            default=os.environ.get("TISKI_FORWARDED_ALLOW_IPS", "127.0.0.1"),
            help="proxies whose X-Forwarded-* headers are trusted (default: 127.0.0.1)",
        )

    def handle(self, *args: Any, host: str, port: int, workers: int, forwarded_allow_ips: str, **options: Any) -> None:
        import uvicorn

        if workers < 1:
            raise CommandError("--workers must be at least 1.")
        if migrations_pending():
            raise CommandError("The database is not up to date: run `tiski migrate` first.")
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # WhiteNoise warns when it is missing
        quiet_static_file_warning()
        uvicorn.run(
            ASGI_APP,
            host=host,
            port=port,
            workers=workers,
            lifespan="on",
            proxy_headers=True,
            forwarded_allow_ips=forwarded_allow_ips,
            server_header=False,
            log_level=os.environ.get("TISKI_LOG_LEVEL", "info").lower(),
        )
