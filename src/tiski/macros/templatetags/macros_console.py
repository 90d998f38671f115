"""Template filters of the macro pages: an action's spec by name, a row's value by field name."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def action_spec(name: str) -> Any:
    from tiski.automation.actions import ACTIONS

    return ACTIONS.get(name)


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key, "") if isinstance(mapping, dict) else ""
