"""SQLite runs in WAL mode: the first connection of a process switches a new database file to it, once."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connections
from django.db.backends.sqlite3.base import DatabaseWrapper

from tiski.core import sqlite

pytestmark = pytest.mark.django_db


def _wrapper(path: Path) -> DatabaseWrapper:
    settings_dict = {**connections["default"].settings_dict}
    settings_dict.update(
        ENGINE="django.db.backends.sqlite3",
        NAME=str(path),
        OPTIONS={"init_command": "PRAGMA synchronous=NORMAL;", "timeout": 5},
        TEST={},
    )
    return DatabaseWrapper(settings_dict, alias="wal-test")


def test_a_new_database_file_is_switched_to_wal_once_per_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite, "_checked", set())
    path = tmp_path / "new.sqlite3"
    first = _wrapper(path)
    with first.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA synchronous")
        assert cursor.fetchone()[0] == 1  # NORMAL, set per connection
    first.close()
    assert str(path) in sqlite._checked
    statements: list[str] = []
    second = _wrapper(path)
    second.ensure_connection()
    second.connection.set_trace_callback(statements.append)
    sqlite.sqlite_wal_once(sender=None, connection=second)  # what the signal does on the next connection
    second.close()
    assert not any("journal_mode" in s for s in statements)
