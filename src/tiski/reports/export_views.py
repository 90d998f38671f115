"""Console downloads: a figure's table as CSV or Parquet, and the cases behind a row as CSV (streamed).

The query string is the figure page's (filter, ``by``); the files are written by exports.py. Team leads and
administrators (``reports.view_reports``) export every figure; an agent with ``reports.view_own_figures``
exports the figures shown to agents, always narrowed to themselves whatever ``agent`` the URL names.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.handlers.asgi import ASGIRequest
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from tiski.accounts.scope import case_scope, is_partner_agent
from tiski.audit.services import audit_record
from tiski.cases.models import Case
from tiski.console.views import agent_required
from tiski.reports.exports import CSV_TYPE, BatchedCsv, csv_cell, export_filename, table_file
from tiski.reports.figures import FIGURES, figure_table
from tiski.reports.filters import DIMENSIONS, FilterError, ReportFilter
from tiski.reports.table import COUNT, DATE, SECONDS, TEXT, Figure

VIEW_REPORTS = "reports.view_reports"
VIEW_OWN = "reports.view_own_figures"
CASES_LIMIT = 100_000
CASES_BATCH = 2_000
RANGE_KEYS = frozenset({"from", "to", "days"})


@dataclasses.dataclass(frozen=True)
class FigureRequest:
    """A figure asked for by a user who may see it: the figure, its filter (narrowed as the user must be) and BY."""

    figure: Figure
    flt: ReportFilter
    by: str


def _bad_request(message: str) -> HttpResponse:
    return HttpResponse(message + "\n", status=400, content_type="text/plain; charset=utf-8")


def report_filter_for(user: Any, query: Mapping[str, Any], *, figure: Figure | None) -> ReportFilter:
    """Return the filter of QUERY as USER may see it: as given for ``reports.view_reports``, narrowed to the
    user for an agent with ``reports.view_own_figures`` (only figures shown to agents). Raise PermissionDenied
    or FilterError."""
    flt = ReportFilter.from_query(query)
    if user.has_perm(VIEW_REPORTS):
        return flt
    if user.has_perm(VIEW_OWN) and (figure is None or figure.agent_visible):
        return dataclasses.replace(flt, agent=user.pk)
    raise PermissionDenied(_("Only team leads and administrators can export reports; agents their own figures."))


def export_allowed(user: Any) -> None:
    """Raise PermissionDenied when USER may not download reports at all: a partner agent sees their own
    figures on the page but never takes report data away (only ``reports.view_reports`` overrides that)."""
    if is_partner_agent(user) and not user.has_perm(VIEW_REPORTS):
        raise PermissionDenied(_("Partner agents cannot export reports; your own figures are on your report page."))


def figure_request(request: HttpRequest, name: str) -> FigureRequest:
    """Read figure NAME's filter and grouping from REQUEST's query; raise Http404, PermissionDenied, FilterError."""
    spec = FIGURES.get(name)
    if spec is None:
        raise Http404(_("There is no figure %(name)s.") % {"name": name})
    flt = report_filter_for(request.user, request.GET, figure=spec)
    by = request.GET.get("by") or spec.default_by
    if by not in spec.groupings:
        raise FilterError(f"by: {name} cannot be grouped by {by!r}; it can by: {', '.join(spec.groupings)}")
    return FigureRequest(spec, flt, by)


def figure_download_name(wanted: FigureRequest, fmt: str) -> str:
    start, end = wanted.flt.start, wanted.flt.end
    if wanted.figure.live:
        start = end = timezone.localdate(timezone.now(), wanted.flt.zone)
    by = "" if wanted.by == wanted.figure.default_by else wanted.by
    return export_filename(wanted.figure.name, start=start, end=end, by=by, fmt=fmt)


def _attachment(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@agent_required
def figure_export(request: HttpRequest, name: str, fmt: str) -> HttpResponseBase:
    """Figure NAME's table over the query's filter, grouped by ``by``, as a CSV or Parquet download."""
    export_allowed(request.user)
    try:
        wanted = figure_request(request, name)
        table = figure_table(name, wanted.flt, wanted.by)
    except FilterError as error:
        return _bad_request(str(error))
    content, content_type = table_file(table, fmt)
    filename = figure_download_name(wanted, fmt)
    audit_record(
        action="report.export",
        actor=request.user,
        target_label=filename,
        detail={"figure": name, "format": fmt, "by": wanted.by, "filter": wanted.flt.to_query()},
    )
    return _attachment(content, content_type, filename)


# ── the cases behind a row ───────────────────────────────────────────────────────────────────────────────────────

# (column key, value path on Case, unit). The facts are the ones the figures count.
CASE_COLUMNS: list[tuple[str, str, str]] = [
    ("case", "pk", TEXT),
    ("subject", "subject", TEXT),
    ("status", "status", TEXT),
    ("priority", "priority", COUNT),
    ("type", "type", TEXT),
    ("created_at", "created_at", "datetime"),
    ("first_response_at", "first_response_at", "datetime"),
    ("solved_at", "solved_at", "datetime"),
    ("channel_kind", "fact__channel_kind", TEXT),
    ("channel", "channel__name", TEXT),
    ("queue", "fact__queue__name", TEXT),
    ("team", "team__name", TEXT),
    ("owner", "owner__username", TEXT),
    ("category", "category__name", TEXT),
    ("product", "product", TEXT),
    ("customer_id", "customer_id", COUNT),
    ("customer", "customer__name", TEXT),
    ("organization", "fact__organization__name", TEXT),
    ("first_response_s", "fact__first_response_s", SECONDS),
    ("first_response_business_s", "fact__first_response_bs", SECONDS),
    ("resolution_s", "fact__resolution_s", SECONDS),
    ("resolution_business_s", "fact__resolution_bs", SECONDS),
    ("reopens", "fact__reopens", COUNT),
    ("agent_replies", "fact__agent_replies", COUNT),
    ("customer_messages", "fact__customer_messages", COUNT),
    ("transfers", "fact__transfers", COUNT),
    ("handle_s", "fact__handle_s", SECONDS),
]


def cases_query(query: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Split the cases page's query into the filter's part and the row's drill-down part.

    The drill-down repeats a dimension of the row ("team": "3") or names its absence ("team": "none"), which is
    no filter value; everything but the range goes to the drill-down, the figure's name included."""
    filter_part = {k: v for k, v in query.items() if k in RANGE_KEYS or (k in DIMENSIONS and v != "none")}
    drill = {k: v for k, v in query.items() if k not in RANGE_KEYS}
    return filter_part, drill


