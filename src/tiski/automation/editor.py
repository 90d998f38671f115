"""The action editor shared by the rule and macro pages: rows of an action and its fields, or JSON ("Advanced").

The rows' markup is macros/_action_row.html (served by macros:action-row); this module turns what they post
into the raw action list that tiski.automation.actions validates, and a stored list back into rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext as _

from tiski.automation.actions import ActionsInvalidError

ROW_PREFIX = "a"


@dataclass
class ActionRow:
    """One row of the editor: an action and the values of its fields, as typed."""

    index: int
    action: str
    values: dict[str, Any]


def json_read(text: str, *, empty: Any, what: str) -> Any:
    """Return TEXT read as JSON (EMPTY for blank text); raise ActionsInvalidError saying where WHAT is broken."""
    try:
        return json.loads(text.strip() or json.dumps(empty))
    except json.JSONDecodeError as error:
        raise ActionsInvalidError(
            [
                _("The %(what)s are not valid JSON: %(error)s (line %(line)d, column %(column)d).")
                % {"what": what, "error": error.msg, "line": error.lineno, "column": error.colno}
            ]
        ) from None


def rows_from_actions(actions: list[dict[str, Any]]) -> list[ActionRow]:
    """Return the editor rows showing ACTIONS."""
    rows = []
    for i, action in enumerate(actions):
        values = {k: (", ".join(v) if isinstance(v, list) else v) for k, v in action.items() if k != "action"}
        rows.append(ActionRow(index=i, action=str(action.get("action", "")), values=values))
    return rows


def row_from_post(data: QueryDict, index: int) -> ActionRow:
    """Return row INDEX as posted (its action and every field named a<INDEX>-<field>)."""
    prefix = f"{ROW_PREFIX}{index}-"
    values = {k[len(prefix) :]: v for k, v in data.items() if k.startswith(prefix) and k != f"{prefix}action"}
    return ActionRow(index=index, action=data.get(f"{prefix}action", ""), values=values)


def row_indexes(data: QueryDict) -> list[int]:
    return [int(i) for i in data.getlist("row") if i.isdigit()]


def actions_from_post(data: QueryDict) -> tuple[list[Any], list[ActionRow]]:
    """Return the raw action list the editor posted (rows, or the JSON of "Advanced") and the rows to show again.

    Raise ActionsInvalidError when the JSON cannot be read; the actions themselves are validated by the services.
    """
    if data.get("use_json"):
        raw = json_read(data.get("actions_json", ""), empty=[], what=_("actions"))
        shown = rows_from_actions([a for a in raw if isinstance(a, dict)]) if isinstance(raw, list) else []
        return raw, shown
    rows = [row_from_post(data, i) for i in row_indexes(data)]
    raw = []
    for row in rows:
        if not row.action:
            continue
        item: dict[str, Any] = {"action": row.action}
        item.update({k: v for k, v in row.values.items() if str(v).strip()})
        raw.append(item)
    return raw, rows
