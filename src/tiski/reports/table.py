"""What every figure returns: a table of rows under named, typed columns, with the cases behind each row.

The console draws charts and tables from it, the API returns it as JSON, the exports write it as CSV or Parquet:
a figure is defined once (figures.py) and shown everywhere the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Units of a column: how a value is shown and written.
COUNT, SECONDS, PERCENT, NUMBER, TEXT, DATE, HOUR = "count", "seconds", "percent", "number", "text", "date", "hour"


@dataclass(frozen=True)
class Column:
    key: str
    label: Any  # a lazy translation: str() it in the language wanted
    unit: str = COUNT


@dataclass
class Table:
    """ROWS are dicts keyed by the columns' keys. DRILL[i] holds the query parameters that, added to the filter's
    own, list the cases behind row i on the cases page (None: no cases behind it, e.g. a presence figure)."""

    columns: list[Column] = field(default_factory=list)
    figure: str = ""  # figure_table() fills in the figure's name, title and definition
    title: Any = ""
    rows: list[dict[str, Any]] = field(default_factory=list)
    drill: list[dict[str, str] | None] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)
    by: str = ""
    definition: Any = ""

    def add(self, row: dict[str, Any], drill: dict[str, str] | None = None) -> None:
        self.rows.append(row)
        self.drill.append(drill)

    def as_json(self) -> dict[str, Any]:
        """The table as plain JSON (labels in the active language)."""
        return {
            "figure": self.figure,
            "title": str(self.title),
            "definition": str(self.definition),
            "by": self.by,
            "columns": [{"key": c.key, "label": str(c.label), "unit": c.unit} for c in self.columns],
            "rows": [{c.key: _plain(row.get(c.key)) for c in self.columns} for row in self.rows],
            "drill": self.drill,
            "totals": {k: _plain(v) for k, v in self.totals.items()},
        }


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (int, float, str, bool)):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True)
class Figure:
    """A key figure: NAME (the API's and exports' id), what it measures, the groupings it offers (BY), and the
    function computing it. LIVE figures describe now, not a date range (the range is ignored)."""

    name: str
    title: Any
    definition: Any
    groupings: tuple[str, ...]
    compute: Callable[..., Table]
    live: bool = False
    agent_visible: bool = True  # shown to an agent on their own figures page (narrowed to them)

    @property
    def default_by(self) -> str:
        return self.groupings[0]
