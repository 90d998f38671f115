"""Queries run for every inbound message, compiled once per database connection.

Building and compiling an ORM query costs more than running it (about a millisecond on a busy machine, for
indexed lookups the database answers in tens of microseconds). A query that takes one id is compiled once per
connection with a placeholder id, then executed with the real one (tiski.customers.lookup does the same for
the identity lookup).

    row = prepared_row("contact", lambda pk: Message.objects.filter(pk=pk).values_list(...), message_id)
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import QuerySet

_PLACEHOLDER = -7_777_777_777


@dataclass(frozen=True)
class _Prepared:
    sql: str
    params: tuple[Any, ...]
    slot: int  # where the id goes in params


_prepared: weakref.WeakKeyDictionary[BaseDatabaseWrapper, dict[str, _Prepared]] = weakref.WeakKeyDictionary()


def prepared_row(name: str, build: Callable[[int], QuerySet[Any]], pk: int) -> tuple[Any, ...] | None:
    """Run the query BUILD makes for PK (compiled once per connection under NAME) and return its first row."""
    rows = prepared_rows(name, build, pk, first=True)
    return rows[0] if rows else None


def prepared_rows(
    name: str, build: Callable[[int], QuerySet[Any]], pk: int, *, first: bool = False
) -> list[tuple[Any, ...]]:
    """Run the query BUILD makes for PK (compiled once per connection under NAME) and return its rows (only the
    first with FIRST)."""
    connection = connections[DEFAULT_DB_ALIAS]
    plans = _prepared.setdefault(connection, {})
    plan = plans.get(name)
    if plan is None:
        sql, params = build(_PLACEHOLDER).query.get_compiler(connection=connection).as_sql()
        slots = [index for index, param in enumerate(params) if param == _PLACEHOLDER]
        if len(slots) != 1:
            raise AssertionError(f"unexpected query for {name}: {sql} {params}")
        plan = plans[name] = _Prepared(sql=sql, params=tuple(params), slot=slots[0])
    params = list(plan.params)
    params[plan.slot] = pk
    with connection.cursor() as cursor:
        cursor.execute(plan.sql, params)
        if first:
            row = cursor.fetchone()
            return [tuple(row)] if row is not None else []
        return [tuple(row) for row in cursor.fetchall()]
