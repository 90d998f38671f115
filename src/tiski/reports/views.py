"""Console pages of the reports: the live operations dashboard, root causes, rankings and one-dimension reports,
one figure at a time, and the cases behind any number.

Every page reads one ReportFilter from its query string (a bad one is a 400 naming what is wrong) and draws its
numbers from figures.figure_table, the same tables the API and the exports return; the browser draws the charts
from those tables' JSON (static/reports/reports.js) beside an accessible table of the same numbers, and every
number links to the cases behind it.

Team leads and administrators (reports.view_reports) see everything; agents (reports.view_own_figures) see only
their own figures and their own cases behind them.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy, ngettext, pgettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from tiski.accounts.models import Team
from tiski.accounts.scope import case_scope, is_partner_agent
from tiski.cases.models import Case, Category
from tiski.channels.models import ChannelKind
from tiski.console.views import agent_required
from tiski.customers.models import Organization
from tiski.reports.dashboard import HEATMAP_WEEKS, operations_dashboard
from tiski.reports.figures import AGE_BUCKETS, BY_LABELS, FIGURES, cases_behind, figure_table
from tiski.reports.filters import DIMENSIONS, FilterError, ReportFilter
from tiski.reports.sql import report_queries
from tiski.reports.table import COUNT, NUMBER, PERCENT, SECONDS, Table
from tiski.reports.templatetags.reports_console import (
    date_text,
    drill_query,
    duration,
    number,
    unit_value,
    weekday_name,
)

VIEW_REPORTS = "reports.view_reports"
VIEW_OWN = "reports.view_own_figures"
CASES_PER_PAGE = 50
PRESETS = (1, 7, 28, 90)
# Query parameters that are the filter's own; everything else on the cases page says which row was clicked.
FILTER_KEYS = frozenset({"from", "to", "days", "page", "figure"})

User = get_user_model()


# ── who may see what ────────────────────────────────────────────────────────────────────────────────────────────


def _refuse() -> PermissionDenied:
    return PermissionDenied(_("Only team leads and administrators can see the reports; you can see your own figures."))


def reports_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Let team leads and administrators in (reports.view_reports); everyone else gets 403."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.has_perm(VIEW_REPORTS):
            raise _refuse()
        return view(request, *args, **kwargs)

    return agent_required(require_GET(wrapper))


def may_export(user: Any) -> bool:
    """Return whether USER may download report data (a partner agent sees their figures but never exports)."""
    return bool(user.has_perm(VIEW_REPORTS) or not is_partner_agent(user))


def own_figures_allowed(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Let in whoever may see every report or at least their own figures; the view narrows what the latter see."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not (request.user.has_perm(VIEW_REPORTS) or request.user.has_perm(VIEW_OWN)):
            raise _refuse()
        return view(request, *args, **kwargs)

    return agent_required(require_GET(wrapper))


# ── the filter ──────────────────────────────────────────────────────────────────────────────────────────────────


class BadQuery(Exception):
    """The page's query string is wrong: MESSAGE says what and how; shown with status 400."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _filter(query: Mapping[str, str], **fixed: Any) -> ReportFilter:
    """Read the filter of QUERY, narrowed to FIXED dimensions; BadQuery names what is wrong."""
    try:
        flt = ReportFilter.from_query(query)
    except FilterError as error:
        raise BadQuery(str(error)) from error
    return dataclasses.replace(flt, **fixed) if fixed else flt


def _table(name: str, flt: ReportFilter, by: str | None = None) -> Table | None:
    """Return figure NAME over FLT grouped BY, or None when the figure or that grouping does not exist (yet)."""
    spec = FIGURES.get(name)
    if spec is None or (by is not None and by not in spec.groupings):
        return None
    return figure_table(name, flt, by)


def _bad_query(request: HttpRequest, error: BadQuery, title: str) -> HttpResponse:
    return render(request, "reports/bad_query.html", {"title": title, "problem": error.message}, status=400)


def _today(flt_zone: Any = None) -> date:
    zone = flt_zone or ReportFilter.last_days(1).zone
    return timezone.now().astimezone(zone).date()


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class Select:
    name: str
    label: str
    options: list[Option]
    chosen: str


