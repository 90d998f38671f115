"""Reports over the API: the list of figures, and each figure's table over a filter as JSON, CSV or Parquet."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from tiski.api.auth import require_perm
from tiski.api.errors import ApiError
from tiski.api.schemas import AUTH_ERRORS, ErrorOut
from tiski.audit.services import audit_record
from tiski.reports.export_views import VIEW_REPORTS
from tiski.reports.exports import export_filename, table_file
from tiski.reports.figures import FIGURES, figure_table
from tiski.reports.filters import FilterError, ReportFilter

router = Router(tags=["reports"])
ERRORS: dict[int, type[Schema]] = {400: ErrorOut, 404: ErrorOut, **AUTH_ERRORS}
UNITS = "count, seconds, percent, number, text, date or hour"


class FigureOut(Schema):
    name: str = Field(description="The figure's id in the URL and in exports, e.g. contacts_in.")
    title: str
    definition: str = Field(description="What the figure counts, in words.")
    groupings: list[str] = Field(description="The values `by` accepts; the first is the default.")
    live: bool = Field(description="Describes this moment: the date range is ignored.")


class ColumnOut(Schema):
    key: str = Field(description="The cell's key in each row (and the CSV/Parquet column name).")
    label: str
    unit: str = Field(description=f"How to read the value: {UNITS}. Durations are seconds, percentages 0–100.")


class TableOut(Schema):
    figure: str
    title: str
    definition: str
    by: str = Field(description="The grouping of the rows.")
    filter: dict[str, str] = Field(description="The filter applied: from, to (inclusive dates) and dimensions.")
    columns: list[ColumnOut]
    rows: list[dict[str, Any]] = Field(description="One object per row, keyed by the columns' keys.")
    drill: list[dict[str, str] | None] = Field(
        description="Per row, the query parameters that list the cases behind it (null: no cases behind it)."
    )
    totals: dict[str, Any]


class FigureQuery(Schema):
    date_from: str | None = Field(
        None, alias="from", description="First day (YYYY-MM-DD, in the reporting time zone). Default: 28 days ago."
    )
    date_to: str | None = Field(None, alias="to", description="Last day, inclusive (YYYY-MM-DD). Default: today.")
    days: str | None = Field(None, description="Instead of from: the last N days up to `to` or today (1–1098).")
    by: str | None = Field(None, description="Grouping, one of the figure's groupings; default its first.")
    channel: str | None = Field(None, description="Channel id (a mailbox, number or account).")
    channel_kind: str | None = Field(None, description="Channel kind: email, chat, phone, sms, whatsapp …")
    queue: str | None = Field(None, description="Queue id.")
    team: str | None = Field(None, description="Team id.")
    agent: str | None = Field(None, description="Agent (user) id.")
    category: str | None = Field(None, description="Case category id.")
    type: str | None = Field(None, description="Case type: question, incident, problem, task or complaint.")
    customer: str | None = Field(None, description="Customer id.")
    organization: str | None = Field(None, description="Organisation id.")
    product: str | None = Field(None, description="Product name, as on the cases.")
    format: Literal["json", "csv", "parquet"] = Field("json", description="json (default), csv or parquet.")


@router.get(
    "/reports/figures",
    response={200: list[FigureOut], **AUTH_ERRORS},
    summary="List the report figures",
    description="Every key figure with its definition and the groupings it offers. Needs the reports permission "
    "(team leads and administrators).",
)
def figures_list(request: HttpRequest) -> list[dict[str, Any]]:
    require_perm(request, VIEW_REPORTS, "see reports")
    return [
        {
            "name": spec.name,
            "title": str(spec.title),
            "definition": str(spec.definition),
            "groupings": list(spec.groupings),
            "live": spec.live,
        }
        for spec in FIGURES.values()
    ]


@router.get(
    "/reports/figures/{name}",
    response={200: TableOut, **ERRORS},
    summary="Compute a figure",
    description="""\
The figure NAME over a date range and dimensions, grouped by `by`: the same table as the console's figure page.

The range is `from`–`to` (inclusive days in the reporting time zone) or the last `days` days; the default is
the last 28 days. Live figures (`live` in the list) describe this moment and ignore the range. Dimensions narrow
the cases counted; ids are the ones the other endpoints use. A bad value answers 400 naming every bad parameter.

`format=csv` or `format=parquet` answers the table as a file instead of JSON: the header (column names) is the
columns' keys, durations are seconds, dates ISO 8601; CSV is UTF-8 with a byte-order mark.
""",
    openapi_extra={
        "responses": {
            200: {
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
                }
            }
        }
    },
)
def figure_get(request: HttpRequest, name: str, params: Query[FigureQuery]) -> Any:
    require_perm(request, VIEW_REPORTS, "see reports")
    spec = FIGURES.get(name)
    if spec is None:
        raise ApiError(404, "figure_not_found", f"There is no figure {name!r}; GET /api/v1/reports/figures lists them.")
    try:
        flt = ReportFilter.from_query(request.GET)
        table = figure_table(name, flt, params.by or None)
    except FilterError as error:
        raise ApiError(400, "filter_invalid", str(error)) from None
    if params.format != "json":
        content, content_type = table_file(table, params.format)
        response = HttpResponse(content, content_type=content_type)
        by = "" if table.by == spec.default_by else table.by
        start, end = flt.start, flt.end
        if spec.live:  # describes now: named after today
            start = end = timezone.localdate(timezone.now(), flt.zone)
        filename = export_filename(name, start=start, end=end, by=by, fmt=params.format)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        audit_record(
            action="report.export",
            actor=request.auth,  # type: ignore[attr-defined]
            target_label=filename,
            detail={"figure": name, "format": params.format, "by": table.by, "filter": flt.to_query(), "via": "api"},
        )
        return response
    return {**table.as_json(), "filter": flt.to_query()}
