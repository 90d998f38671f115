"""SQL the figures need beyond Django's own: percentiles and seconds between two times, on both databases.

PostgreSQL has ``percentile_cont``; SQLite (as Python ships it) has none, so each SQLite connection gets an
aggregate of the same name and meaning (connection_created, see apps). Either way the rows stay in the database.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import connection, transaction
from django.db.models import Aggregate, FloatField, Func


class Percentile(Aggregate):
    """The continuous percentile FRACTION (0.5: the median) of EXPRESSION over the group, NULLs left out."""

    function = "percentile_cont"
    output_field = FloatField()

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        self.fraction = float(fraction)
        super().__init__(expression, **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"percentile_cont({self.fraction!r}) WITHIN GROUP (ORDER BY {sql})", params

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"tiski_percentile({sql}, {self.fraction!r})", params


class Seconds(Func):
    """The seconds from START to END (two datetime expressions) as a float."""

    output_field = FloatField()
    arity = 2

    def __init__(self, end: Any, start: Any, **extra: Any) -> None:
        super().__init__(end, start, **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="EXTRACT(EPOCH FROM (%(expressions)s))", arg_joiner=" - ")

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, template="((julianday(%(expressions)s)) * 86400.0)", arg_joiner=") - julianday("
        )


class _PercentileCont:
    """SQLite aggregate: PostgreSQL's percentile_cont (linear interpolation between the closest ranks)."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.fraction = 0.5

    def step(self, value: Any, fraction: float) -> None:
        self.fraction = fraction
        if value is not None:
            self.values.append(float(value))

    def finalize(self) -> float | None:
        if not self.values:
            return None
        self.values.sort()
        position = self.fraction * (len(self.values) - 1)
        low, high = math.floor(position), math.ceil(position)
        return self.values[low] + (self.values[high] - self.values[low]) * (position - low)


def sqlite_functions(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Give each new SQLite connection the aggregate tiski_percentile(value, fraction)."""
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate("tiski_percentile", 2, _PercentileCont)


_planned: ContextVar[bool] = ContextVar("report_queries", default=False)


@contextmanager
def report_queries() -> Iterator[None]:
    """Run the enclosed report queries planned for solid-state storage on PostgreSQL (random_page_cost 1.1, not
    the default 4, for this transaction only): with the default, the planner preferred scanning a period's rows
    by time to fetching one agent's through (owner, …) indexes — 3.5–5.5 s instead of ~1 s for an agent's 90 days
    on 1,000,000 cases (benchmarks/reports.py). A page of many figures runs them all in one such transaction."""
    if connection.vendor != "postgresql" or _planned.get():
        yield  # (inside an enclosing report_queries(): its transaction has the setting already)
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL random_page_cost = 1.1")
        token = _planned.set(True)
        try:
            yield
        finally:
            _planned.reset(token)