def _selects(request: HttpRequest, names: tuple[str, ...]) -> list[Select]:
    """The dimension selects of the filter bar for NAMES, with the query's choices."""
    makers: dict[str, Callable[[], tuple[str, list[Option]]]] = {
        "channel_kind": lambda: (_("Channel"), [Option(v, str(label)) for v, label in ChannelKind.choices]),
        "team": lambda: (_("Team"), [Option(str(pk), name) for pk, name in Team.objects.values_list("pk", "name")]),
        "category": lambda: (
            _("Category"),
            [Option(str(c.pk), c.label(_language())) for c in Category.objects.all()],
        ),
        "type": lambda: (_("Type"), [Option(v, str(label)) for v, label in Case.Type.choices]),
        "agent": lambda: (_("Agent"), [Option(str(u.pk), _user_name(u)) for u in _agents()]),
    }
    out = []
    for name in names:
        label, options = makers[name]()
        out.append(Select(name, label, options, request.GET.get(name, "")))
    return out


def _language() -> str:
    return get_language() or "en"


def _agents() -> QuerySet[Any]:
    return User.objects.filter(agent__isnull=False, is_active=True).order_by("first_name", "last_name", "username")


def _user_name(user: Any) -> str:
    return user.get_full_name() or user.get_username()


@dataclass(frozen=True)
class Preset:
    days: int
    label: str
    query: str
    current: bool


def _bar(
    request: HttpRequest, flt: ReportFilter, selects: tuple[str, ...] = (), *, dates: bool = True
) -> dict[str, Any]:
    """The context of the filter bar: the range, its presets, the comparison period and the dimension selects."""
    today = _today(flt.zone)
    labels = {1: _("Today"), 7: _("7 days"), 28: _("28 days"), 90: _("90 days")}
    keep = {k: v for k, v in request.GET.dict().items() if k not in ("from", "to", "days", "page")}
    presets = [
        Preset(n, labels[n], urlencode({**keep, "days": str(n)}), flt.end == today and flt.days == n) for n in PRESETS
    ]
    previous = flt.previous()
    return {
        "flt": flt,
        "dates": dates,
        "presets": presets,
        "range_text": _range_text(flt.start, flt.end),
        "previous_text": _range_text(previous.start, previous.end),
        "selects": _selects(request, selects),
        "today": today,
    }


def _range_text(start: date, end: date) -> str:
    if start == end:
        return date_text(start)
    return f"{date_text(start)} – {date_text(end)}"


# ── charts ──────────────────────────────────────────────────────────────────────────────────────────────────────


@dataclass
class Chart:
    """A figure's table drawn as KIND ("bar" or "line") of the SERIES columns, above an accessible table.

    CASES is the cases page's URL for this figure and filter; a row's drill parameters are added to it."""

    id: str
    table: Table
    kind: str
    series: list[str]
    cases: str
    title: str = ""
    height: int = 200
    link_column: str = ""
    start: date | None = None
    end: date | None = None

    @property
    def json(self) -> dict[str, Any]:
        return self.table.as_json()

    @property
    def json_id(self) -> str:
        return f"{self.id}-data"


def _cases_url(flt: ReportFilter, figure: str, drill: Mapping[str, str] | None = None) -> str:
    return f"{reverse('reports:cases')}?{drill_query(flt.to_query(), figure, drill)}"


def _chart(
    table: Table | None, flt: ReportFilter, kind: str, series: list[str], *, height: int = 200, title: str = ""
) -> Chart | None:
    if table is None:
        return None
    keys = {c.key for c in table.columns}
    series = [s for s in series if s in keys]
    return Chart(
        id=f"chart-{table.figure}-{table.by}-{'-'.join(series)}",
        table=table,
        kind=kind,
        series=series,
        cases=_cases_url(flt, table.figure),
        title=title or str(table.title),
        height=height,
        link_column=series[0] if series else "",
        start=flt.start,
        end=flt.end,
    )


# ── key figures: one number per figure, with the previous period's ────────────────────────────────────────────


@dataclass(frozen=True)
class KeyFigure:
    figure: str
    column: str
    label: Any
    unit: str
    better: str  # "up", "down" or "" (neither direction is good in itself)
    ratio: tuple[str, str] | None = None  # a rate summed over rows: (numerator, denominator)
    scale: float = 100.0


KEY_FIGURES = (
    KeyFigure("contacts_in", "contacts", gettext_lazy("Contacts"), COUNT, ""),
    KeyFigure("first_response", "median_s", gettext_lazy("First response, median"), SECONDS, "down"),
    KeyFigure("resolution", "median_s", gettext_lazy("Resolution, median"), SECONDS, "down"),
    KeyFigure("sla_compliance", "compliance", gettext_lazy("Service level met"), PERCENT, "up", ("met", "targets")),
    KeyFigure("fcr", "rate", pgettext_lazy("short heading", "First-contact resolution"), PERCENT, "up"),
    KeyFigure("csat", "satisfied_pct", gettext_lazy("CSAT, satisfied"), PERCENT, "up"),
)
MORE_KEY_FIGURES = (
    KeyFigure("reopen_rate", "rate", gettext_lazy("Reopen rate"), PERCENT, "down"),
    KeyFigure("handle_time", "avg_s", gettext_lazy("Handle time, average"), SECONDS, "down"),
)


