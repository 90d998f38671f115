"""Parse the macro editor's posted rows (or its JSON) and the bulk selection into service input.

The action rows are the automation editor's (tiski.automation.editor), shared with the rule pages.
"""

from __future__ import annotations

from typing import Any

from django.http import QueryDict

from tiski.automation import editor
from tiski.automation.actions import ActionsInvalidError
from tiski.automation.editor import ActionRow, row_from_post, row_indexes, rows_from_actions
from tiski.macros.exceptions import MacroInvalidError

__all__ = ["ActionRow", "actions_from_post", "case_ids_from_post", "row_from_post", "row_indexes", "rows_from_actions"]


def actions_from_post(data: QueryDict) -> tuple[list[Any], list[ActionRow]]:
    """editor.actions_from_post(), raising MacroInvalidError when the JSON cannot be read."""
    try:
        return editor.actions_from_post(data)
    except ActionsInvalidError as error:
        raise MacroInvalidError(error.errors) from None


def case_ids_from_post(data: QueryDict) -> list[int]:
    return [int(v) for v in data.getlist("case") if v.strip().isdigit()]
