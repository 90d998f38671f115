"""What the benchmark scripts share: a throw-away PostgreSQL database, the machine's description, percentiles."""

from __future__ import annotations

import os
import platform
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def pg_database(admin_url: str, name: str, *, create: bool, reuse: bool = False) -> str:
    """Drop database NAME and, when CREATE, create it afresh (REUSE: keep an existing one); return its URL."""
    import dj_database_url
    import psycopg

    db = dj_database_url.parse(admin_url)
    params = {
        "host": db["HOST"] or "127.0.0.1",
        "port": db["PORT"] or 5432,
        "user": db["USER"] or "postgres",
        "password": db["PASSWORD"] or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**params) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not (reuse and exists):
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            if create:
                conn.execute(f"CREATE DATABASE {name}")
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{params['user']}{password}@{params['host']}:{params['port']}/{name}"


def database_arguments(parser: Any, *, pg_name: str) -> None:
    """Add the options of a benchmark on a throw-away database: --db, --postgres-url, --pg-name, --keep,
    --reuse, --workdir (what django_bench reads)."""
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("TISKI_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument("--pg-name", default=pg_name, help="name of the throw-away PostgreSQL database")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument("--reuse", action="store_true", help="reuse a kept database (no seeding)")
    parser.add_argument("--workdir", help="data directory (default: a fresh temporary one)")


def machine() -> dict[str, Any]:
    """Return the CPU model, cores, memory and Python version, for the results."""
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        model = next(
            (line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if "model name" in line), ""
        )
    memory_gb = 0.0
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kb = int(next(line.split()[1] for line in meminfo.read_text().splitlines() if line.startswith("MemTotal")))
        memory_gb = round(kb / 1024 / 1024, 1)
    return {"cpu": model, "cores": os.cpu_count(), "memory_gb": memory_gb, "python": platform.python_version()}


def percentile(samples: list[float], fraction: float) -> float:
    """Return the sample at FRACTION (0.95) of the sorted SAMPLES (nearest rank)."""
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def environment_set(workdir: Path) -> None:
    """Point Tiski's settings at WORKDIR for data and quiet logging, as every benchmark runs it."""
    (workdir / "static").mkdir(parents=True, exist_ok=True)
    os.environ["TISKI_DATA_DIR"] = str(workdir)
    os.environ["TISKI_ALLOWED_HOSTS"] = "testserver,127.0.0.1"
    os.environ["TISKI_LOG_LEVEL"] = "WARNING"
    os.environ.pop("TISKI_DEBUG", None)
    os.environ.setdefault("TISKI_SECRET_KEY", "benchmark-only-secret-key-" + "x" * 40)
    os.environ["DJANGO_SETTINGS_MODULE"] = "tiski.settings"


def django_bench(args: Any, pg_name: str, run: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """Set Tiski up on a fresh data directory and database (ARGS.db: sqlite or postgres), call RUN(ARGS), and
    clean up unless ARGS.keep or ARGS.reuse; return RUN's results."""
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="tiski-bench-"))
    environment_set(workdir)
    if args.db == "postgres":
        os.environ["DATABASE_URL"] = pg_database(args.postgres_url, pg_name, create=True, reuse=args.reuse)
    else:
        os.environ.pop("DATABASE_URL", None)

    import django

    django.setup()
    try:
        return run(args)
    finally:
        from django.db import connections

        connections.close_all()
        if args.keep or args.reuse:
            print(f"kept: {workdir if args.db == 'sqlite' else pg_name}", file=sys.stderr)
        else:
            if args.db == "postgres":
                pg_database(args.postgres_url, pg_name, create=False)
            shutil.rmtree(workdir, ignore_errors=True)