@dataclass
class Tile:
    label: str
    value: Any
    unit: str
    previous: Any = None
    better: str = ""
    url: str = ""
    note: str = ""
    compare: bool = True
    than: bool = True  # the change says what it was before ("▲ 12% more than 25")
    state: str = ""  # "ok", "risk", "breached": the service-level colours, always with a word


def _total(key: KeyFigure, flt: ReportFilter) -> tuple[Any, dict[str, str] | None] | None:
    """KEY's one value over FLT and the drill-down of it; None when the figure is missing."""
    spec = FIGURES.get(key.figure)
    if spec is None:
        return None
    if "none" in spec.groupings and key.ratio is None:
        table = figure_table(key.figure, flt, "none")
        if not table.rows:
            return (0 if key.unit == COUNT else None), {}
        return table.rows[0].get(key.column), table.drill[0] if table.drill else {}
    table = figure_table(key.figure, flt, spec.default_by)
    if key.ratio is None:
        return None, None
    numerator, denominator = key.ratio
    top = sum(row.get(numerator) or 0 for row in table.rows)
    bottom = sum(row.get(denominator) or 0 for row in table.rows)
    drill = {k: v for k, v in (table.drill[0] or {}).items() if k != spec.default_by} if table.drill else {}
    return (round(key.scale * top / bottom, 1) if bottom else None), drill


def _tiles(flt: ReportFilter, keys: tuple[KeyFigure, ...]) -> list[Tile]:
    previous = flt.previous()
    tiles = []
    for key in keys:
        now = _total(key, flt)
        if now is None:
            continue
        before = _total(key, previous)
        value, drill = now
        tiles.append(
            Tile(
                label=str(key.label),
                value=value,
                unit=key.unit,
                previous=before[0] if before else None,
                better=key.better,
                url=_cases_url(flt, key.figure, drill) if drill is not None and value not in (None, 0) else "",
            )
        )
    return tiles


# ── the operations dashboard ────────────────────────────────────────────────────────────────────────────────────


