"""Template filters that say in words what a rule does."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext as _

from tiski.automation.actions import ACTIONS, action_summary
from tiski.automation.conditions import FIELDS, OPS

register = template.Library()


def _condition_text(item: dict[str, Any]) -> str:
    if "field" not in item:
        return f"({conditions_text(item)})"
    field = FIELDS.get(item["field"])
    label = str(field.label) if field else item["field"]
    op = str(OPS[item["op"]][0]) if item["op"] in OPS else item["op"]
    value = item.get("value")
    if value is None:
        return f"{label} {op}"
    shown = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
    return f"{label} {op} “{shown}”"


@register.filter
def conditions_text(tree: dict[str, Any] | None) -> str:
    """Return a condition tree in words: "Customer tier is “vip” and …"; "" for no conditions."""
    if not tree:
        return ""
    mode, items = next(iter(tree.items()))
    joiner = f" {_('and')} " if mode == "all" else f" {_('or')} "
    return joiner.join(_condition_text(item) for item in items)


@register.filter
def actions_text(actions: list[dict[str, Any]] | None) -> list[str]:
    """Return one line per action."""
    return [action_summary(a) if a.get("action") in ACTIONS else str(a.get("action")) for a in actions or []]


@register.filter
def channel_label(kind: str) -> str:
    from tiski.channels.models import ChannelKind

    return str(dict(ChannelKind.choices).get(kind, kind))
