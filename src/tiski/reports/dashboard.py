"""The operations dashboard: everything a team lead watches live, in one call (each part one figure)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from django.utils import timezone

from tiski.reports.figures import backlog, figure_table, open_now, queues_now, sla_now, volume_today
from tiski.reports.filters import ReportFilter
from tiski.reports.sql import report_queries
from tiski.reports.table import Table

HEATMAP_WEEKS = 8


def operations_dashboard(flt: ReportFilter | None = None, *, now: datetime | None = None) -> dict[str, Table]:
    """The dashboard's tables, narrowed to FLT's dimensions (its date range is not used: the dashboard shows now,
    today, and the last HEATMAP_WEEKS weeks for the peak heatmap)."""
    with report_queries():
        return _operations_dashboard(flt, now=now)


def _operations_dashboard(flt: ReportFilter | None, *, now: datetime | None) -> dict[str, Table]:
    now = now or timezone.now()
    flt = flt or ReportFilter.last_days(1)
    today = now.astimezone(flt.zone).date()
    today_only = dataclasses.replace(flt, start=today, end=today)
    weeks = dataclasses.replace(flt, start=today - timedelta(days=7 * HEATMAP_WEEKS), end=today - timedelta(days=1))
    parts = {
        "open": _named("open_now", "status", open_now(flt, "status", now=now)),
        "sla": _named("sla_now", "metric", sla_now(flt, "metric", now=now)),
        "queues": _named("queues_now", "queue", queues_now(flt, "queue", now=now)),
        "today": _named("volume_today", "hour", volume_today(flt, "hour", now=now)),
        "backlog": _named("backlog", "age", backlog(flt, "age", now=now)),
        "heatmap": figure_table("contacts_in", weeks, "weekday_hour"),
        "csat": figure_table("csat", today_only, "none"),
    }
    return parts


def _named(name: str, by: str, table: Table) -> Table:
    from tiski.reports.figures import FIGURES

    spec = FIGURES[name]
    table.figure, table.by, table.title, table.definition = name, by, spec.title, spec.definition
    return table
