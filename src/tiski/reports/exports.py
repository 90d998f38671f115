"""A figure's table as a file: CSV for spreadsheets and loaders, Parquet for BI tools and large tables.

Both formats carry the same cells under the same names, so a loader can switch between them:

- The header is the columns' KEYS (``day``, ``contacts``, ``first_response_median_s`` …), not their labels:
  keys are stable across languages and releases, labels are translated and may be reworded. The labels,
  units and the figure's definition are in the Parquet file's metadata and in the nightly export's manifest.
- A duration is a number of seconds, a percentage a number from 0 to 100, a date ISO 8601 (YYYY-MM-DD); a
  missing value is an empty cell (CSV) or null (Parquet). Seconds, percentages and other measures are always
  written with a decimal point (``90.0``), counts never, so a loader infers the same types every day.
- CSV is UTF-8 with a byte-order mark (so that Excel reads ä and ö right), comma-separated, with CRLF line ends
  as RFC 4180 has them. A text cell that a spreadsheet would run as a formula (starting with = + - @, a tab or a
  carriage return) gets a leading apostrophe.
- Parquet types follow the columns' units: count, hour → int64; seconds, percent, number → float64;
  date → date32; text → string.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from asgiref.sync import sync_to_async

from tiski.reports.table import COUNT, DATE, HOUR, NUMBER, PERCENT, SECONDS, TEXT, Column, Table

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_TYPE = "text/csv; charset=utf-8"
PARQUET_TYPE = "application/vnd.apache.parquet"
INTEGER_UNITS = frozenset({COUNT, HOUR})
FLOAT_UNITS = frozenset({SECONDS, PERCENT, NUMBER})


# ── cells ─────────────────────────────────────────────────────────────────────────────────────────────────────────


def safe_text(text: str) -> str:
    """Return TEXT so that a spreadsheet shows it rather than running it: a leading apostrophe before = + - @."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _number(value: Any) -> int | float | None:
    """Return VALUE as a plain int or float (None for a missing or non-finite value)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, int):
        return value
    number = float(value) if isinstance(value, (float, Decimal)) else float(str(value))
    if not math.isfinite(number):
        return None
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def _date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def csv_cell(value: Any, unit: str) -> str:
    """Return VALUE of a column of UNIT as written in a CSV cell."""
    if value is None or value == "":
        return ""
    if unit in INTEGER_UNITS or unit in FLOAT_UNITS:
        try:
            number = _number(value)
        except ValueError:
            return safe_text(str(value))
        if number is None:
            return ""
        if unit in FLOAT_UNITS or isinstance(number, float):
            return repr(round(float(number), 6))  # always with a point: a loader infers the same type every day
        return str(number)
    if unit == DATE:
        try:
            day = _date(value)
        except ValueError:
            return safe_text(str(value))
        return day.isoformat() if day else ""
    return safe_text(_text(value) or "")


# ── CSV ───────────────────────────────────────────────────────────────────────────────────────────────────────────


class _Line:
    """A file-like that hands back what csv.writer writes to it, one line at a time."""

    def write(self, text: str) -> str:
        return text


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[str]], *, bom: bool = True) -> Iterator[bytes]:
    """Yield a CSV file line by line, as UTF-8 bytes (for a streamed response): HEADER, then ROWS' cells."""
    writer = csv.writer(_Line(), lineterminator="\r\n")
    yield ((BOM if bom else "") + writer.writerow(header)).encode()
    for row in rows:
        yield writer.writerow(row).encode()


class BatchedCsv:
    """A CSV download streamed in batches: subclasses give HEADER and ``batch()`` (the next rows' cells, [] at the
    end). Iterates synchronously (WSGI) or asynchronously (ASGI: each batch in a worker thread)."""

    header: Sequence[str] = ()

    def batch(self) -> list[list[str]]:
        raise NotImplementedError

    def lines(self) -> Iterator[bytes]:
        yield from csv_lines(self.header, [])
        while rows := self.batch():
            yield from _csv_body(rows)

    async def alines(self) -> AsyncIterator[bytes]:
        for line in csv_lines(self.header, []):
            yield line
        while rows := await sync_to_async(self.batch)():
            for line in _csv_body(rows):
                yield line


