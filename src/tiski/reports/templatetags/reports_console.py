"""Template helpers of the reports console: figures' values in the user's language, changes, drill-down links.

A value is shown by its column's unit (table.py): counts with thousands grouped, seconds as "2 h 10 min",
percentages as "92 %", dates as "Mon 17 Nov". A change against the previous period is an arrow and a word, never
colour alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from django import template
from django.urls import reverse
from django.utils import formats
from django.utils.dates import MONTHS_3, WEEKDAYS, WEEKDAYS_ABBR
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from tiski.reports.table import COUNT, DATE, HOUR, NUMBER, PERCENT, SECONDS

register = template.Library()

DASH = "–"
_KEY_COLUMNS = frozenset({"key", "label", "weekday", "hour"})


def _finnish() -> bool:
    return (get_language() or "").startswith("fi")


# ── durations and numbers ───────────────────────────────────────────────────────────────────────────────────────


@register.filter
def duration(seconds: Any) -> str:
    """Return SECONDS as a short duration: "45 s", "4 min", "2 h 10 min", "3 d 4 h" (Finnish: "2 t 10 min")."""
    if seconds is None or seconds == "":
        return DASH
    total = max(round(float(seconds)), 0)
    if total < 60:
        return _("%(n)d s") % {"n": total}
    minutes = round(total / 60)
    if minutes < 60:
        return _("%(n)d min") % {"n": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        if minutes == 0:
            return _("%(n)d h") % {"n": hours}
        return _("%(h)d h %(m)d min") % {"h": hours, "m": minutes}
    days, hours = divmod(hours, 24)
    if hours == 0:
        return _("%(n)d d") % {"n": days}
    return _("%(d)d d %(h)d h") % {"d": days, "h": hours}


def number(value: float | int, decimals: int = 0) -> str:
    """Return VALUE with the active language's separators ("1 234,5" in Finnish, "1,234.5" in English)."""
    return str(formats.number_format(value, decimals, use_l10n=True, force_grouping=True))


def decimal_text(value: float) -> str:
    """Return VALUE with as many decimals as it needs to say something: "0.04", "3.5", "15", "128"."""
    size = abs(value)
    decimals = 2 if 0 < size < 1 else 1 if size < 100 else 0
    if round(value, decimals) == round(value):
        decimals = 0
    return number(value, decimals)


def percent_text(value: float) -> str:
    text = number(value, 0 if round(value) == round(value, 1) else 1)
    return f"{text} %" if _finnish() else f"{text}%"


def date_text(day: date, *, weekday: bool = True) -> str:
    """Return DAY compactly: "ma 17.11." in Finnish, "Mon 17 Nov" in English."""
    prefix = f"{WEEKDAYS_ABBR[day.weekday()]} " if weekday else ""
    if _finnish():
        return f"{prefix}{day.day}.{day.month}."
    return f"{prefix}{day.day} {str(MONTHS_3[day.month]).title()}"


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


@register.filter
def unit_value(value: Any, unit: str) -> str:
    """Return VALUE as its UNIT reads (see table.py); a missing value is a dash."""
    if value is None or value == "":
        return DASH
    if unit == SECONDS:
        return duration(value)
    if unit == COUNT:
        return number(round(float(value))) if isinstance(value, (int, float)) else str(value)
    if unit == PERCENT:
        return percent_text(float(value))
    if unit == NUMBER:
        return decimal_text(float(value))
    if unit == DATE:
        day = _as_date(value)
        return date_text(day) if day else str(value)
    if unit == HOUR:
        return f"{int(value):02d}:00" if str(value).isdigit() else str(value)
    return str(value)


@register.filter
def cell(row: Mapping[str, Any], column: Any) -> str:
    """Return ROW's value of COLUMN (a table.Column) as its unit reads."""
    return unit_value(row.get(column.key), column.unit)


@register.filter
def weekday_name(iso_weekday: Any, form: str = "long") -> str:
    """Return the name of ISO weekday 1–7 (Monday is 1): "Monday", or with FORM "short" "Mon"."""
    names = WEEKDAYS_ABBR if form == "short" else WEEKDAYS
    try:
        return str(names[(int(iso_weekday) - 1) % 7])
    except (TypeError, ValueError):
        return str(iso_weekday)


@register.filter
def value_columns(columns: list[Any]) -> list[Any]:
    """Return the COLUMNS that hold values (not a grouping's key and label)."""
    return [c for c in columns if c.key not in _KEY_COLUMNS]


@register.filter
def row_label(row: Mapping[str, Any]) -> str:
    """Return what names a grouped row: its label, else its key; a date key reads as a date."""
    label = row.get("label")
    key = row.get("key")
    if isinstance(key, int) and label == f"{key:02d}":  # an hour of the day
        return f"{key:02d}:00"
    day = _as_date(key) if not isinstance(key, (int, float)) else None
    if day is not None and (label in (None, "") or label == str(key)):
        return date_text(day)
    if label not in (None, ""):
        return str(label)
    return DASH if key in (None, "") else str(key)


# ── changes against the previous period ─────────────────────────────────────────────────────────────────────────


