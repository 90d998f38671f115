"""What a report is about: a date range in the reporting time zone and the dimensions it is narrowed to.

One ReportFilter serves the console, the API, the exports and the drill-down to cases, read from a query string
(``from``, ``to``, ``channel``, …) with every bad value named in one error.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

MAX_DAYS = 366 * 3
DEFAULT_DAYS = 28

# Dimension: (query parameter, CaseFact field, type). A figure narrows its facts by each one given.
DIMENSIONS: dict[str, tuple[str, type]] = {
    "channel": ("channel_id", int),
    "channel_kind": ("channel_kind", str),
    "queue": ("queue_id", int),
    "team": ("team_id", int),
    "agent": ("owner_id", int),
    "category": ("category_id", int),
    "type": ("type", str),
    "customer": ("customer_id", int),
    "organization": ("organization_id", int),
    "product": ("product", str),
}


class FilterError(ValueError):
    """A report's parameters are wrong; the message says which and why."""


def report_zone() -> ZoneInfo:
    """The time zone days and hours are counted in: the default business calendar's, else the site's."""
    from tiski.sla.models import BusinessCalendar

    zone = BusinessCalendar.objects.filter(is_default=True).values_list("time_zone", flat=True).first()
    return ZoneInfo(zone or settings.TIME_ZONE)


@dataclass(frozen=True)
class ReportFilter:
    start: date
    end: date  # inclusive
    zone: ZoneInfo
    channel: int | None = None
    channel_kind: str | None = None
    queue: int | None = None
    team: int | None = None
    agent: int | None = None
    category: int | None = None
    type: str | None = None
    customer: int | None = None
    organization: int | None = None
    product: str | None = None

    @classmethod
    def last_days(cls, days: int = DEFAULT_DAYS, *, today: date | None = None, **dims: Any) -> ReportFilter:
        zone = report_zone()
        today = today or timezone.now().astimezone(zone).date()
        return cls(start=today - timedelta(days=days - 1), end=today, zone=zone, **dims)

    @classmethod
    def from_query(cls, query: Any, *, today: date | None = None) -> ReportFilter:
        """Read a filter from QUERY (a QueryDict or dict): ``from``/``to`` as YYYY-MM-DD (default: the last 28
        days), or ``days``; each dimension as its id or value. Raises FilterError naming every bad value."""
        zone = report_zone()
        today = today or timezone.now().astimezone(zone).date()
        errors: list[str] = []
        dims: dict[str, Any] = {}
        for name, (_field, kind) in DIMENSIONS.items():
            raw = (query.get(name) or "").strip()
            if not raw:
                continue
            if kind is int:
                if not raw.isdigit():
                    errors.append(f"{name}: expected an id (a whole number), got {raw!r}")
                    continue
                dims[name] = int(raw)
            else:
                dims[name] = raw[:100]
        start, end = today - timedelta(days=DEFAULT_DAYS - 1), today
        days = (query.get("days") or "").strip()
        if days:
            if not days.isdigit() or not 1 <= int(days) <= MAX_DAYS:
                errors.append(f"days: expected a whole number from 1 to {MAX_DAYS}, got {days!r}")
            else:
                start = today - timedelta(days=int(days) - 1)
        for key in ("from", "to"):
            raw = (query.get(key) or "").strip()
            if not raw:
                continue
            try:
                value = date.fromisoformat(raw)
            except ValueError:
                errors.append(f"{key}: expected a date as YYYY-MM-DD, got {raw!r}")
                continue
            if key == "from":
                start = value
            else:
                end = value
        if not errors and end < start:
            errors.append(f"to ({end}) is before from ({start})")
        if not errors and (end - start).days + 1 > MAX_DAYS:
            errors.append(f"the range is {(end - start).days + 1} days; at most {MAX_DAYS}")
        if errors:
            raise FilterError("; ".join(errors))
        return cls(start=start, end=end, zone=zone, **dims)

    # ── what it selects ──

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def bounds(self) -> tuple[datetime, datetime]:
        """The range as [start, end) aware datetimes: local midnight of START to local midnight after END."""
        return self.local_midnight(self.start), self.local_midnight(self.end + timedelta(days=1))

    def local_midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=self.zone)

    def previous(self) -> ReportFilter:
        """The same filter over the period of the same length just before (for comparisons)."""
        return dataclasses.replace(
            self, start=self.start - timedelta(days=self.days), end=self.start - timedelta(days=1)
        )

    def dimensions(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in DIMENSIONS if getattr(self, name) not in (None, "")}

    def facts_q(self, prefix: str = "") -> Q:
        """Q narrowing CaseFact rows (or rows joined to them through PREFIX, e.g. "case__fact__") to the dimensions."""
        q = Q()
        for name, value in self.dimensions().items():
            q &= Q(**{prefix + DIMENSIONS[name][0]: value})
        return q

    def in_range(self, queryset: QuerySet[Any], field: str) -> QuerySet[Any]:
        start, end = self.bounds()
        return queryset.filter(**{f"{field}__gte": start, f"{field}__lt": end})

    def to_query(self) -> dict[str, str]:
        """The query parameters that give this filter back."""
        out = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        out.update({name: str(value) for name, value in self.dimensions().items()})
        return out