def _csv_body(rows: list[list[str]]) -> Iterator[bytes]:
    """Yield the CSV lines of ROWS (no header, no BOM)."""
    lines = csv_lines([], rows, bom=False)
    next(lines)  # the empty header line
    yield from lines


def table_csv(table: Table) -> bytes:
    """Return TABLE as a CSV file: a header of the columns' keys, then one line per row (see the module)."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.key for c in table.columns])
    for row in table.rows:
        writer.writerow([csv_cell(row.get(c.key), c.unit) for c in table.columns])
    return out.getvalue().encode()


# ── Parquet ───────────────────────────────────────────────────────────────────────────────────────────────────────


def _arrow_column(column: Column, values: list[Any]) -> tuple[Any, Any]:
    """Return (arrow type, arrow array) of COLUMN's VALUES, typed by its unit."""
    import pyarrow as pa

    if column.unit in INTEGER_UNITS:
        numbers = [_number(v) for v in values]
        if all(n is None or isinstance(n, int) for n in numbers):
            return pa.int64(), pa.array(numbers, type=pa.int64())
        return pa.float64(), pa.array([None if n is None else float(n) for n in numbers], type=pa.float64())
    if column.unit in FLOAT_UNITS:
        numbers = [_number(v) for v in values]
        return pa.float64(), pa.array([None if n is None else float(n) for n in numbers], type=pa.float64())
    if column.unit == DATE:
        return pa.date32(), pa.array([_date(v) for v in values], type=pa.date32())
    return pa.string(), pa.array([_text(v) for v in values], type=pa.string())


def table_arrow(table: Table) -> Any:
    """Return TABLE as a pyarrow Table typed by its columns' units, described in its schema's metadata."""
    import json

    import pyarrow as pa

    fields, arrays = [], []
    for column in table.columns:
        kind, array = _arrow_column(column, [row.get(column.key) for row in table.rows])
        meta = {"label": str(column.label), "unit": column.unit}
        fields.append(pa.field(column.key, kind, nullable=True, metadata=meta))
        arrays.append(array)
    metadata = {
        "tiski.figure": table.figure,
        "tiski.by": table.by,
        "tiski.title": str(table.title),
        "tiski.definition": str(table.definition),
        "tiski.columns": json.dumps(
            [{"key": c.key, "label": str(c.label), "unit": c.unit} for c in table.columns], ensure_ascii=False
        ),
    }
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=metadata))


def table_parquet(table: Table) -> bytes:
    """Return TABLE as a Parquet file (types by unit, see the module; Snappy-compressed)."""
    import pyarrow.parquet as pq

    out = io.BytesIO()
    pq.write_table(table_arrow(table), out)
    return out.getvalue()


# ── names ─────────────────────────────────────────────────────────────────────────────────────────────────────────

FORMATS = {"csv": (table_csv, CSV_TYPE), "parquet": (table_parquet, PARQUET_TYPE)}


def table_file(table: Table, fmt: str) -> tuple[bytes, str]:
    """Return TABLE written in FMT ("csv" or "parquet") and the file's content type."""
    write, content_type = FORMATS[fmt]
    return write(table), content_type


def export_filename(figure: str, *, start: date, end: date, by: str = "", fmt: str = "csv") -> str:
    """Return the name a download is saved as: tiski-<figure>[-by-<grouping>]-<from>-<to>.<fmt>."""
    grouping = f"-by-{by}" if by else ""
    return f"tiski-{figure}{grouping}-{start.isoformat()}-{end.isoformat()}.{fmt}"


def with_column(table: Table, column: Column, value: Any) -> Table:
    """Return a copy of TABLE with COLUMN first, VALUE in every row (the nightly export's ``day``)."""
    return Table(
        figure=table.figure,
        title=table.title,
        columns=[column, *table.columns],
        rows=[{column.key: value, **row} for row in table.rows],
        drill=list(table.drill),
        totals=dict(table.totals),
        by=table.by,
        definition=table.definition,
    )


__all__ = [
    "CSV_TYPE",
    "PARQUET_TYPE",
    "TEXT",
    "csv_cell",
    "csv_lines",
    "export_filename",
    "safe_text",
    "table_arrow",
    "table_csv",
    "table_file",
    "table_parquet",
    "with_column",
]