@reports_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The operations dashboard: what is happening now, refreshed every 30 seconds, and when the peaks come."""
    parts = operations_dashboard()
    context = _dashboard_context(parts)
    today = context["flt"]
    weeks = dataclasses.replace(
        today, start=today.end - timedelta(days=7 * HEATMAP_WEEKS), end=today.end - timedelta(days=1)
    )
    context |= {
        "heatmap": _heatmap(parts.get("heatmap"), weeks),
        "heat_weeks": HEATMAP_WEEKS,
        "heat_range": _range_text(weeks.start, weeks.end),
    }
    return render(request, "reports/dashboard.html", context)


@reports_required
def dashboard_live(request: HttpRequest) -> HttpResponse:
    """The dashboard's live part alone, for its refresh (with the header's time, swapped in out of band)."""
    return render(request, "reports/_dashboard_live.html", {**_dashboard_context(operations_dashboard()), "oob": True})


def _dashboard_context(parts: Mapping[str, Table]) -> dict[str, Any]:
    """The live part's context from the dashboard's tables (dashboard.operations_dashboard)."""
    today = ReportFilter.last_days(1)
    open_now, sla_now, queues = parts.get("open"), parts.get("sla"), parts.get("queues")
    volume, backlog, csat = parts.get("today"), parts.get("backlog"), parts.get("csat")
    tiles: list[Tile] = []
    if open_now is not None:
        tiles.append(
            Tile(
                _("Open cases"),
                open_now.totals.get("open", 0),
                COUNT,
                url=_cases_url(today, "open_now", {"live": "open"}),
                compare=False,
            )
        )
        tiles.append(
            Tile(
                _("Unassigned"),
                open_now.totals.get("unassigned", 0),
                COUNT,
                url=_cases_url(today, "open_now", {"live": "open", "agent": "none"}),
                compare=False,
            )
        )
    if sla_now is not None:
        at_risk, breached = sla_now.totals.get("at_risk", 0), sla_now.totals.get("breached", 0)
        tiles.append(
            Tile(
                _("Service level at risk"),
                at_risk,
                COUNT,
                compare=False,
                url=_cases_url(today, "sla_now", {"sla": "now", "sla_state": "at_risk"}),
                state="risk" if at_risk else "ok",
            )
        )
        tiles.append(
            Tile(
                _("Service level missed"),
                breached,
                COUNT,
                compare=False,
                url=_cases_url(today, "sla_now", {"sla": "now", "sla_state": "breached"}),
                state="breached" if breached else "ok",
            )
        )
    if queues is not None:
        longest = queues.totals.get("longest_s") or None
        tiles.append(
            Tile(
                _("Waiting in queues"),
                queues.totals.get("waiting", 0),
                COUNT,
                compare=False,
                url=_cases_url(today, "queues_now", {"live": "waiting"}),
                note=_("longest %(wait)s") % {"wait": duration(longest)} if longest else _("no one waiting"),
            )
        )
    if volume is not None:
        so_far, usual = volume.totals.get("today", 0), volume.totals.get("usual_so_far")
        tiles.append(
            Tile(
                _("Contacts today"),
                so_far,
                COUNT,
                previous=usual,
                better="",
                than=False,
                url=_cases_url(today, "contacts_in", {}),
                note=_("usually %(n)s by now") % {"n": unit_value(usual, NUMBER)} if usual is not None else "",
            )
        )
    if csat is not None:
        row = csat.rows[0] if csat.rows else {}
        answers = row.get("responses") or 0
        tiles.append(
            Tile(
                _("CSAT today"),
                row.get("satisfied_pct"),
                PERCENT,
                compare=False,
                url=_cases_url(today, "csat", csat.drill[0] if csat.drill else {}) if answers else "",
                note=ngettext("%(n)s answer", "%(n)s answers", answers) % {"n": answers}
                if answers
                else _("no answers yet"),
            )
        )
    return {
        "tiles": tiles,
        "queues": queues,
        "volume": _chart(volume, today, "bar", ["today", "usual"], height=220),
        "volume_link": reverse("reports:figure", args=["volume_today"]),
        "backlog": backlog,
        "sla": sla_now,
        "flt": today,
        "query": today.to_query(),
        "updated": timezone.localtime(),
    }


@dataclass
class HeatCell:
    value: int
    shade: int
    url: str


@dataclass
class Heatmap:
    hours: list[int]
    rows: list[tuple[int, list[HeatCell]]]  # (ISO weekday, cells by hour)
    peak: int
    total: int
    busiest: tuple[int, int] | None = None  # (weekday, hour)


def _heatmap(table: Table | None, flt: ReportFilter) -> Heatmap | None:
    """Weekday × hour counts as a grid of cells, each shaded by its share of the busiest and linked to its cases."""
    if table is None:
        return None
    counts: dict[tuple[int, int], tuple[int, dict[str, str] | None]] = {}
    for row, drill in zip(table.rows, table.drill, strict=False):
        counts[(int(row["weekday"]), int(row["hour"]))] = (int(row.get("contacts") or 0), drill)
    peak = max((n for n, _drill in counts.values()), default=0)
    busiest = max(counts, key=lambda k: counts[k][0]) if peak else None
    rows = []
    for weekday in range(1, 8):
        cells = []
        for hour in range(24):
            value, drill = counts.get((weekday, hour), (0, None))
            shade = 0 if not value or not peak else max(1, min(9, round(value / peak * 9)))
            cells.append(HeatCell(value, shade, _cases_url(flt, "contacts_in", drill) if value and drill else ""))
        rows.append((weekday, cells))
    return Heatmap(list(range(24)), rows, peak, sum(n for n, _drill in counts.values()), busiest)


# ── root causes ─────────────────────────────────────────────────────────────────────────────────────────────────

REASON_GROUPINGS = {
    "category": gettext_lazy("Category"),
    "type": gettext_lazy("Type"),
    "tag": gettext_lazy("Tag"),
    "keyword": gettext_lazy("Keyword"),
}


NO_REASON = {
    "category": gettext_lazy("No category"),
    "type": gettext_lazy("No type"),
    "tag": gettext_lazy("No tag"),
    "keyword": gettext_lazy("No keyword"),
}


@dataclass
class Reason:
    label: str
    today: int
    usual: float | None
    ratio: float | None
    spike: bool
    url: str
    sentence: str = ""
    share: int = 0  # the bar's width: today's count against the day's largest, in percent


@reports_required
def reasons(request: HttpRequest) -> HttpResponse:
    """Why customers contact us on a day, ranked, with what is far above its usual level marked as a spike."""
    by = request.GET.get("by") or "category"
    try:
        if by not in REASON_GROUPINGS:
            raise BadQuery(
                _("by: expected one of %(names)s, got %(value)r") % {"names": ", ".join(REASON_GROUPINGS), "value": by}
            )
        today = _today()
        raw_day = (request.GET.get("day") or "").strip()
        try:
            day = date.fromisoformat(raw_day) if raw_day else today
        except ValueError:
            raise BadQuery(_("day: expected a date as YYYY-MM-DD, got %(value)r") % {"value": raw_day}) from None
        query = {k: v for k, v in request.GET.dict().items() if k not in ("from", "to", "days", "day", "by")}
        flt = _filter({**query, "from": day.isoformat(), "to": day.isoformat()})
    except BadQuery as error:
        return _bad_query(request, error, _("Contact reasons"))
    table = _table("contact_reasons", flt, by)
    rows: list[Reason] = []
    if table is not None:
        largest = max((int(r.get("today") or 0) for r in table.rows), default=0)
        for row, drill in zip(table.rows, table.drill, strict=False):
            count = int(row.get("today") or 0)
            reason = Reason(
                label=str(row.get("label")) if row.get("key") not in (None, "") else str(NO_REASON[by]),
                today=count,
                usual=row.get("usual"),
                ratio=row.get("ratio"),
                spike=bool(row.get("spike")),
                url=_cases_url(flt, "contact_reasons", drill) if drill is not None and count else "",
                share=round(100 * count / largest) if largest else 0,
            )
            if reason.spike:
                reason.sentence = _spike_sentence(by, reason, day, today)
            rows.append(reason)
    context = {
        **_bar(request, flt, ("channel_kind", "team"), dates=False),
        "rows": rows,
        "spikes": [r for r in rows if r.spike],
        "by": by,
        "groupings": [(k, str(v)) for k, v in REASON_GROUPINGS.items()],
        "day": day,
        "day_text": _("today") if day == today else date_text(day),
        "previous_day": (day - timedelta(days=1)).isoformat(),
        "next_day": (day + timedelta(days=1)).isoformat() if day < today else "",
        "is_today": day == today,
        "definition": FIGURES["contact_reasons"].definition if "contact_reasons" in FIGURES else "",
        "keep": {k: v for k, v in request.GET.dict().items() if k not in ("day", "by")},
    }
    return render(request, "reports/reasons.html", context)


def _spike_sentence(by: str, reason: Reason, day: date, today: date) -> str:
    """ "Cases in Invoices are 3.4× their usual level today" — said for each kind of reason."""
    when = _("today") if day == today else _("on %(day)s") % {"day": date_text(day)}
    ratio = number(reason.ratio, 1) if reason.ratio is not None else "∞"
    values = {"label": reason.label, "ratio": ratio, "when": when}
    if reason.ratio is None:
        return ngettext(
            "“%(label)s”: %(n)s case %(when)s, where there usually are none",
            "“%(label)s”: %(n)s cases %(when)s, where there usually are none",
            reason.today,
        ) % {**values, "n": reason.today}
    sentences = {
        "category": _("Cases in “%(label)s” are %(ratio)s× their usual level %(when)s"),
        "type": _("Cases of type “%(label)s” are %(ratio)s× their usual level %(when)s"),
        "tag": _("Cases tagged “%(label)s” are %(ratio)s× their usual level %(when)s"),
        "keyword": _("Cases mentioning “%(label)s” are %(ratio)s× their usual level %(when)s"),
    }
    return sentences[by] % values


# ── rankings of a dimension and the report narrowed to one of it ────────────────────────────────────────────────


@dataclass(frozen=True)
class Dimension:
    slug: str  # the URL part and the ranking page's name
    by: str  # the figures' grouping
    title: Any
    one: str  # the URL name of one's page
    selects: tuple[str, ...]
    none_label: Any  # a row without it (a case with no team …)


DIMENSION_PAGES: dict[str, Dimension] = {
    d.slug: d
    for d in (
        Dimension(
            "agents", "agent", gettext_lazy("Agents"), "agent", ("channel_kind", "team"), gettext_lazy("No owner")
        ),
        Dimension("teams", "team", gettext_lazy("Teams"), "team", ("channel_kind",), gettext_lazy("No team")),
        Dimension("channels", "channel_kind", gettext_lazy("Channels"), "channel", ("team",), "—"),
        Dimension(
            "organizations",
            "organization",
            gettext_lazy("Organisations"),
            "organization",
            ("channel_kind", "team"),
            gettext_lazy("No organisation"),
        ),
        Dimension(
            "products",
            "product",
            gettext_lazy("Products"),
            "product",
            ("channel_kind", "team"),
            gettext_lazy("No product"),
        ),
    )
}


@dataclass
class RankCell:
    value: Any
    previous: Any
    unit: str
    better: str
    url: str


@dataclass
class RankRow:
    key: Any
    label: str
    url: str
    cells: list[RankCell | None] = field(default_factory=list)


def ranking_page(slug: str) -> Callable[..., HttpResponseBase]:
    dim = DIMENSION_PAGES[slug]

    @reports_required
    def view(request: HttpRequest) -> HttpResponse:
        try:
            flt = _filter(request.GET)
        except BadQuery as error:
            return _bad_query(request, error, str(dim.title))
        keys = [k for k in KEY_FIGURES if k.figure in FIGURES and dim.by in FIGURES[k.figure].groupings]
        previous = flt.previous()
        rows: dict[Any, RankRow] = {}
        with report_queries():  # every column's figures in one transaction
            for index, key in enumerate(keys):
                now, before = figure_table(key.figure, flt, dim.by), figure_table(key.figure, previous, dim.by)
                earlier = {row.get("key"): row.get(key.column) for row in before.rows}
                for row, drill in zip(now.rows, now.drill, strict=False):
                    rank = rows.get(row.get("key"))
                    if rank is None:
                        rank = rows[row.get("key")] = RankRow(
                            key=row.get("key"),
                            label=_dim_label(dim, row),
                            url=_one_url(dim, row.get("key"), flt),
                            cells=[None] * len(keys),
                        )
                    value = row.get(key.column)
                    rank.cells[index] = RankCell(
                        value,
                        earlier.get(row.get("key")),
                        key.unit,
                        key.better,
                        _cases_url(flt, key.figure, drill) if drill is not None and value not in (None, 0) else "",
                    )
        ranked = sorted(rows.values(), key=lambda r: (r.key in (None, ""), -_cell_value(r.cells[0])))
        context = {
            **_bar(request, flt, tuple(s for s in dim.selects if s != dim.by)),
            "dim": dim,
            "title": str(dim.title),
            "columns": keys,
            "rows": ranked,
            "query": request.GET.urlencode(),
        }
        return render(request, "reports/ranking.html", context)

    view.__name__ = f"{slug}_ranking"
    return view


def _cell_value(cell: RankCell | None) -> float:
    return float(cell.value or 0) if cell is not None else 0.0


def _dim_label(dim: Dimension, row: Mapping[str, Any]) -> str:
    if row.get("key") in (None, ""):
        return str(dim.none_label)
    return str(row.get("label") or row.get("key"))


def _one_url(dim: Dimension, key: Any, flt: ReportFilter) -> str:
    if key in (None, ""):
        return ""
    query = urlencode({"from": flt.start.isoformat(), "to": flt.end.isoformat()})
    return f"{reverse(f'reports:{dim.one}', args=[key])}?{query}"


def _detail(
    request: HttpRequest, dim: Dimension, fixed: dict[str, Any], name: str, *, own: bool = False
) -> HttpResponse:
    """The report narrowed to one agent, team, channel, organisation or product: its key figures against the
    previous period, its figures per day and its contacts per channel and category."""
    try:
        flt = _filter(request.GET, **fixed)
    except BadQuery as error:
        return _bad_query(request, error, name)
    visible = (lambda n: FIGURES[n].agent_visible) if own else (lambda n: True)
    keys = tuple(k for k in (*KEY_FIGURES, *MORE_KEY_FIGURES) if k.figure in FIGURES and visible(k.figure))
    with report_queries():  # the page's twenty-odd figures in one transaction
        charts = [
            _chart(_table("contacts_in", flt, "day"), flt, "bar", ["contacts"], title=_("Contacts per day")),
            _chart(
                _table("first_response", flt, "day"),
                flt,
                "line",
                ["median_s", "p90_s"],
                title=_("First response time per day"),
            ),
            _chart(
                _table("resolution", flt, "day"), flt, "line", ["median_s", "p90_s"], title=_("Resolution time per day")
            ),
            _chart(_table("csat", flt, "day"), flt, "line", ["satisfied_pct"], title=_("Satisfied customers per day")),
        ]
        splits = [s for s in ("channel_kind", "category", "agent") if s != dim.by and not (own and s == "agent")][:2]
        split_titles = {
            "channel_kind": _("Contacts by channel"),
            "category": _("Contacts by category"),
            "agent": _("Contacts by agent"),
        }
        tables = [(split_titles[s], t) for s in splits if (t := _table("contacts_in", flt, s)) is not None]
        occupancy = _table("presence", flt, "agent") if dim.by == "agent" else None
        tiles = _tiles(flt, keys)
    context = {
        **_bar(request, flt, tuple(s for s in ("channel_kind",) if s != dim.by)),
        "dim": dim,
        "name": name,
        "own": own,
        "tiles": tiles,
        "charts": [c for c in charts if c is not None],
        "tables": tables,
        "occupancy": occupancy.rows[0] if occupancy is not None and occupancy.rows else None,
        "query": flt.to_query(),
        "ranking_url": reverse(f"reports:{dim.slug}"),
    }
    return render(request, "reports/detail.html", context)


@own_figures_allowed
def agent_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One agent's figures: team leads see anyone's, an agent only their own."""
    if not request.user.has_perm(VIEW_REPORTS) and pk != request.user.pk:
        raise _refuse()
    user = get_object_or_404(User, pk=pk)
    return _detail(
        request,
        DIMENSION_PAGES["agents"],
        {"agent": user.pk},
        _user_name(user),
        own=not request.user.has_perm(VIEW_REPORTS),
    )