@register.simple_tag
def change(
    current: Any, previous: Any, unit: str = COUNT, better: str = "up", than: bool = False, compact: bool = False
) -> SafeString:
    """Return the change from PREVIOUS to CURRENT: an arrow, the difference and a word ("▲ 12% more"), with THAN
    the previous value too ("▲ 12% more than 25"); COMPACT shows "▲ 12% (25)" and says it all to screen readers.

    BETTER says which direction is good ("up", "down" or "" for neither); the class carries it for a colour,
    the words carry it for everyone."""
    if current in (None, "") or previous in (None, ""):
        return format_html('<span class="chg chg--none">{}</span>', _("no comparison"))
    now, before = float(current), float(previous)
    was = unit_value(before, unit)
    if now == before:
        text = _("unchanged from %(before)s") % {"before": was} if than or compact else _("unchanged")
        return format_html(
            '<span class="chg chg--same"><span class="chg__arrow" aria-hidden="true">=</span> {}</span>', text
        )
    up = now > before
    if unit == PERCENT:
        amount = _("%(n)s pp") % {"n": number(abs(now - before), 1)}
    elif unit == SECONDS:
        amount = duration(abs(now - before))
    elif before:
        share = abs(now - before) / abs(before) * 100
        amount = percent_text(round(share) if share >= 10 else round(share, 1))
    else:
        amount = unit_value(abs(now - before), unit)
    if than:
        words = (
            (_("%(amount)s slower than %(before)s"), _("%(amount)s faster than %(before)s"))
            if unit == SECONDS
            else (_("%(amount)s more than %(before)s"), _("%(amount)s less than %(before)s"))
        )
    else:
        words = (
            (_("%(amount)s slower"), _("%(amount)s faster"))
            if unit == SECONDS
            else (_("%(amount)s more"), _("%(amount)s less"))
        )
    text = (words[0] if up else words[1]) % {"amount": amount, "before": was}
    good = "" if not better else ("good" if (up == (better == "up")) else "bad")
    if compact:
        return format_html(
            '<span class="chg chg--{} {}" title="{}"><span class="chg__arrow" aria-hidden="true">{}</span>'
            '<span aria-hidden="true"><span class="chg__amount">{}</span> <span class="chg__was">({})</span></span>'
            '<span class="visually-hidden">{}</span></span>',
            "up" if up else "down",
            f"chg--{good}" if good else "",
            _("before: %(value)s") % {"value": was},
            "▲" if up else "▼",
            amount,
            was,
            text,
        )
    return format_html(
        '<span class="chg chg--{} {}" title="{}"><span class="chg__arrow" aria-hidden="true">{}</span> {}</span>',
        "up" if up else "down",
        f"chg--{good}" if good else "",
        _("before: %(value)s") % {"value": was},
        "▲" if up else "▼",
        text,
    )


# ── links to the cases behind a number ──────────────────────────────────────────────────────────────────────────


def drill_query(flt_query: Mapping[str, str], figure: str, drill: Mapping[str, str] | None) -> str:
    """Return the query string of the cases page for a row: the filter's, the figure's name and the row's own."""
    params = {**flt_query, "figure": figure, **(drill or {})}
    return urlencode(params)


@register.simple_tag
def drill_url(flt_query: Mapping[str, str], figure: str, drill: Mapping[str, str] | None) -> str:
    """Return the URL of the cases behind a row, or "" when nothing is behind it."""
    if drill is None:
        return ""
    return f"{reverse('reports:cases')}?{drill_query(flt_query, figure, drill)}"


@register.simple_tag
def table_rows(table: Any, flt_query: Mapping[str, str]) -> list[tuple[dict[str, Any], str]]:
    """Return TABLE's rows paired with the URL of the cases behind each (or "")."""
    drills = list(table.drill) + [None] * (len(table.rows) - len(table.drill))
    return [(row, drill_url(flt_query, table.figure, drill)) for row, drill in zip(table.rows, drills, strict=False)]


@register.simple_tag
def query_with_params(keep: Mapping[str, Any], **changes: Any) -> str:
    """Return KEEP as a query string with CHANGES applied (an empty value removes the key)."""
    params = {k: str(v) for k, v in keep.items()}
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = str(value)
    return urlencode(params)


@register.filter
def lookup_key(row: Mapping[str, Any], key: str) -> Any:
    """Return ROW[KEY], or None."""
    return row.get(key) if row else None


@register.filter
def column_max(table: Any, key: str) -> float:
    """Return the largest value of column KEY in TABLE (0 when none)."""
    return max((float(r.get(key) or 0) for r in table.rows), default=0.0)


@register.filter
def share(value: Any, peak: Any) -> int:
    """Return VALUE as a whole percentage of PEAK (for a bar's width)."""
    try:
        value, peak = float(value or 0), float(peak or 0)
    except (TypeError, ValueError):
        return 0
    return round(100 * value / peak) if peak > 0 else 0


@register.simple_tag
def js_strings() -> dict[str, str]:
    """Return the words the chart script needs, in the active language (for json_script)."""
    return {
        "s": _("%(n)d s"),
        "min": _("%(n)d min"),
        "h": _("%(n)s h"),
        "hmin": _("%(h)d h %(m)d min"),
        "d": _("%(n)d d"),
        "dh": _("%(d)d d %(h)d h"),
    }
