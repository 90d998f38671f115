"""Run the real `tiski` command in subprocesses, each against its own data directory."""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

# Settings the test process has that a fresh `tiski` must not inherit: it uses the data dir it is given.
ISOLATED = ("DATABASE_URL", "TISKI_DATA_DIR", "TISKI_EMAIL_BACKEND", "TISKI_TEST_DB_NAME", "DJANGO_SETTINGS_MODULE")


def tiski_env(**extra: str) -> dict[str, str]:
    """Return an environment for a `tiski` subprocess: SQLite in its data dir, unbuffered output."""
    env = {key: value for key, value in os.environ.items() if key not in ISOLATED}
    env.update(PYTHONUNBUFFERED="1", TISKI_LOG_LEVEL="WARNING", **extra)
    return env


def tiski_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "tiski.cli", *args]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def demo_port() -> int:
    """A free port for `tiski demo --port N` whose provider simulators' ports (N + 20, N + 21) are free too."""
    for _attempt in range(50):
        port = free_port()
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port + 20))
                b.bind(("127.0.0.1", port + 21))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port with free ports 20 and 21 above it")


def process_alive(pid: int) -> bool:
    """Return whether PID runs (a zombie counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def wait_for(predicate: Callable[[], object], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