def cases_behind_for(user: Any, query: Mapping[str, str]) -> tuple[ReportFilter, QuerySet[Case]]:
    """Return the filter and the cases behind a row as USER may see them (see report_filter_for)."""
    from tiski.reports.figures import cases_behind  # the lead's; read when called

    filter_part, drill = cases_query(query)
    spec = FIGURES.get(query.get("figure", ""))
    flt = report_filter_for(user, filter_part, figure=spec)
    if "agent" in drill and not user.has_perm(VIEW_REPORTS):
        drill["agent"] = str(flt.agent)
    return flt, cases_behind(flt, drill).filter(case_scope(user))


def _case_cells(values: tuple[Any, ...], zone: Any) -> list[str]:
    cells = []
    for (key, _path, unit), value in zip(CASE_COLUMNS, values, strict=True):
        if key == "case":
            cells.append(Case(pk=value).reference)
        elif unit == "datetime":
            cells.append(value.astimezone(zone).isoformat() if isinstance(value, datetime) else "")
        elif unit == DATE and isinstance(value, date):
            cells.append(value.isoformat())
        else:
            cells.append(csv_cell(value, unit))
    return cells


class CaseRows(BatchedCsv):
    """The cases of QS newest first as CSV cells, fetched in batches by key (no cursor held between them), at
    most CASES_LIMIT. Iterates synchronously (WSGI) or asynchronously (ASGI: each batch in a worker thread)."""

    def __init__(self, qs: QuerySet[Case], zone: Any, limit: int | None = None) -> None:
        self.header = [key for key, _path, _unit in CASE_COLUMNS]
        self.qs = qs.order_by("-pk").values_list(*(path for _key, path, _unit in CASE_COLUMNS))
        self.zone = zone
        self.limit = CASES_LIMIT if limit is None else limit
        self.last: int | None = None
        self.sent = 0

    def batch(self) -> list[list[str]]:
        size = min(CASES_BATCH, self.limit - self.sent)
        if size <= 0:
            return []
        qs = self.qs if self.last is None else self.qs.filter(pk__lt=self.last)
        rows = list(qs[:size])
        if rows:
            self.last = rows[-1][0]
            self.sent += len(rows)
        return [_case_cells(row, self.zone) for row in rows]


@require_GET
@agent_required
def cases_export(request: HttpRequest) -> HttpResponseBase:
    """The cases behind a figure's row (the cases page's query) as a CSV download, newest first, at most
    CASES_LIMIT; the header X-Tiski-Truncated says when there were more."""
    export_allowed(request.user)
    try:
        flt, qs = cases_behind_for(request.user, request.GET)
    except FilterError as error:
        return _bad_request(str(error))
    rows = CaseRows(qs, flt.zone)
    content = rows.alines() if isinstance(request, ASGIRequest) else rows.lines()
    response = StreamingHttpResponse(content, content_type=CSV_TYPE)
    figure = request.GET.get("figure") or "cases"
    filename = export_filename(f"{figure}-cases", start=flt.start, end=flt.end)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Tiski-Row-Limit"] = str(CASES_LIMIT)
    response["X-Tiski-Truncated"] = "true" if qs.order_by("-pk")[CASES_LIMIT : CASES_LIMIT + 1].exists() else "false"
    audit_record(
        action="report.export",
        actor=request.user,
        target_label=filename,
        detail={"figure": figure, "format": "csv", "cases": True, "query": request.GET.dict()},
    )
    return response
