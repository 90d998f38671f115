"""What the benchmark scripts share: a throw-away PostgreSQL database, the machine's description, percentiles."""

from __future__ import annotations

import os
import platform
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