@own_figures_allowed
def me(request: HttpRequest) -> HttpResponse:
    """The signed-in agent's own figures."""
    return _detail(request, DIMENSION_PAGES["agents"], {"agent": request.user.pk}, _user_name(request.user), own=True)


@reports_required
def team_detail(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(Team, pk=pk)
    return _detail(request, DIMENSION_PAGES["teams"], {"team": team.pk}, team.name)


@reports_required
def channel_detail(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in ChannelKind.values:
        raise Http404(_("No such channel."))
    return _detail(request, DIMENSION_PAGES["channels"], {"channel_kind": kind}, str(ChannelKind(kind).label))


@reports_required
def organization_detail(request: HttpRequest, pk: int) -> HttpResponse:
    organization = get_object_or_404(Organization, pk=pk)
    return _detail(request, DIMENSION_PAGES["organizations"], {"organization": organization.pk}, organization.name)


@reports_required
def product_detail(request: HttpRequest, name: str) -> HttpResponse:
    return _detail(request, DIMENSION_PAGES["products"], {"product": name[:100]}, name[:100])


# ── one figure ──────────────────────────────────────────────────────────────────────────────────────────────────


def _chart_kind(table: Table) -> tuple[str, list[str]]:
    """How a figure's table is best drawn: a line of its time or rate columns per day, else bars of its first."""
    values = [c for c in table.columns if c.key not in ("key", "label", "weekday", "hour")]
    if not values:
        return "bar", []
    for unit in (SECONDS, PERCENT, NUMBER):
        chosen = [c.key for c in values if c.unit == unit]
        if chosen:
            return ("line" if table.by == "day" else "bar"), chosen[:2]
    total = next((c.key for c in values if c.key == "total"), values[0].key)  # a table of parts: draw the whole
    return "bar", [total]


@reports_required
def figure(request: HttpRequest, name: str) -> HttpResponse:
    """One figure: what it means, grouped as asked, as a chart and a table, with its downloads."""
    spec = FIGURES.get(name)
    if spec is None:
        raise Http404(_("No such figure."))
    by = request.GET.get("by") or spec.default_by
    try:
        if by not in spec.groupings:
            raise BadQuery(
                _("by: %(name)s cannot be grouped by %(value)r; it can by: %(names)s")
                % {"name": name, "value": by, "names": ", ".join(spec.groupings)}
            )
        flt = _filter(request.GET)
    except BadQuery as error:
        return _bad_query(request, error, str(spec.title))
    table = figure_table(name, flt, by)
    kind, series = _chart_kind(table)
    chart = _chart(table, flt, kind, series, height=260) if by not in ("weekday_hour", "none") else None
    heatmap = _heatmap(table, flt) if by == "weekday_hour" and name == "contacts_in" else None
    query = {**flt.to_query(), "by": by}
    export = reverse("reports:dashboard") + "export/"
    context = {
        **_bar(request, flt, ("channel_kind", "team", "agent"), dates=not spec.live),
        "spec": spec,
        "table": table,
        "chart": chart,
        "heatmap": heatmap,
        "by": by,
        "groupings": [(g, str(BY_LABELS.get(g, g))) for g in spec.groupings],
        "csv_url": f"{export}{name}.csv?{urlencode(query)}",
        "can_export": may_export(request.user),
        "parquet_url": f"{export}{name}.parquet?{urlencode(query)}",
        "query": flt.to_query(),
        "figures": sorted(((n, str(f.title)) for n, f in FIGURES.items()), key=lambda p: p[1]),
        "keep": {k: v for k, v in request.GET.dict().items() if k != "by"},
        "hidden": {"by": by},
    }
    return render(request, "reports/figure.html", context)


# ── the cases behind a number ───────────────────────────────────────────────────────────────────────────────────


@own_figures_allowed
def cases(request: HttpRequest) -> HttpResponse:
    """The cases behind a figure's row: the filter and the row's drill-down parameters, newest first, 50 a page.
    An agent without the reports sees only the cases behind their own figures (agent=<their id>)."""
    query = request.GET
    if not request.user.has_perm(VIEW_REPORTS) and query.get("agent") != str(request.user.pk):
        raise _refuse()
    drill = {k: v for k, v in query.dict().items() if k not in FILTER_KEYS}
    try:
        # A row of "no team" drills with team=none: the filter takes what it can read, the drill the rest.
        flt = _filter({k: v for k, v in query.dict().items() if not (k in DIMENSIONS and v == "none")})
        found = cases_behind(flt, drill).filter(case_scope(request.user))  # a partner agent: their cases only
    except FilterError as error:
        return _bad_query(request, BadQuery(str(error)), _("Cases"))
    except BadQuery as error:
        return _bad_query(request, error, _("Cases"))
    found = found.select_related("channel", "owner", "customer").order_by("-created_at", "-pk")
    page = Paginator(found, CASES_PER_PAGE).get_page(query.get("page"))
    spec = FIGURES.get(query.get("figure", ""))
    keep = query.copy()
    keep.pop("page", None)
    context = {
        "page": page,
        "spec": spec,
        "flt": flt,
        "range_text": _range_text(flt.start, flt.end),
        "about": _drill_text(drill),
        "query": keep.urlencode(),
        "csv_url": f"{reverse('reports:dashboard')}export/cases.csv?{keep.urlencode()}",
        "can_export": may_export(request.user),
        "back": request.headers.get("referer", "") if _same_site(request) else "",
    }
    return render(request, "reports/cases.html", context)


def _same_site(request: HttpRequest) -> bool:
    referer = request.headers.get("referer", "")
    return referer.startswith(f"{request.scheme}://{request.get_host()}/")


def _drill_text(drill: Mapping[str, str]) -> list[tuple[str, str]]:
    """What the drill-down narrows to, as (what, value) pairs a person reads."""

    def user(value: str) -> str:
        found = User.objects.filter(pk=value).first() if value.isdigit() else None
        return _user_name(found) if found else value

    def named(model: Any) -> Callable[[str], str]:
        return lambda v: (model.objects.filter(pk=v).values_list("name", flat=True).first() or v) if v.isdigit() else v

    values: dict[str, Callable[[str], str]] = {
        "channel_kind": lambda v: str(ChannelKind(v).label) if v in ChannelKind.values else v,
        "team": named(Team),
        "organization": named(Organization),
        "category": lambda v: (
            next((c.label(_language()) for c in Category.objects.filter(pk=v)), v) if v.isdigit() else v
        ),
        "agent": user,
        "type": lambda v: str(Case.Type(v).label) if v in Case.Type.values else v,
        "status": lambda v: str(Case.Status(v).label) if v in Case.Status.values else v,
        "priority": lambda v: str(Case.Priority(int(v)).label) if v.isdigit() and int(v) in Case.Priority.values else v,
        "weekday": lambda v: weekday_name(v),
        "hour": lambda v: f"{int(v):02d}:00–{int(v):02d}:59" if v.isdigit() else v,
        "day": lambda v: date_text(date.fromisoformat(v)) if _is_date(v) else v,
        "age": lambda v: next((str(label) for key, label, _low, _high in AGE_BUCKETS if key == v), v),
    }
    labels = {
        **{k: str(v) for k, v in BY_LABELS.items()},
        "weekday": _("Weekday"),
        "age": _("Age"),
        "status": _("Status"),
        "keyword": _("Keyword"),
        "tag": _("Tag"),
    }
    states = {
        ("live", "open"): _("Open now"),
        ("live", "waiting"): _("Waiting in a queue now"),
        ("sla_state", "at_risk"): _("Service level at risk"),
        ("sla_state", "breached"): _("Service level missed"),
        ("date", "first_response"): _("First answered in the period"),
        ("date", "solved"): _("Solved in the period"),
        ("sla", "ended"): _("Service level targets ended in the period"),
        ("reopened", "1"): _("Reopened"),
        ("transferred", "1"): _("Transferred"),
    }
    out = []
    for key, value in drill.items():
        if (key, value) in states:
            out.append(("", states[(key, value)]))
        elif key in labels:
            out.append((labels[key], _("none") if value == "none" else values.get(key, str)(value)))
    return out


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def nav_target(user: Any) -> str:
    """Where the nav's Reports link goes for USER: the dashboard, their own figures, or nowhere ("")."""
    if user.has_perm(VIEW_REPORTS):
        return reverse("reports:dashboard")
    if user.has_perm(VIEW_OWN):
        return reverse("reports:me")
    return ""
