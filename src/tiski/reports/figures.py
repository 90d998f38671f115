"""The key figures, each defined once: what it counts, over which rows, grouped how.

Every figure is SQL aggregates over indexed rows (CaseFact for per-case figures, the live tables for the rest);
no figure loads the rows it counts into Python. docs/reports.md gives each definition in words; the tests check
each against hand-computed values. ``figure_table(name, filter, by)`` is the one way in.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Avg, Count, Exists, F, Min, OuterRef, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, ExtractHour, ExtractIsoWeekDay, Trunc, TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tiski.cases.models import Case, CaseEvent, Category, Message
from tiski.channels.models import Channel, ChannelKind
from tiski.reports.filters import DIMENSIONS, FilterError, ReportFilter
from tiski.reports.models import CaseFact, TargetFact
from tiski.reports.sql import Percentile, Seconds, report_queries
from tiski.reports.table import COUNT, DATE, HOUR, NUMBER, PERCENT, SECONDS, TEXT, Column, Figure, Table
from tiski.sla.models import SlaClock

FIGURES: dict[str, Figure] = {}


def figure(
    name: str, title: Any, definition: Any, groupings: Iterable[str], *, live: bool = False, agent_visible: bool = True
) -> Callable[[Callable[..., Table]], Callable[..., Table]]:
    """Register the decorated function as figure NAME."""

    def register(compute: Callable[..., Table]) -> Callable[..., Table]:
        FIGURES[name] = Figure(name, title, definition, tuple(groupings), compute, live, agent_visible)
        return compute

    return register


def figure_table(name: str, flt: ReportFilter, by: str | None = None) -> Table:
    """Compute figure NAME over FLT grouped BY (its default when None); FilterError names what is wrong."""
    spec = FIGURES.get(name)
    if spec is None:
        raise FilterError(f"no figure {name!r}; the figures are: {', '.join(sorted(FIGURES))}")
    by = by or spec.default_by
    if by not in spec.groupings:
        raise FilterError(f"{name} cannot be grouped by {by!r}; it can by: {', '.join(spec.groupings)}")
    with report_queries():
        table = spec.compute(flt, by)
    table.figure, table.by = name, by
    table.title, table.definition = table.title or spec.title, table.definition or spec.definition
    return table


# ── grouping ──────────────────────────────────────────────────────────────────────────────────────────────────

BY_LABELS: dict[str, Any] = {
    "none": _("Total"),
    "day": _("Day"),
    "hour": _("Hour"),
    "weekday_hour": _("Weekday and hour"),
    "channel_kind": _("Channel"),
    "channel": _("Mailbox, number or account"),
    "queue": _("Queue"),
    "team": _("Team"),
    "agent": _("Agent"),
    "category": _("Category"),
    "type": _("Type"),
    "product": _("Product"),
    "organization": _("Organisation"),
    "customer": _("Customer"),
    "priority": _("Priority"),
    "metric": _("Target"),
    "age": _("Age"),
    "status": _("Status"),
    "tag": _("Tag"),
    "keyword": _("Keyword"),
    "article": _("Article"),
    "macro": _("Macro"),
    "score": _("Score"),
    "source": _("Source"),
}
# A grouping's CaseFact field (dimension groupings).
_FIELD = {name: field for name, (field, _kind) in DIMENSIONS.items()}
_FIELD["priority"] = "priority"


def _group_values(
    qs: QuerySet[Any],
    by: str,
    date_field: str,
    flt: ReportFilter,
    prefix: str = "",
    fields: Mapping[str, str] | None = None,
) -> tuple[QuerySet[Any], list[str]]:
    """QS grouped BY: annotated with the group's key columns (named "k1", "k2"); return it and those names."""
    if by == "none":
        return qs.annotate(k1=_zero()).values("k1"), ["k1"]
    if by == "day":
        return qs.annotate(k1=TruncDate(date_field, tzinfo=flt.zone)).values("k1"), ["k1"]
    if by == "hour":
        return qs.annotate(k1=ExtractHour(date_field, tzinfo=flt.zone)).values("k1"), ["k1"]
    if by == "weekday_hour":
        qs = qs.annotate(k1=ExtractIsoWeekDay(date_field, tzinfo=flt.zone), k2=ExtractHour(date_field, tzinfo=flt.zone))
        return qs.values("k1", "k2"), ["k1", "k2"]
    field = (fields or {}).get(by) or prefix + _FIELD[by]
    return qs.annotate(k1=F(field)).values("k1"), ["k1"]


def _zero() -> Any:
    from django.db.models import Value
    from django.db.models.fields import IntegerField

    return Value(0, output_field=IntegerField())


def _labels(by: str, keys: Iterable[Any]) -> dict[Any, str]:
    """Names for the keys of grouping BY, one query for all."""
    keys = {k for k in keys if k is not None}
    if by in ("channel", "queue", "team", "agent", "category", "organization", "customer"):
        return _names(by, keys)
    if by == "channel_kind":
        return {k: str(ChannelKind(k).label) if k in ChannelKind.values else k for k in keys}
    if by == "type":
        return {k: str(Case.Type(k).label) if k in Case.Type.values else k for k in keys}
    if by == "priority":
        return {k: str(Case.Priority(k).label) if k in Case.Priority.values else str(k) for k in keys}
    if by == "hour":
        return {k: f"{int(k):02d}" for k in keys}
    if by == "day":
        return {k: k.isoformat() for k in keys}
    if by == "none":
        return {k: str(BY_LABELS["none"]) for k in keys}
    return {k: str(k) if k not in (None, "") else "—" for k in keys}


def _names(by: str, keys: set[Any]) -> dict[Any, str]:
    from tiski.accounts.models import Team
    from tiski.customers.models import Customer, Organization
    from tiski.routing.models import Queue

    if by == "agent":
        users = get_user_model().objects.filter(pk__in=keys).values_list("pk", "first_name", "last_name", "username")
        return {pk: f"{first} {last}".strip() or username for pk, first, last, username in users}
    if by == "category":
        from django.utils.translation import get_language

        language = get_language() or "en"
        return {c.pk: c.label(language) for c in Category.objects.filter(pk__in=keys)}
    model: Any = {"channel": Channel, "queue": Queue, "team": Team, "organization": Organization, "customer": Customer}[
        by
    ]
    return {pk: name or f"#{pk}" for pk, name in model.objects.filter(pk__in=keys).values_list("pk", "name")}


def _key_columns(by: str) -> list[Column]:
    if by == "weekday_hour":
        return [Column("weekday", _("Weekday"), COUNT), Column("hour", _("Hour"), HOUR)]
    unit = DATE if by == "day" else HOUR if by == "hour" else TEXT
    return [Column("key", BY_LABELS[by], unit), Column("label", BY_LABELS[by], TEXT)]


