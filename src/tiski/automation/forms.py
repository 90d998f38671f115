"""Parse the rule editor's posted fields (condition rows, or the conditions' JSON) into service input."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext as _

from tiski.automation.actions import ActionsInvalidError
from tiski.automation.conditions import FIELDS, OPS
from tiski.automation.editor import json_read
from tiski.automation.services import RuleInvalidError

ROW_PREFIX = "c"


@dataclass
class ConditionRow:
    """One condition row of the editor, as typed."""

    index: int
    field: str
    op: str
    value: str

    @property
    def spec(self) -> Any:
        return FIELDS.get(self.field)

    @property
    def ops(self) -> list[tuple[str, str]]:
        spec = self.spec
        return [(name, str(label)) for name, (label, kinds) in OPS.items() if spec is None or spec.kind in kinds]

    @property
    def needs_value(self) -> bool:
        return self.op not in ("is_set", "is_not_set")


def rows_from_conditions(tree: dict[str, Any]) -> tuple[str, list[ConditionRow], bool]:
    """Return (all|any, the rows, whether the tree nests groups: then only the JSON can show it)."""
    if not tree:
        return "all", [], False
    mode, items = next(iter(tree.items()))
    rows: list[ConditionRow] = []
    nested = False
    for item in items:
        if "field" not in item:
            nested = True
            continue
        value = item.get("value", "")
        shown = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value).lower()
        rows.append(ConditionRow(index=len(rows), field=item["field"], op=item["op"], value=shown))
    return mode, rows, nested


def row_indexes(data: QueryDict) -> list[int]:
    return [int(i) for i in data.getlist("crow") if i.isdigit()]


def row_from_post(data: QueryDict, index: int) -> ConditionRow:
    prefix = f"{ROW_PREFIX}{index}-"
    field = data.get(f"{prefix}field", "")
    op = data.get(f"{prefix}op", "")
    spec = FIELDS.get(field)
    if spec is not None and (op not in OPS or spec.kind not in OPS[op][1]):
        op = next(name for name, (_label, kinds) in OPS.items() if spec.kind in kinds)
    return ConditionRow(index=index, field=field, op=op, value=data.get(f"{prefix}value", ""))


def conditions_from_post(data: QueryDict) -> tuple[Any, list[ConditionRow]]:
    """Return the raw condition tree the editor posted (rows, or the JSON of "Advanced") and the rows to show.

    Raise RuleInvalidError when the JSON cannot be read; the conditions themselves are validated by the service.
    """
    if data.get("conditions_as_json"):
        try:
            raw = json_read(data.get("conditions_json", ""), empty={}, what=_("conditions"))
        except ActionsInvalidError as error:
            raise RuleInvalidError(error.errors) from None
        return raw, rows_from_conditions(raw)[1] if isinstance(raw, dict) and len(raw) == 1 else []
    rows = [row_from_post(data, i) for i in row_indexes(data)]
    mode = "any" if data.get("match") == "any" else "all"
    items: list[dict[str, Any]] = []
    for row in rows:
        if not row.field:
            continue
        item: dict[str, Any] = {"field": row.field, "op": row.op}
        if row.needs_value:
            item["value"] = row.value.split(",") if row.op in ("in", "not_in") else row.value
        items.append(item)
    return {mode: items}, rows
