"""SQLite's write-ahead log, switched on once per process instead of on every connection.

`PRAGMA journal_mode=WAL` is stored in the database file, but running it takes a lock and can wait behind a
writer; as an init command it ran on every new connection — under ASGI that is every request and every
database call of a WebSocket consumer (a quarter of the chat server's CPU in benchmarks/chat.py). The first
connection of each process sets it (a new database file, a restored copy); the others only set what is per
connection (synchronous=NORMAL, in the settings' init command).
"""

from __future__ import annotations

import threading
from typing import Any

_checked: set[str] = set()
_lock = threading.Lock()


def sqlite_wal_once(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Switch CONNECTION's SQLite database to WAL the first time this process connects to it."""
    if connection.vendor != "sqlite":
        return
    name = str(connection.settings_dict.get("NAME"))
    if name in _checked:
        return
    with _lock:
        connection.connection.execute("PRAGMA journal_mode=WAL")  # the raw connection: no wrappers re-entered
        _checked.add(name)
