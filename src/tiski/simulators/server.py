"""What both provider simulators are: an HTTP server on loopback in a thread, with the test knobs they share."""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class LoopbackSimulator(ABC):
    """A provider stand-in serving HTTP on HOST:PORT (0: any free port) in a thread of its own.

    Subclasses give the request handler (handler_class) and send their status callbacks in threads added to
    _callback_threads, each waiting for _release first (hold_callbacks holds them until release_callbacks()).
    """

    thread_name = "provider-simulator"

    def __init__(self, *, host: str, port: int, hold_callbacks: bool) -> None:
        self.host = host
        self.port = port
        self._failures: list[int] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        if not hold_callbacks:
            self._release.set()
        self._callback_threads: list[threading.Thread] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @abstractmethod
    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        """Return the request handler class serving this simulator's API."""

    # --- life cycle ---------------------------------------------------------------------------------------

    def start(self) -> Self:
        """Start serving in a thread of its own and return self."""
        server = ThreadingHTTPServer((self.host, self.port), self.handler_class())
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=self.thread_name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Let pending status callbacks finish (at most a few seconds), then stop serving."""
        self._release.set()
        self._callbacks_join(timeout=5)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Return the base URL the adapters are pointed at (http://127.0.0.1:<port>)."""
        if self._server is None:
            raise RuntimeError("the simulator is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # --- knobs for tests ----------------------------------------------------------------------------------

    def fail_next(self, status: int = 500, times: int = 1) -> None:
        """Answer the next TIMES message creations with STATUS (500: internal error, 429: too many requests)."""
        with self._lock:
            self._failures.extend([status] * times)

    def release_callbacks(self) -> None:
        """Let held status callbacks go (see hold_callbacks)."""
        self._release.set()

    def _callbacks_join(self, *, timeout: float) -> None:
        """Wait until every status callback started so far has been answered (at most TIMEOUT seconds)."""
        deadline = time.monotonic() + timeout
        for thread in list(self._callback_threads):
            thread.join(timeout=max(deadline - time.monotonic(), 0))
