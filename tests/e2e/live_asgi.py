"""A live ASGI server for browser tests: tiski.asgi.application under uvicorn, as production runs it.

Lifespan is on, so the embedded router runs inside the server; WebSockets work (the console's live connection).
The server runs in a background thread on a free loopback port and serves the pytest-django test database of
a transactional test. Use it as a fixture: ``def test_…(live_asgi: str)`` gets the base URL.

Two things differ from pytest-django's live_server, both because several threads now write at once (the
router's thread, the server's request threads, the test itself):

- An in-memory SQLite test database is shared through SQLite's shared cache, which fails a second writer at
  once instead of letting it wait. For the test it is copied into a file database that every thread opens with
  WAL and IMMEDIATE transactions, as production does; the in-memory one is back afterwards. PostgreSQL and a
  file test database (TISKI_TEST_DB_NAME) are used as they are.
- The channel layer is Redis (a database of its own, a prefix of its own): pushes are sent from the test's
  thread, the router's thread and the server's event loop, which the in-memory layer does not allow.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import uvicorn
from django.db import connections

REDIS_URL = "redis://127.0.0.1:6379/12"  # other tests use 11; a prefix per run keeps parallel runs apart
START_TIMEOUT_S = 30.0


def _redis_or_skip() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"needs Redis at {REDIS_URL} for the channel layer across threads: {exc}")


@contextlib.contextmanager
def _shareable_database(directory: Path) -> Iterator[None]:
    """Within this block, let every thread open its own connection to the test database (see the module doc)."""
    memory = connections["default"]
    if memory.vendor != "sqlite" or not memory.is_in_memory_db():
        yield
        return
    memory.ensure_connection()
    path = directory / "live.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as target:
        memory.connection.backup(target)
    # Changed in place: every connection object shares this dict, also those that long-lived threads (channels'
    # database thread) keep from one test to the next, so they reconnect to this test's database.
    shared = connections.settings["default"]
    memory_name = shared["NAME"]
    shared["NAME"] = str(path)
    connections["default"] = connections.create_connection("default")
    try:
        yield
    finally:
        connections["default"].close()
        shared["NAME"] = memory_name
        connections["default"] = memory  # open all along, so the in-memory database still exists


class _Server(threading.Thread):
    """uvicorn serving tiski.asgi.application on SOCK in a thread of its own, with its own event loop."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(name="live-asgi", daemon=True)
        from tiski.asgi import application

        config = uvicorn.Config(
            application,
            lifespan="on",
            log_config=None,
            log_level="warning",
            ws="websockets-sansio",
            timeout_graceful_shutdown=5,  # browsers still connected are not waited for
        )
        self.server = uvicorn.Server(config)
        self.sock = sock
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self.server.serve(sockets=[self.sock]))
        except BaseException as exc:  # reported by the fixture
            self.failure = exc
        finally:
            connections.close_all()

    def wait_started(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.server.started:
            if self.failure is not None or not self.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the live ASGI server did not start: {self.failure!r}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server (and with it the router) and wait for it; raise if either does not stop."""
        from tiski.routing import service

        self.server.should_exit = True
        self.join(START_TIMEOUT_S)
        if self.is_alive():
            raise RuntimeError("the live ASGI server did not stop")
        if self.failure is not None:
            raise RuntimeError("the live ASGI server failed") from self.failure
        if service._embedded is not None:
            raise RuntimeError("the router did not stop with the server (the lifespan shutdown did not run)")


@pytest.fixture
def live_asgi(transactional_db: None, settings: Any, tmp_path: Path) -> Iterator[str]:
    """Serve Tiski over HTTP and WebSocket on 127.0.0.1 with the router running; yield the base URL."""
    _redis_or_skip()
    prefix = f"tiski-e2e-{uuid.uuid4().hex[:8]}"
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # The layer's blocking reads wait up to 5 s; redis-py's default socket timeout is 5 s as well.
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 30}], "prefix": prefix},
        }
    }
    with _shareable_database(tmp_path):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        server = _Server(sock)
        server.start()
        try:
            server.wait_started()
            yield f"http://127.0.0.1:{sock.getsockname()[1]}"
        finally:
            server.stop()
            sock.close()
            client = redis.Redis.from_url(REDIS_URL)
            for key in client.scan_iter(f"{prefix}*"):  # the layer's flush() needs an event loop of its own
                client.delete(key)