def _key_row(by: str, row: Mapping[str, Any], labels: Mapping[Any, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The key cells of a grouped ROW and the drill-down parameters that select its group."""
    if by == "weekday_hour":
        return {"weekday": row["k1"], "hour": row["k2"]}, {"weekday": str(row["k1"]), "hour": str(row["k2"])}
    key = row["k1"]
    cells = {"key": key, "label": labels.get(key, "—" if key in (None, "") else str(key))}
    if by == "none":
        return cells, {}
    if by == "day":
        return cells, {"day": key.isoformat()} if key else {}
    if by == "hour":
        return cells, {"hour": str(key)}
    return cells, {by: "none" if key in (None, "") else str(key)}


def _grouped(
    flt: ReportFilter,
    by: str,
    date_field: str,
    qs: QuerySet[Any],
    aggregates: Mapping[str, Any],
    value_columns: list[Column],
    finish: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    drill: Mapping[str, str] | None = None,
    order: str | None = None,
    prefix: str = "",
    fields: Mapping[str, str] | None = None,
    labels: Callable[[set[Any]], dict[Any, str]] | None = None,
) -> Table:
    """A Table of QS (already in range) grouped BY with AGGREGATES; FINISH derives computed cells of a row.
    Dimension groupings read PREFIX + the CaseFact field (or FIELDS[by] where given)."""
    grouped, keys = _group_values(qs, by, date_field, flt, prefix, fields)
    rows = list(grouped.annotate(**aggregates).order_by(*keys))
    keys_seen = {r["k1"] for r in rows}
    names = labels(keys_seen) if labels else _labels(by, keys_seen)
    table = Table(columns=[*_key_columns(by), *value_columns])
    for row in rows:
        cells, row_drill = _key_row(by, row, names)
        values = {c.key: row.get(c.key) for c in value_columns}
        if finish:
            derived = finish({**row, **values})
            values = {c.key: derived.get(c.key) for c in value_columns}
        for column in value_columns:  # durations to the second: julianday() arithmetic leaves float dust
            if column.unit == SECONDS and values[column.key] is not None:
                values[column.key] = round(values[column.key], 1)
        table.add({**cells, **values}, {**(drill or {}), **row_drill})
    if order and by not in ("day", "hour", "weekday_hour", "none"):
        pairs = sorted(zip(table.rows, table.drill, strict=True), key=lambda p: -(p[0].get(order) or 0))
        table.rows, table.drill = [p[0] for p in pairs], [p[1] for p in pairs]
    return table


def facts(flt: ReportFilter, date_field: str = "created_at") -> QuerySet[CaseFact]:
    """CaseFact rows in FLT's range (on DATE_FIELD) and dimensions."""
    return flt.in_range(CaseFact.objects.filter(flt.facts_q()), date_field)


# ── contacts ──────────────────────────────────────────────────────────────────────────────────────────────────


@figure(
    "contacts_in",
    _("Contacts in"),
    _(
        "New cases the customer started (by writing or calling; not outbound tasks), counted when they arrived: "
        "each contact that did not continue an open case."
    ),
    (
        "day",
        "hour",
        "weekday_hour",
        "channel_kind",
        "channel",
        "queue",
        "team",
        "category",
        "type",
        "product",
        "organization",
        "agent",
        "priority",
        "none",
    ),
)
def contacts_in(flt: ReportFilter, by: str) -> Table:
    if by == "weekday_hour":
        return _contacts_weekday_hour(flt)
    return _grouped(
        flt,
        by,
        "created_at",
        facts(flt).filter(inbound=True),
        {"contacts": Count("pk")},
        [Column("contacts", _("Contacts"))],
        order="contacts",
    )


def _contacts_weekday_hour(flt: ReportFilter) -> Table:
    """Contacts per weekday × hour: counted per local hour in SQL (a planner cannot estimate two extracted
    values, and grouped by them it sorted every row), the at most 24 × days hours then folded into 7 × 24."""
    per_hour = (
        facts(flt)
        .filter(inbound=True)
        .order_by()
        .values(h=Trunc("created_at", "hour", tzinfo=flt.zone))
        .annotate(n=Count("*"))
    )
    cells: Counter[tuple[int, int]] = Counter()
    for row in per_hour:
        local = row["h"].astimezone(flt.zone)
        cells[(local.isoweekday(), local.hour)] += row["n"]
    table = Table(columns=[*_key_columns("weekday_hour"), Column("contacts", _("Contacts"))])
    for (weekday, hour), count in sorted(cells.items()):
        table.add({"weekday": weekday, "hour": hour, "contacts": count}, {"weekday": str(weekday), "hour": str(hour)})
    return table


# ── response and resolution ───────────────────────────────────────────────────────────────────────────────────

_TIME_BY = (
    "none",
    "day",
    "channel_kind",
    "channel",
    "queue",
    "team",
    "agent",
    "category",
    "type",
    "priority",
    "product",
    "organization",
)


def _duration_columns(kind: str) -> list[Column]:
    return [
        Column("cases", _("Cases")),
        Column("median_s", _("Median"), SECONDS),
        Column("p90_s", _("90th percentile"), SECONDS),
        Column("median_bs", _("Median, business hours"), SECONDS),
        Column("p90_bs", _("90th percentile, business hours"), SECONDS),
    ]


def _durations(flt: ReportFilter, by: str, date_field: str, wall: str, business: str, drill: str) -> Table:
    qs = facts(flt, date_field).filter(**{f"{wall}__isnull": False})
    aggregates = {
        "cases": Count("pk"),
        "median_s": Percentile(wall, 0.5),
        "p90_s": Percentile(wall, 0.9),
        "median_bs": Percentile(business, 0.5),
        "p90_bs": Percentile(business, 0.9),
    }
    return _grouped(flt, by, date_field, qs, aggregates, _duration_columns(wall), drill={"date": drill}, order="cases")


@figure(
    "first_response",
    _("First response time"),
    _(
        "From the case's arrival to the first reply an agent sent to the customer (automatic acknowledgements do "
        "not count), for cases first answered in the period. Business hours count only the default business "
        "calendar's opening hours."
    ),
    _TIME_BY,
)
def first_response(flt: ReportFilter, by: str) -> Table:
    return _durations(flt, by, "first_response_at", "first_response_s", "first_response_bs", "first_response")


@figure(
    "resolution",
    _("Resolution time"),
    _(
        "From the case's arrival to its solving (the last time, if it was reopened), for cases solved in the "
        "period and still solved or closed."
    ),
    _TIME_BY,
)
def resolution(flt: ReportFilter, by: str) -> Table:
    return _durations(flt, by, "solved_at", "resolution_s", "resolution_bs", "solved")


def _rate(numerator: str, denominator: str, out: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def finish(row: dict[str, Any]) -> dict[str, Any]:
        total = row.get(denominator) or 0
        row[out] = round(100.0 * (row.get(numerator) or 0) / total, 1) if total else None
        return row

    return finish


@figure(
    "reopen_rate",
    _("Reopen rate"),
    _("Of the cases solved in the period, the share that had been reopened (by the customer or an agent) before."),
    _TIME_BY,
)
def reopen_rate(flt: ReportFilter, by: str) -> Table:
    return _grouped(
        flt,
        by,
        "solved_at",
        facts(flt, "solved_at"),
        {"solved": Count("pk"), "reopened": Count("pk", filter=Q(reopens__gt=0))},
        [Column("solved", _("Solved")), Column("reopened", _("Reopened")), Column("rate", _("Reopen rate"), PERCENT)],
        finish=_rate("reopened", "solved", "rate"),
        drill={"date": "solved"},
        order="solved",
    )


SYNCHRONOUS_KINDS = ("chat", "phone")
FCR_Q = Q(reopens=0, transfers=0) & (Q(channel_kind__in=SYNCHRONOUS_KINDS) | Q(agent_replies__lte=1))


@figure(
    "fcr",
    _("First-contact resolution"),
    _(
        "Of the cases solved in the period, the share solved in the first contact: never reopened, never "
        "transferred, and — on written channels — with at most one agent reply (a chat or a call is one contact "
        "however many messages it has)."
    ),
    _TIME_BY,
)
def fcr(flt: ReportFilter, by: str) -> Table:
    return _grouped(
        flt,
        by,
        "solved_at",
        facts(flt, "solved_at"),
        {"solved": Count("pk"), "first_contact": Count("pk", filter=FCR_Q)},
        [
            Column("solved", _("Solved")),
            Column("first_contact", _("In the first contact")),
            Column("rate", _("First-contact resolution"), PERCENT),
        ],
        finish=_rate("first_contact", "solved", "rate"),
        drill={"date": "solved"},
        order="solved",
    )


# ── service levels ────────────────────────────────────────────────────────────────────────────────────────────

_METRIC_LABELS = {m.value: m.label for m in SlaClock.Metric}


@figure(
    "sla_compliance",
    _("Service level compliance"),
    _(
        "Per target (first response, next response, resolution): of the targets that ended in the period — met, "
        "missed, or still running but already past due — the share met."
    ),
    ("metric", "day", "channel_kind", "queue", "team", "agent", "priority", "category"),
)
def sla_compliance(flt: ReportFilter, by: str) -> Table:
    qs = flt.in_range(TargetFact.objects.filter(flt.facts_q()), "ended_at")
    aggregates = {"targets": Count("pk"), "met": Count("pk", filter=Q(met=True))}
    columns = [
        Column("targets", _("Targets")),
        Column("met", _("Met")),
        Column("missed", pgettext_lazy("service level", "Missed")),
        Column("compliance", _("Compliance"), PERCENT),
    ]

    def finish(row: dict[str, Any]) -> dict[str, Any]:
        row["missed"] = (row["targets"] or 0) - (row["met"] or 0)
        return _rate("met", "targets", "compliance")(row)

    return _grouped(
        flt,
        by,
        "ended_at",
        qs,
        aggregates,
        columns,
        finish=finish,
        drill={"sla": "ended"},
        fields={"metric": "metric"},
        labels=(lambda keys: {k: str(_METRIC_LABELS.get(k, k)) for k in keys}),
    )


# ── live: now ─────────────────────────────────────────────────────────────────────────────────────────────────

# A dimension on the live Case table (facts may be a second behind; the live figures read the case itself).
CASE_FIELDS = {
    "channel": "channel_id",
    "channel_kind": "channel__kind",
    "queue": "fact__queue_id",
    "team": "team_id",
    "agent": "owner_id",
    "category": "category_id",
    "type": "type",
    "customer": "customer_id",
    "organization": "customer__organization_id",
    "product": "product",
    "priority": "priority",
    "status": "status",
}


def cases_q(flt: ReportFilter, prefix: str = "") -> Q:
    q = Q()
    for name, value in flt.dimensions().items():
        q &= Q(**{prefix + CASE_FIELDS[name]: value})
    return q


AGE_BUCKETS: list[tuple[str, Any, int, int | None]] = [  # key, label, from seconds, to seconds
    ("lt1d", _("Under a day"), 0, 86400),
    ("1to3d", _("1–3 days"), 86400, 3 * 86400),
    ("3to7d", _("3–7 days"), 3 * 86400, 7 * 86400),
    ("7to30d", _("7–30 days"), 7 * 86400, 30 * 86400),
    ("gt30d", _("Over 30 days"), 30 * 86400, None),
]
_STATUS_COLUMNS = [(str(s.value), s.label) for s in Case.OPEN_STATUSES]


def age_q(key: str, now: datetime, field: str = "created_at") -> Q:
    for bucket, _label, low, high in AGE_BUCKETS:
        if bucket == key:
            q = Q(**{f"{field}__lte": now - timedelta(seconds=low)})
            if high is not None:
                q &= Q(**{f"{field}__gt": now - timedelta(seconds=high)})
            return q
    raise FilterError(f"age: expected one of {', '.join(b[0] for b in AGE_BUCKETS)}, got {key!r}")


@figure(
    "backlog",
    _("Backlog"),
    _("Open cases now (new, open, pending, on hold) by how long ago they arrived, and by status."),
    ("age", "status", "queue", "team", "agent", "channel_kind", "priority", "category"),
    live=True,
)
def backlog(flt: ReportFilter, by: str, *, now: datetime | None = None) -> Table:
    now = now or timezone.now()
    qs = Case.objects.filter(cases_q(flt), status__in=Case.OPEN_STATUSES)
    columns = [Column(status, label) for status, label in _STATUS_COLUMNS] + [Column("total", _("Total"))]
    per_status = {status: Count("pk", filter=Q(status=status)) for status, _label in _STATUS_COLUMNS}
    table = Table(
        columns=[
            Column("key", BY_LABELS.get(by, _("Age")), TEXT),
            Column("label", BY_LABELS.get(by, _("Age")), TEXT),
            *columns,
        ],
    )
    if by == "age":
        aggregates = {}
        for bucket, _label, _low, _high in AGE_BUCKETS:
            for status, _slabel in _STATUS_COLUMNS:
                aggregates[f"{bucket}__{status}"] = Count("pk", filter=age_q(bucket, now) & Q(status=status))
        counts = qs.aggregate(**aggregates)
        for bucket, label, _low, _high in AGE_BUCKETS:
            row: dict[str, Any] = {"key": bucket, "label": str(label)}
            row.update({status: counts[f"{bucket}__{status}"] for status, _slabel in _STATUS_COLUMNS})
            row["total"] = sum(row[status] for status, _slabel in _STATUS_COLUMNS)
            table.add(row, {"live": "open", "age": bucket})
        return table
    field = CASE_FIELDS[by]
    rows: list[Any] = list(
        qs.order_by().values(k1=F(field)).annotate(**per_status, total=Count("pk")).order_by("-total")
    )
    names = (
        {k: str(Case.Status(k).label) for k in Case.Status.values}
        if by == "status"
        else _labels(by, {r["k1"] for r in rows})
    )
    for grouped in rows:
        cells, drill = _key_row(by, grouped, names)
        table.add({**cells, **{c.key: grouped[c.key] for c in columns}}, {"live": "open", **drill})
    return table


@figure(
    "open_now",
    _("Open cases now"),
    _("Open cases (new, open, pending, on hold) at this moment, how many have no owner, and the oldest one's age."),
    ("status", "queue", "team", "agent", "channel_kind", "priority", "category"),
    live=True,
)
def open_now(flt: ReportFilter, by: str, *, now: datetime | None = None) -> Table:
    now = now or timezone.now()
    qs = Case.objects.filter(cases_q(flt), status__in=Case.OPEN_STATUSES)
    rows = list(
        qs.order_by()
        .values(k1=F(CASE_FIELDS[by]))
        .annotate(open=Count("pk"), unassigned=Count("pk", filter=Q(owner__isnull=True)), oldest=Min("created_at"))
        .order_by("-open")
    )
    names = (
        {k: str(Case.Status(k).label) for k in Case.Status.values}
        if by == "status"
        else _labels(by, {r["k1"] for r in rows})
    )
    table = Table(
        columns=[
            *_key_columns(by),
            Column("open", _("Open")),
            Column("unassigned", _("Unassigned")),
            Column("oldest_s", _("Oldest"), SECONDS),
        ],
    )
    for row in rows:
        cells, drill = _key_row(by, row, names)
        oldest = round((now - row["oldest"]).total_seconds()) if row["oldest"] else None
        table.add(
            {**cells, "open": row["open"], "unassigned": row["unassigned"], "oldest_s": oldest},
            {"live": "open", **drill},
        )
    table.totals = {"open": sum(r["open"] for r in table.rows), "unassigned": sum(r["unassigned"] for r in table.rows)}
    return table


def sla_at_risk_q(now: datetime) -> Q:
    """A running target past its warning share and not yet due."""
    return Q(status=SlaClock.Status.RUNNING, breached_at__isnull=True, warn_at__lte=now, due_at__gt=now)


def sla_breached_q(now: datetime) -> Q:
    """A live target already missed (or due this moment, before the timer has marked it)."""
    return Q(breached_at__isnull=False) | Q(status=SlaClock.Status.RUNNING, due_at__lte=now)


@figure(
    "sla_now",
    _("Service levels now"),
    _("Targets running now on open cases: at risk (past the warning share, not yet due) and already missed."),
    ("metric", "queue", "team", "agent", "channel_kind", "priority"),
    live=True,
)
def sla_now(flt: ReportFilter, by: str, *, now: datetime | None = None) -> Table:
    now = now or timezone.now()
    qs = SlaClock.objects.filter(cases_q(flt, "case__"), status__in=SlaClock.LIVE, case__status__in=Case.OPEN_STATUSES)
    field = "metric" if by == "metric" else "case__" + CASE_FIELDS[by]
    rows = list(
        qs.order_by()
        .values(k1=F(field))
        .annotate(
            running=Count("pk"),
            at_risk=Count("pk", filter=sla_at_risk_q(now)),
            breached=Count("pk", filter=sla_breached_q(now)),
        )
        .order_by("k1")
    )
    names = {k: str(v) for k, v in _METRIC_LABELS.items()} if by == "metric" else _labels(by, {r["k1"] for r in rows})
    table = Table(
        columns=[
            *_key_columns(by),
            Column("running", _("Running")),
            Column("at_risk", _("At risk")),
            Column("breached", pgettext_lazy("service level", "Missed")),
        ],
    )
    for row in rows:
        cells, drill = _key_row(by, row, names)
        if by == "metric":
            drill = {"sla_metric": str(row["k1"])}
        table.add({**cells, **{k: row[k] for k in ("running", "at_risk", "breached")}}, {"sla": "now", **drill})
    table.totals = {k: sum(r[k] for r in table.rows) for k in ("running", "at_risk", "breached")}
    return table


@figure(
    "queues_now",
    _("Queues now"),
    _("Work waiting for an agent in each queue now, the longest and the median wait, and the agents online."),
    ("queue",),
    live=True,
)
def queues_now(flt: ReportFilter, by: str, *, now: datetime | None = None) -> Table:
    from tiski.routing.models import AgentState, Presence, Queue, WorkItem

    now = now or timezone.now()
    waiting = WorkItem.objects.filter(
        cases_q(flt, "case__"), status__in=(WorkItem.Status.QUEUED, WorkItem.Status.OFFERED)
    )
    stats = {
        row["queue_id"]: row
        for row in waiting.order_by()
        .values("queue_id")
        .annotate(
            waiting=Count("pk"),
            first=Min("enqueued_at"),
            median_wait_s=Percentile(Seconds(Value(now), "enqueued_at"), 0.5),
        )
    }
    online = dict(
        AgentState.objects.filter(presence__in=(Presence.ONLINE, Presence.BUSY))
        .order_by()
        .values("queues")
        .annotate(n=Count("pk"))
        .values_list("queues", "n")
    )
    table = Table(
        columns=[
            *_key_columns("queue"),
            Column("waiting", _("Waiting")),
            Column("longest_s", _("Longest wait"), SECONDS),
            Column("median_wait_s", _("Median wait"), SECONDS),
            Column("agents_online", _("Agents online")),
        ],
    )
    queues = Queue.objects.filter(active=True)
    if flt.queue:
        queues = queues.filter(pk=flt.queue)
    for queue in queues.order_by("position", "name"):
        row: Any = stats.get(queue.pk, {})
        first = row.get("first")
        table.add(
            {
                "key": queue.pk,
                "label": _queue_name(queue),
                "waiting": row.get("waiting", 0),
                "longest_s": round((now - first).total_seconds()) if first else None,
                "median_wait_s": round(row["median_wait_s"]) if row.get("median_wait_s") is not None else None,
                "agents_online": online.get(queue.pk, 0),
            },
            {"live": "waiting", "queue": str(queue.pk)},
        )
    table.totals = {
        "waiting": sum(r["waiting"] for r in table.rows),
        "longest_s": max((r["longest_s"] or 0 for r in table.rows), default=0),
    }
    return table


def _queue_name(queue: Any) -> str:
    from django.utils.translation import get_language

    return queue.name_fi if (get_language() or "").startswith("fi") and queue.name_fi else queue.name


USUAL_WEEKS = 4


@figure(
    "volume_today",
    _("Today's contacts"),
    _(
        "Contacts per hour today, beside the usual: the mean of the same weekday's same hour over the four weeks "
        "before."
    ),
    ("hour",),
    live=True,
)
def volume_today(flt: ReportFilter, by: str, *, now: datetime | None = None) -> Table:
    now = (now or timezone.now()).astimezone(flt.zone)
    today = now.date()
    base = CaseFact.objects.filter(flt.facts_q(), inbound=True)
    start = flt.local_midnight(today)

    def per_hour(q: Q) -> dict[int, int]:
        rows = base.filter(q).annotate(h=ExtractHour("created_at", tzinfo=flt.zone)).order_by().values("h")
        return dict(rows.annotate(n=Count("pk")).values_list("h", "n"))

    counts = per_hour(Q(created_at__gte=start, created_at__lt=flt.local_midnight(today + timedelta(days=1))))
    usual_q = Q()
    for week in range(1, USUAL_WEEKS + 1):
        day = today - timedelta(days=7 * week)
        usual_q |= Q(
            created_at__gte=flt.local_midnight(day), created_at__lt=flt.local_midnight(day + timedelta(days=1))
        )
    usual = per_hour(usual_q)
    table = Table(
        columns=[
            Column("key", _("Hour"), HOUR),
            Column("label", _("Hour"), TEXT),
            Column("today", _("Today")),
            Column("usual", _("Usual"), NUMBER),
        ],
    )
    for hour in range(24):
        past = hour <= now.hour
        table.add(
            {
                "key": hour,
                "label": f"{hour:02d}",
                "today": counts.get(hour, 0) if past else None,
                "usual": round(usual.get(hour, 0) / USUAL_WEEKS, 2),
            },
            {"day": today.isoformat(), "hour": str(hour)} if past else None,
        )
    so_far = sum(r["today"] or 0 for r in table.rows)
    usual_so_far = round(sum(r["usual"] for r in table.rows if r["key"] <= now.hour), 1)
    table.totals = {
        "today": so_far,
        "usual_so_far": usual_so_far,
        "usual_day": round(sum(r["usual"] for r in table.rows), 1),
    }
    return table


# ── handling ──────────────────────────────────────────────────────────────────────────────────────────────────


def _merge_rows(tables: list[list[dict[str, Any]]], key: str, sums: tuple[str, ...]) -> dict[Any, dict[str, Any]]:
    merged: dict[Any, dict[str, Any]] = {}
    for rows in tables:
        for row in rows:
            target = merged.setdefault(row[key], {key: row[key], **dict.fromkeys(sums, 0)})
            for s in sums:
                target[s] += row.get(s) or 0
    return merged


@figure(
    "handle_time",
    _("Handle time"),
    _(
        "Average time an agent spent on one piece of work, per channel: a call's talk time plus its wrap-up; for "
        "other channels the time from the agent taking the work to finishing it (replying, solving or handing "
        "it on). Counted for work finished in the period."
    ),
    ("channel_kind", "agent", "day", "none"),
)
def handle_time(flt: ReportFilter, by: str) -> Table:
    from tiski.channels.voice.models import Call
    from tiski.routing.models import WorkItem

    # The agent is the one who handled the work (not the case's owner now); the other dimensions are the case's.
    others = dataclasses.replace(flt, agent=None)
    items = WorkItem.objects.filter(
        others.facts_q("case__fact__") if others.dimensions() else Q(),
        status=WorkItem.Status.DONE,
        assigned_at__isnull=False,
        closed_at__isnull=False,
    ).exclude(channel_kind="phone")
    items = flt.in_range(items, "closed_at")
    calls = Call.objects.filter(
        others.facts_q("case__fact__") if others.dimensions() else Q(),
        answered_at__isnull=False,
        ended_at__isnull=False,
    )
    if flt.agent:
        items, calls = items.filter(agent_id=flt.agent), calls.filter(agent_id=flt.agent)
    calls = flt.in_range(calls, "ended_at")
    wrap = Coalesce(Seconds("wrapped_up_at", "ended_at"), Value(0.0))
    talk = Coalesce(F("talk_s") * 1.0, Seconds("ended_at", "answered_at"))
    groups = {
        "channel_kind": (F("channel_kind"), Value("phone")),
        "agent": (F("agent_id"), F("agent_id")),
        "none": (Value(0), Value(0)),
        "day": (TruncDate("closed_at", tzinfo=flt.zone), TruncDate("ended_at", tzinfo=flt.zone)),
    }
    item_key, call_key = groups[by]
    item_rows: list[Any] = list(
        items.order_by()
        .values(k=item_key)
        .annotate(items=Count("pk"), total_s=Sum(Seconds("closed_at", "assigned_at")))
    )
    call_rows: list[Any] = list(
        calls.order_by().values(k=call_key).annotate(items=Count("pk"), total_s=Sum(talk + wrap))
    )
    merged = _merge_rows([item_rows, call_rows], "k", ("items", "total_s"))
    names = _labels(by, merged.keys())
    table = Table(
        columns=[
            *_key_columns(by),
            Column("items", _("Handled")),
            Column("avg_s", _("Average handle time"), SECONDS),
            Column("total_s", _("Total time"), SECONDS),
        ],
    )
    for key in sorted(merged, key=lambda k: (k is None, k)):
        row = merged[key]
        cells, drill = _key_row(by, {"k1": key}, names)
        total = round(row["total_s"] or 0)
        table.add(
            {
                **cells,
                "items": row["items"],
                "avg_s": round(total / row["items"]) if row["items"] else None,
                "total_s": total,
            },
            {"handled": "1", **drill},
        )
    return table


@figure(
    "transfers",
    _("Transfers"),
    _("Cases handed on to another queue, team or agent in the period: the hand-overs and the cases they moved."),
    ("day", "team", "queue", "channel_kind", "agent", "category", "none"),
)
def transfers(flt: ReportFilter, by: str) -> Table:
    qs = flt.in_range(
        CaseEvent.objects.filter(flt.facts_q("case__fact__"), kind=CaseEvent.Kind.TRANSFERRED), "created_at"
    )
    return _grouped(
        flt,
        by,
        "created_at",
        qs,
        {"transfers": Count("pk"), "cases": Count("case", distinct=True)},
        [Column("transfers", _("Transfers")), Column("cases", _("Cases"))],
        drill={"transferred": "1"},
        prefix="case__fact__",
        order="transfers",
    )


@figure(
    "abandoned",
    _("Abandoned chats and calls"),
    _(
        "Chats the visitor left before any agent wrote, and incoming calls hung up or sent to voicemail before an "
        "agent answered, of those started in the period."
    ),
    ("channel_kind", "day"),
)
def abandoned(flt: ReportFilter, by: str) -> Table:
    from tiski.channels.chat.models import ChatSession
    from tiski.channels.voice.models import Call

    dims = flt.facts_q("case__fact__") if flt.dimensions() else Q()
    answered = Message.objects.filter(
        case=OuterRef("case"), author=Message.Author.AGENT, created_at__gte=OuterRef("created_at")
    )
    chats = flt.in_range(ChatSession.objects.filter(dims), "created_at").annotate(helped=Exists(answered))
    left = Q(status=ChatSession.Status.ENDED, helped=False)
    calls = flt.in_range(Call.objects.filter(dims, direction=Call.Direction.INBOUND), "created_at")
    missed = Q(status__in=(Call.Status.MISSED, Call.Status.VOICEMAIL))
    if by == "channel_kind":
        chat_row = chats.aggregate(offered=Count("pk"), abandoned=Count("pk", filter=left))
        call_row = calls.aggregate(offered=Count("pk"), abandoned=Count("pk", filter=missed))
        rows = [("chat", chat_row), ("phone", call_row)]
    else:
        day = TruncDate("created_at", tzinfo=flt.zone)
        per_day = _merge_rows(
            [
                list(chats.order_by().values(k=day).annotate(offered=Count("pk"), abandoned=Count("pk", filter=left))),
                list(
                    calls.order_by().values(k=day).annotate(offered=Count("pk"), abandoned=Count("pk", filter=missed))
                ),
            ],
            "k",
            ("offered", "abandoned"),
        )
        rows = sorted(per_day.items())
    names = _labels(by, [k for k, _row in rows])
    table = Table(
        columns=[
            *_key_columns(by),
            Column("offered", _("Started")),
            Column("abandoned", _("Abandoned")),
            Column("rate", _("Abandon rate"), PERCENT),
        ],
    )
    for key, row in rows:
        cells, drill = _key_row(by, {"k1": key}, names)
        values = _rate("abandoned", "offered", "rate")({"offered": row["offered"], "abandoned": row["abandoned"]})
        # The channel is the figure's own (chat or phone), not the case's: the drill names it as "abandoned".
        table.add({**cells, **values}, {"abandoned": key} if by == "channel_kind" else {"abandoned": "any", **drill})
    return table


@figure(
    "callback_time",
    _("Callback time"),
    _(
        "Callback requests made in the period, how many were reached, and the time from the request to the "
        "customer being reached (the callback request closed as reached)."
    ),
    ("none", "day", "source"),
)
def callback_time(flt: ReportFilter, by: str) -> Table:
    from tiski.channels.voice.models import CallbackRequest

    dims = flt.facts_q("case__fact__") if flt.dimensions() else Q()
    qs = flt.in_range(CallbackRequest.objects.filter(dims), "created_at").annotate(reached_at=F("closed_at"))
    reached = Q(status=CallbackRequest.Status.DONE)
    wait = Seconds("reached_at", "created_at")
    aggregates = {
        "requests": Count("pk"),
        "reached": Count("pk", filter=reached),
        "median_s": Percentile(_case_when(reached, wait), 0.5),
        "p90_s": Percentile(_case_when(reached, wait), 0.9),
    }
    labels = {s.value: str(s.label) for s in CallbackRequest.Source}
    return _grouped(
        flt,
        by,
        "created_at",
        qs,
        aggregates,
        [
            Column("requests", _("Requests")),
            Column("reached", _("Reached")),
            Column("median_s", _("Median time to callback"), SECONDS),
            Column("p90_s", _("90th percentile"), SECONDS),
        ],
        drill={"callback": "1"},
        fields={"source": "source"},
        labels=(lambda keys: {k: labels.get(k, k) for k in keys}) if by == "source" else None,
    )


def _case_when(condition: Q, value: Any) -> Any:
    from django.db.models import Case as SqlCase
    from django.db.models import When

    return SqlCase(When(condition, then=value), default=None)  # SQL's CASE WHEN … THEN value END


# ── feedback ──────────────────────────────────────────────────────────────────────────────────────────────────

_SURVEY_FIELDS = {"agent": "agent_id", "team": "team_id", "channel_kind": "channel_kind"}
_SURVEY_BY = ("none", "day", "channel_kind", "team", "agent", "category", "product", "organization")


def _surveys(flt: ReportFilter, kind: str) -> QuerySet[Any]:
    from tiski.surveys.models import SurveyResponse

    q = Q(kind=kind)
    for name, value in flt.dimensions().items():
        q &= Q(**{_SURVEY_FIELDS.get(name) or "case__fact__" + DIMENSIONS[name][0]: value})
    return flt.in_range(SurveyResponse.objects.filter(q), "answered_at")


def _survey_table(
    flt: ReportFilter,
    by: str,
    kind: str,
    aggregates: dict[str, Any],
    columns: list[Column],
    finish: Callable[[dict[str, Any]], dict[str, Any]],
) -> Table:
    return _grouped(
        flt,
        by,
        "answered_at",
        _surveys(flt, kind),
        aggregates,
        columns,
        finish=finish,
        drill={"survey": kind},
        fields=_SURVEY_FIELDS,
        prefix="case__fact__",
        order="responses",
    )


@figure(
    "csat",
    _("Customer satisfaction (CSAT)"),
    _(
        "Answers to the satisfaction survey (1–5) given in the period: the average, the share satisfied (4–5) and "
        "how many gave each score. Attributed to the agent and team that handled the case."
    ),
    _SURVEY_BY,
)
def csat(flt: ReportFilter, by: str) -> Table:
    aggregates: dict[str, Any] = {
        "responses": Count("pk"),
        "average": Avg("score"),
        "satisfied": Count("pk", filter=Q(score__gte=4)),
    }
    aggregates |= {f"score_{n}": Count("pk", filter=Q(score=n)) for n in range(1, 6)}
    columns = [
        Column("responses", _("Answers")),
        Column("average", _("Average"), NUMBER),
        Column("satisfied_pct", _("Satisfied"), PERCENT),
    ]
    columns += [Column(f"score_{n}", str(n)) for n in range(1, 6)]

    def finish(row: dict[str, Any]) -> dict[str, Any]:
        row["average"] = round(row["average"], 2) if row.get("average") is not None else None
        return _rate("satisfied", "responses", "satisfied_pct")(row)

    return _survey_table(flt, by, "csat", aggregates, columns, finish)


@figure(
    "nps",
    _("Net promoter score (NPS)"),
    _(
        "Answers to the recommendation survey (0–10) given in the period: promoters (9–10) minus detractors (0–6), "
        "as a share of all answers, from −100 to 100."
    ),
    _SURVEY_BY,
)
def nps(flt: ReportFilter, by: str) -> Table:
    aggregates = {
        "responses": Count("pk"),
        "promoters": Count("pk", filter=Q(score__gte=9)),
        "passives": Count("pk", filter=Q(score__in=(7, 8))),
        "detractors": Count("pk", filter=Q(score__lte=6)),
    }
    columns = [
        Column("responses", _("Answers")),
        Column("promoters", _("Promoters")),
        Column("passives", _("Passives")),
        Column("detractors", _("Detractors")),
        Column("nps", _("NPS"), NUMBER),
    ]

    def finish(row: dict[str, Any]) -> dict[str, Any]:
        n = row.get("responses") or 0
        row["nps"] = round(100.0 * (row["promoters"] - row["detractors"]) / n, 1) if n else None
        return row

    return _survey_table(flt, by, "nps", aggregates, columns, finish)


# ── knowledge and macros ──────────────────────────────────────────────────────────────────────────────────────


@figure(
    "knowledge",
    _("Knowledge: deflection and article use"),
    _(
        "Help-centre suggestions shown on the web form and chat in the period, how often an article helped so the "
        "customer did not contact us (deflected), and how often agents inserted articles into replies (and how "
        "many of those cases were solved)."
    ),
    ("day", "article", "channel_kind", "none"),
    agent_visible=False,
)
def knowledge(flt: ReportFilter, by: str) -> Table:
    from tiski.knowledge.models import ArticleUse, Deflection

    deflections = flt.in_range(Deflection.objects.all(), "created_at")
    if flt.channel_kind:
        deflections = deflections.filter(channel_kind=flt.channel_kind)
    uses = flt.in_range(ArticleUse.objects.filter(flt.facts_q("case__fact__")), "created_at")
    keys = {
        "day": (TruncDate("created_at", tzinfo=flt.zone), TruncDate("created_at", tzinfo=flt.zone)),
        "article": (F("translation__article_id"), F("article_id")),
        "channel_kind": (F("channel_kind"), F("case__channel__kind")),
        "none": (Value(0), Value(0)),
    }
    dkey, ukey = keys[by]
    merged = _merge_rows(
        [
            list(
                deflections.order_by()
                .values(k=dkey)
                .annotate(
                    shown=Count("pk"),
                    deflected=Count("pk", filter=Q(outcome=Deflection.Outcome.HELPED)),
                    contacted=Count("pk", filter=Q(outcome=Deflection.Outcome.CONTACTED)),
                )
            ),
            list(
                uses.order_by()
                .values(k=ukey)
                .annotate(uses=Count("pk"), uses_solved=Count("pk", filter=Q(solved=True)))
            ),
        ],
        "k",
        ("shown", "deflected", "contacted", "uses", "uses_solved"),
    )
    names = _article_names(merged.keys()) if by == "article" else _labels(by, merged.keys())
    table = Table(
        columns=[
            *_key_columns(by),
            Column("shown", _("Suggestions shown")),
            Column("deflected", _("Deflected")),
            Column("contacted", _("Contacted anyway")),
            Column("deflection_rate", _("Deflection rate"), PERCENT),
            Column("uses", _("Inserted by agents")),
            Column("uses_solved", _("Of those solved")),
        ],
    )
    order = (
        sorted(merged, key=lambda k: (k is None, k))
        if by == "day"
        else sorted(merged, key=lambda k: -(merged[k]["uses"] + merged[k]["shown"]))
    )
    for key in order:
        row = merged[key]
        cells, drill = _key_row(by, {"k1": key}, names)
        decided = row["deflected"] + row["contacted"]
        row["deflection_rate"] = round(100.0 * row["deflected"] / decided, 1) if decided else None
        table.add(
            {**cells, **{k: v for k, v in row.items() if k != "k"}},
            {"article_used": str(key) if by == "article" else "any", **(drill if by != "article" else {})}
            if row["uses"]
            else None,
        )
    return table


def _article_names(keys: Iterable[Any]) -> dict[Any, str]:
    from tiski.knowledge.models import ArticleTranslation

    names: dict[Any, str] = {}
    for article_id, title in (
        ArticleTranslation.objects.filter(article_id__in=[k for k in keys if k])
        .order_by("article_id", "-status")
        .values_list("article_id", "title")
    ):
        names.setdefault(article_id, title)
    return names


@figure(
    "macro_use",
    _("Macro use"),
    _("Macros applied to cases in the period (skipped and failed cases left out), and on how many cases."),
    ("macro", "agent", "day", "none"),
)
def macro_use(flt: ReportFilter, by: str) -> Table:
    from tiski.macros.models import MacroUse

    qs = MacroUse.objects.filter(flt.facts_q("case__fact__"), outcome=MacroUse.Outcome.APPLIED)
    qs = flt.in_range(qs, "created_at")
    macro_names: dict[Any, str] = {}
    if by == "macro":
        from tiski.macros.models import Macro

        macro_names = dict(Macro.objects.filter(pk__in=qs.order_by().values("macro_id")).values_list("pk", "name"))
    return _grouped(
        flt,
        by,
        "created_at",
        qs,
        {"uses": Count("pk"), "cases": Count("case", distinct=True)},
        [Column("uses", _("Uses")), Column("cases", _("Cases"))],
        drill={"macro_used": "any"},
        fields={"macro": "macro_id", "agent": "actor_id"},
        order="uses",
        labels=(lambda keys: {k: macro_names.get(k) or "—" for k in keys}) if by == "macro" else None,
    )


# ── agents' time ──────────────────────────────────────────────────────────────────────────────────────────────


@figure(
    "presence",
    _("Presence and occupancy"),
    _(
        "Each agent's time online, busy and away in the period, and occupancy: the time spent handling work as a "
        "share of the time online or busy."
    ),
    ("agent",),
)
def presence(flt: ReportFilter, by: str, *, now: datetime | None = None) -> Table:
    from django.db.models.functions import Greatest, Least

    from tiski.routing.models import Presence, PresenceLog, WorkItem

    now = now or timezone.now()
    start, end = flt.bounds()
    end = min(end, now)
    logs = PresenceLog.objects.filter(Q(ended_at__isnull=True) | Q(ended_at__gt=start), started_at__lt=end)
    if flt.agent:
        logs = logs.filter(user_id=flt.agent)
    span = Seconds(Least(Coalesce("ended_at", Value(now)), Value(end)), Greatest("started_at", Value(start)))
    rows = logs.order_by().values("user_id", "presence").annotate(seconds=Sum(span))
    per_agent: dict[int, dict[str, float]] = {}
    for row in rows:
        per_agent.setdefault(row["user_id"], {})[row["presence"]] = max(0.0, row["seconds"] or 0.0)
    work = flt.in_range(
        WorkItem.objects.filter(assigned_at__isnull=False, closed_at__isnull=False, agent__isnull=False), "closed_at"
    )
    if flt.agent:
        work = work.filter(agent_id=flt.agent)
    handled = dict(
        work.order_by()
        .values("agent_id")
        .annotate(s=Sum(Seconds("closed_at", "assigned_at")))
        .values_list("agent_id", "s")
    )
    names = _labels("agent", set(per_agent) | set(handled))
    table = Table(
        columns=[
            *_key_columns("agent"),
            Column("online_s", _("Online"), SECONDS),
            Column("busy_s", _("Busy"), SECONDS),
            Column("away_s", _("Away"), SECONDS),
            Column("handle_s", _("Handling work"), SECONDS),
            Column("occupancy", _("Occupancy"), PERCENT),
        ],
    )
    for user_id in sorted(set(per_agent) | set(handled), key=lambda u: names.get(u, "")):
        times = per_agent.get(user_id, {})
        available = times.get(Presence.ONLINE, 0) + times.get(Presence.BUSY, 0)
        handle = handled.get(user_id) or 0
        table.add(
            {
                "key": user_id,
                "label": names.get(user_id, f"#{user_id}"),
                "online_s": round(times.get(Presence.ONLINE, 0)),
                "busy_s": round(times.get(Presence.BUSY, 0)),
                "away_s": round(times.get(Presence.AWAY, 0)),
                "handle_s": round(handle),
                "occupancy": round(min(100.0, 100.0 * handle / available), 1) if available else None,
            },
            None,
        )
    return table


# ── root causes ───────────────────────────────────────────────────────────────────────────────────────────────

BASELINE_DAYS = 28
SPIKE_RATIO = 2.0  # at least twice the usual level …
SPIKE_MIN = 3  # … with at least this many contacts …
SPIKE_P = 0.01  # … and that many or more would happen by chance at the usual rate less than once in a hundred days


def poisson_tail(k: int, mean: float) -> float:
    """P(X ≥ K) for X ~ Poisson(MEAN)."""
    if k <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    term = math.exp(-mean)
    below = term
    for i in range(1, k):
        term *= mean / i
        below += term
    return max(0.0, 1.0 - below)


def is_spike(count: int, usual: float) -> bool:
    """COUNT is unusually high against USUAL (the mean count of the same window on the days before)."""
    return count >= SPIKE_MIN and count >= SPIKE_RATIO * usual and poisson_tail(count, max(usual, 0.1)) < SPIKE_P


@figure(
    "contact_reasons",
    _("Contact reasons"),
    _(
        "Why customers contact us on the chosen day (the last day of the range; today up to now): cases by "
        "category, type, tag or subject keyword, beside the usual — the mean of the same hours on each of the 28 "
        "days before. A spike is at least 3 cases and twice the usual level, and so many that the usual rate "
        "would reach them by chance less than once in 100 days."
    ),
    ("category", "type", "tag", "keyword"),
)
def contact_reasons(flt: ReportFilter, by: str, *, now: datetime | None = None) -> Table:
    now = (now or timezone.now()).astimezone(flt.zone)
    day = flt.end
    start = flt.local_midnight(day)
    end = min(flt.local_midnight(day + timedelta(days=1)), max(now, start))
    window = end - start  # today: up to now; another day: all of it
    base = CaseFact.objects.filter(flt.facts_q(), inbound=True)
    baseline_q = Q()
    for back in range(1, BASELINE_DAYS + 1):
        other = flt.local_midnight(day - timedelta(days=back))
        baseline_q |= Q(created_at__gte=other, created_at__lt=other + window)
    counts_today = _reason_counts(base.filter(created_at__gte=start, created_at__lt=end), by)
    counts_before = _reason_counts(base.filter(baseline_q), by)
    keys = set(counts_today) | {k for k, n in counts_before.items() if n >= BASELINE_DAYS / 7}
    names = _reason_labels(by, keys)
    table = Table(
        columns=[
            *_key_columns(by),
            Column("today", _("On the day")),
            Column("usual", _("Usual"), NUMBER),
            Column("ratio", _("Times the usual"), NUMBER),
            Column("spike", _("Spike"), TEXT),
        ],
    )
    rows = []
    for key in keys:
        count, usual = counts_today.get(key, 0), counts_before.get(key, 0) / BASELINE_DAYS
        ratio = round(count / usual, 1) if usual else None
        rows.append((key, count, round(usual, 2), ratio, is_spike(count, usual)))
    rows.sort(key=lambda r: (not r[4], -(r[3] or (99 if r[1] else 0)), -r[1], names.get(r[0], "")))
    for key, count, usual, ratio, spike in rows:
        drill: dict[str, str] = {"day": day.isoformat(), by: _drill_key(key)}
        table.add(
            {
                "key": key,
                "label": names.get(key, "—"),
                "today": count,
                "usual": usual,
                "ratio": ratio,
                "spike": "yes" if spike else "",
            },
            drill,
        )
    table.totals = {"day": day.isoformat(), "until": end.isoformat(), "spikes": sum(1 for r in rows if r[4])}
    return table


def _drill_key(key: Any) -> str:
    return "none" if key in (None, "") else str(key)


def _reason_counts(qs: QuerySet[CaseFact], by: str) -> dict[Any, int]:
    if by == "keyword":
        from tiski.reports.models import CaseKeyword

        rows = CaseKeyword.objects.filter(case__in=qs.values("case")).order_by().values("stem").annotate(n=Count("pk"))
        return {r["stem"]: r["n"] for r in rows}
    if by == "tag":
        through = Case.tags.through
        tags = through.objects.filter(case__in=qs.values("case")).order_by().values("tag__name").annotate(n=Count("pk"))
        return {r["tag__name"]: r["n"] for r in tags}
    field = _FIELD[by]
    return {r["k"]: r["n"] for r in qs.order_by().values(k=F(field)).annotate(n=Count("pk"))}


def _reason_labels(by: str, keys: set[Any]) -> dict[Any, str]:
    if by == "keyword":
        from tiski.reports.models import CaseKeyword

        words: dict[Any, str] = {}
        for stem_, word in (
            CaseKeyword.objects.filter(stem__in=keys).values_list("stem", "word").order_by("word")[:5000]
        ):
            words.setdefault(stem_, word)
        return words
    if by == "tag":
        return {k: k for k in keys}
    return _labels(by, keys)


# ── the cases behind a figure ─────────────────────────────────────────────────────────────────────────────────

_DATE_FIELDS = {"created": "created_at", "first_response": "first_response_at", "solved": "solved_at"}
DRILL_KEYS = frozenset(
    {
        "date",
        "day",
        "hour",
        "weekday",
        "live",
        "age",
        "status",
        "reopened",
        "fcr",
        "keyword",
        "tag",
        "sla",
        "sla_metric",
        "sla_state",
        "transferred",
        "abandoned",
        "survey",
        "callback",
        "handled",
        "macro_used",
        "article_used",
        "metric",
        "source",
        "score",
    }
    | set(DIMENSIONS)
)


def cases_behind(flt: ReportFilter, drill: Mapping[str, str], *, now: datetime | None = None) -> QuerySet[Case]:
    """The cases behind one row of a figure: FLT's dimensions and range narrowed by DRILL (a row's drill
    parameters, see Table.drill), newest first. Raises FilterError for a parameter it does not know."""
    now = now or timezone.now()
    unknown = set(drill) - DRILL_KEYS - {"from", "to", "days", "by", "page", "figure"}
    if unknown:
        raise FilterError(f"unknown parameters: {', '.join(sorted(unknown))}")
    cases = Case.objects.all()
    dims = {name: value for name, value in drill.items() if name in DIMENSIONS}
    for name, value in {**flt.dimensions(), **dims}.items():
        field = "fact__" + DIMENSIONS[name][0]
        if str(value) == "none":
            cases = cases.filter(
                **{
                    f"{field}__isnull" if DIMENSIONS[name][1] is int else field: True
                    if DIMENSIONS[name][1] is int
                    else ""
                }
            )
        else:
            try:
                cases = cases.filter(**{field: DIMENSIONS[name][1](value)})
            except ValueError:
                raise FilterError(f"{name}: expected an id, got {value!r}") from None
    live = drill.get("live")
    if live == "open":
        cases = cases.filter(status__in=Case.OPEN_STATUSES)
        if drill.get("age"):
            cases = cases.filter(age_q(drill["age"], now))
        if drill.get("status"):
            cases = cases.filter(status=drill["status"])
        return cases.order_by("created_at", "pk")
    if live == "waiting":
        from tiski.routing.models import WorkItem

        waiting = WorkItem.objects.filter(status__in=(WorkItem.Status.QUEUED, WorkItem.Status.OFFERED))
        return cases.filter(pk__in=waiting.values("case")).order_by("created_at", "pk")
    if drill.get("sla") == "now":
        clocks = SlaClock.objects.filter(status__in=SlaClock.LIVE, case__status__in=Case.OPEN_STATUSES)
        if drill.get("sla_state") == "at_risk":
            clocks = clocks.filter(sla_at_risk_q(now))
        elif drill.get("sla_state") == "breached":
            clocks = clocks.filter(sla_breached_q(now))
        if drill.get("sla_metric"):
            clocks = clocks.filter(metric=drill["sla_metric"])
        return cases.filter(pk__in=clocks.values("case")).order_by("created_at", "pk")

    start, end = flt.bounds()
    if drill.get("day"):
        try:
            day = date.fromisoformat(drill["day"])
        except ValueError:
            raise FilterError(f"day: expected YYYY-MM-DD, got {drill['day']!r}") from None
        start, end = flt.local_midnight(day), flt.local_midnight(day + timedelta(days=1))
    date_field = _DATE_FIELDS.get(drill.get("date", "created"))
    if date_field is None:
        raise FilterError(f"date: expected one of {', '.join(_DATE_FIELDS)}, got {drill.get('date')!r}")
    in_range = {"gte": start, "lt": end}

    def ranged(field: str) -> dict[str, datetime]:
        return {f"{field}__{op}": value for op, value in in_range.items()}

    source = drill.get("sla") or drill.get("transferred") or drill.get("abandoned") or drill.get("survey")
    if drill.get("sla") == "ended":
        targets = TargetFact.objects.filter(**ranged("ended_at"))
        if drill.get("metric"):
            targets = targets.filter(metric=drill["metric"])
        cases = cases.filter(pk__in=targets.values("case"))
    elif drill.get("transferred"):
        events = CaseEvent.objects.filter(kind=CaseEvent.Kind.TRANSFERRED, **ranged("created_at"))
        cases = cases.filter(pk__in=events.values("case"))
    elif drill.get("abandoned"):
        cases = cases.filter(pk__in=_abandoned_cases(drill["abandoned"], ranged))
    elif drill.get("survey"):
        from tiski.surveys.models import SurveyResponse

        responses = SurveyResponse.objects.filter(kind=drill["survey"], **ranged("answered_at"))
        if drill.get("score"):
            responses = responses.filter(score=_int(drill, "score"))
        cases = cases.filter(pk__in=responses.values("case"))
    elif drill.get("callback"):
        from tiski.channels.voice.models import CallbackRequest

        cases = cases.filter(pk__in=CallbackRequest.objects.filter(**ranged("created_at")).values("case"))
    elif drill.get("handled"):
        from tiski.routing.models import WorkItem

        cases = cases.filter(
            pk__in=WorkItem.objects.filter(status=WorkItem.Status.DONE, **ranged("closed_at")).values("case")
        )
    elif drill.get("macro_used"):
        from tiski.macros.models import MacroUse

        cases = cases.filter(
            pk__in=MacroUse.objects.filter(outcome=MacroUse.Outcome.APPLIED, **ranged("created_at")).values("case")
        )
    elif drill.get("article_used"):
        from tiski.knowledge.models import ArticleUse

        uses = ArticleUse.objects.filter(**ranged("created_at"))
        if drill["article_used"] != "any":
            uses = uses.filter(article_id=_int(drill, "article_used"))
        cases = cases.filter(pk__in=uses.values("case"))
    else:
        cases = cases.filter(**ranged("fact__" + date_field))
        if date_field == "created_at":
            cases = cases.filter(fact__inbound=True)
    del source
    if drill.get("hour"):
        cases = cases.annotate(_hour=ExtractHour(f"fact__{date_field}", tzinfo=flt.zone)).filter(
            _hour=_int(drill, "hour")
        )
    if drill.get("weekday"):
        cases = cases.annotate(_weekday=ExtractIsoWeekDay(f"fact__{date_field}", tzinfo=flt.zone)).filter(
            _weekday=_int(drill, "weekday")
        )
    if drill.get("reopened"):
        cases = cases.filter(fact__reopens__gt=0)
    if drill.get("fcr"):
        cases = cases.filter(pk__in=CaseFact.objects.filter(FCR_Q).values("case"))
    if drill.get("keyword"):
        from tiski.reports.models import CaseKeyword

        cases = cases.filter(pk__in=CaseKeyword.objects.filter(stem=drill["keyword"]).values("case"))
    if drill.get("tag"):
        cases = cases.filter(tags__name=drill["tag"])
    if drill.get("status"):
        cases = cases.filter(status=drill["status"])
    return cases.order_by("-created_at", "-pk")


def _int(drill: Mapping[str, str], key: str) -> int:
    try:
        return int(drill[key])
    except ValueError:
        raise FilterError(f"{key}: expected a whole number, got {drill[key]!r}") from None


def _abandoned_cases(kind: str, ranged: Callable[[str], dict[str, datetime]]) -> QuerySet[Any]:
    from tiski.channels.chat.models import ChatSession
    from tiski.channels.voice.models import Call

    answered = Message.objects.filter(
        case=OuterRef("case"), author=Message.Author.AGENT, created_at__gte=OuterRef("created_at")
    )
    chats = ChatSession.objects.filter(status=ChatSession.Status.ENDED, **ranged("created_at")).filter(
        ~Exists(answered)
    )
    calls = Call.objects.filter(
        direction=Call.Direction.INBOUND, status__in=(Call.Status.MISSED, Call.Status.VOICEMAIL), **ranged("created_at")
    )
    if kind == "chat":
        return chats.values("case")
    if kind == "phone":
        return calls.values("case")
    return chats.values("case").union(calls.values("case"))
