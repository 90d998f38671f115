"""The conditions of automation rules: fields of the case, its message and its customer, in all/any groups.

A condition tree is JSON: ``{"all": [...]}`` or ``{"any": [...]}``, whose items are conditions
``{"field": "case.priority", "op": "is", "value": "high"}`` or groups again (two levels deep at most); an
empty tree holds for every case. conditions_validate() cleans what an administrator typed or says what is wrong;
conditions_hold() evaluates a clean tree against a flat context ``{"case.priority": "high", …}`` built once per
event (automation.context), in plain Python: a hundred rules cost microseconds, not queries.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

MAX_CONDITIONS = 50
MAX_DEPTH = 2


@dataclass(frozen=True)
class Field:
    name: str
    label: Promise
    kind: str  # text, choice, list, bool, number
    choices: Callable[[], list[tuple[str, str]]] | None = None
    event_only: bool = False  # known only when an event happens (not in a dry run over stored cases)


def _choices(source: str) -> Callable[[], list[tuple[str, str]]]:
    def choices() -> list[tuple[str, str]]:
        from tiski.cases.models import Case
        from tiski.channels.models import ChannelKind
        from tiski.customers.models import Customer

        if source == "priority":
            return [(member.name.lower(), str(member.label)) for member in Case.Priority]
        enum = {
            "status": Case.Status,
            "type": Case.Type,
            "channel": ChannelKind,
            "tier": Customer.Tier,
        }[source]
        return [(str(value), str(label)) for value, label in enum.choices]

    return choices


def _metrics() -> list[tuple[str, str]]:
    from tiski.sla.models import SlaClock

    return [(str(value), str(label)) for value, label in SlaClock.Metric.choices]


def _survey_kinds() -> list[tuple[str, str]]:
    return [("csat", "CSAT"), ("nps", "NPS")]


FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        Field("case.status", gettext_lazy("Case status"), "choice", _choices("status")),
        Field("case.priority", gettext_lazy("Case priority"), "choice", _choices("priority")),
        Field("case.type", gettext_lazy("Case type"), "choice", _choices("type")),
        Field("case.channel", gettext_lazy("Case channel"), "choice", _choices("channel")),
        Field("case.subject", gettext_lazy("Case subject"), "text"),
        Field("case.category", gettext_lazy("Case category"), "text"),
        Field("case.team", gettext_lazy("Case team"), "text"),
        Field("case.owner", gettext_lazy("Case owner (user name)"), "text"),
        Field("case.tags", gettext_lazy("Case tags"), "list"),
        Field("case.hours_open", gettext_lazy("Hours since the case was opened"), "number"),
        Field("message.text", gettext_lazy("Message subject and text"), "text", event_only=True),
        Field("message.automatic", gettext_lazy("Message is automatic (auto-reply, bulk)"), "bool", event_only=True),
        Field("customer.name", gettext_lazy("Customer name"), "text"),
        Field("customer.tier", gettext_lazy("Customer tier"), "choice", _choices("tier")),
        Field("customer.language", gettext_lazy("Customer language"), "text"),
        Field("customer.organization", gettext_lazy("Customer organisation"), "text"),
        Field("customer.interests", gettext_lazy("Customer interests"), "text"),
        Field("customer.email", gettext_lazy("Customer email addresses"), "text"),
        Field("event.metric", gettext_lazy("Service level target (SLA events)"), "choice", _metrics, event_only=True),
        Field("event.old_status", gettext_lazy("Previous status (status changes)"), "choice", _choices("status"), True),
        Field("event.signal_gained", gettext_lazy("Signals the customer gained (signal changes)"), "list", None, True),
        Field("event.signal_lost", gettext_lazy("Signals the customer lost (signal changes)"), "list", None, True),
        Field("survey.kind", gettext_lazy("Survey (CSAT or NPS)"), "choice", _survey_kinds, event_only=True),
        Field("survey.score", gettext_lazy("Survey score"), "number", event_only=True),
        Field("survey.negative", gettext_lazy("Survey score is low (CSAT 1–2, NPS 0–6)"), "bool", event_only=True),
        Field("survey.comment", gettext_lazy("Survey comment"), "text", event_only=True),
    )
}

OPS: dict[str, tuple[Promise, tuple[str, ...]]] = {
    "is": (gettext_lazy("is"), ("text", "choice", "bool", "number")),
    "is_not": (gettext_lazy("is not"), ("text", "choice", "number")),
    "in": (gettext_lazy("is one of"), ("text", "choice")),
    "not_in": (gettext_lazy("is none of"), ("text", "choice")),
    "contains": (gettext_lazy("contains"), ("text", "list")),
    "not_contains": (gettext_lazy("does not contain"), ("text", "list")),
    "starts_with": (gettext_lazy("starts with"), ("text",)),
    "gt": (gettext_lazy("is more than"), ("number",)),
    "lt": (gettext_lazy("is less than"), ("number",)),
    "is_set": (gettext_lazy("is set"), ("text", "choice", "list")),
    "is_not_set": (gettext_lazy("is not set"), ("text", "choice", "list")),
}
_NO_VALUE = frozenset({"is_set", "is_not_set"})
_LISTS = frozenset({"in", "not_in"})


class ConditionsInvalidError(ValueError):
    """A condition tree cannot be used; ERRORS says why, one line each."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def conditions_validate(raw: object) -> dict[str, Any]:
    """Return RAW cleaned (values case-folded where compared without case), or raise ConditionsInvalidError."""
    if raw in (None, {}, []):
        return {"all": []}
    errors: list[str] = []
    cleaned = _group(raw, depth=1, where=_("Conditions"), errors=errors)
    if sum(1 for _c in _leaves(cleaned)) > MAX_CONDITIONS:
        errors.append(_("At most %(n)d conditions.") % {"n": MAX_CONDITIONS})
    if errors:
        raise ConditionsInvalidError(errors)
    return cleaned


def _group(raw: object, *, depth: int, where: str, errors: list[str]) -> dict[str, Any]:
    if not isinstance(raw, dict) or len(raw) != 1 or next(iter(raw)) not in ("all", "any"):
        errors.append(_('%(where)s: a group is {"all": [...]} or {"any": [...]}.') % {"where": where})
        return {"all": []}
    mode, items = next(iter(raw.items()))
    if not isinstance(items, list):
        errors.append(_("%(where)s: “%(mode)s” takes a list.") % {"where": where, "mode": mode})
        return {mode: []}
    out: list[dict[str, Any]] = []
    for number, item in enumerate(items, start=1):
        here = f"{where} › {number}"
        if isinstance(item, dict) and set(item) <= {"all", "any"} and item:
            if depth >= MAX_DEPTH:
                errors.append(_("%(where)s: groups nest at most two deep.") % {"where": here})
                continue
            out.append(_group(item, depth=depth + 1, where=here, errors=errors))
        else:
            condition = _condition(item, where=here, errors=errors)
            if condition is not None:
                out.append(condition)
    return {mode: out}


def _condition(item: object, *, where: str, errors: list[str]) -> dict[str, Any] | None:
    if not isinstance(item, dict) or not isinstance(item.get("field"), str) or not isinstance(item.get("op"), str):
        errors.append(_('%(where)s: a condition is {"field", "op", "value"}.') % {"where": where})
        return None
    field = FIELDS.get(item["field"])
    if field is None:
        errors.append(_("%(where)s: unknown field “%(field)s”.") % {"where": where, "field": item["field"]})
        return None
    op = item["op"]
    if op not in OPS or field.kind not in OPS[op][1]:
        allowed = ", ".join(name for name, (_label, kinds) in OPS.items() if field.kind in kinds)
        errors.append(
            _("%(where)s: “%(op)s” does not fit %(field)s; use one of: %(allowed)s.")
            % {"where": where, "op": op, "field": field.label, "allowed": allowed}
        )
        return None
    if op in _NO_VALUE:
        return {"field": field.name, "op": op}
    value = item.get("value")
    problem, value = _value(field, op, value)
    if problem:
        errors.append(f"{where} ({field.label}): {problem}")
        return None
    return {"field": field.name, "op": op, "value": value}


def _value(field: Field, op: str, value: Any) -> tuple[str, Any]:
    if op in _LISTS:
        values = value.split(",") if isinstance(value, str) else value
        if not isinstance(values, list) or not values:
            return _("give a list of values."), None
        cleaned = [str(v).strip().casefold() for v in values if str(v).strip()]
        if not cleaned:  # [" "] would be cleaned to [], which is refused when cleaned again
            return _("give a list of values."), None
        if field.kind == "choice" and field.choices is not None:
            known = {key for key, _label in field.choices()}
            unknown = [v for v in cleaned if v not in known]
            if unknown:
                return _("unknown value %(values)s.") % {"values": ", ".join(unknown)}, None
        return "", cleaned
    if field.kind == "bool":
        if isinstance(value, bool):
            return "", value
        if str(value).lower() in ("true", "yes", "1", "false", "no", "0"):
            return "", str(value).lower() in ("true", "yes", "1")
        return _("give true or false."), None
    if field.kind == "number":
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            return _("give a number."), None
        # "nan" and "inf" parse as floats but compare with nothing and cannot be stored as JSON (PostgreSQL).
        return ("", number) if math.isfinite(number) else (_("give a number."), None)
    if value is None or not str(value).strip():
        return _("give a value."), None
    text = str(value).strip().casefold()
    if field.kind == "choice" and field.choices is not None and text not in {k for k, _l in field.choices()}:
        allowed = ", ".join(k for k, _l in field.choices())
        return _("one of: %(allowed)s.") % {"allowed": allowed}, None
    return "", text


def _leaves(tree: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for items in tree.values():
        for item in items:
            if "field" in item:
                yield item
            else:
                yield from _leaves(item)


def conditions_fields(tree: Mapping[str, Any]) -> frozenset[str]:
    """Return the fields TREE reads (to load only what the rules need)."""
    return frozenset(item["field"] for item in _leaves(tree))


def conditions_hold(tree: Mapping[str, Any], context: Mapping[str, Any]) -> bool:
    """Return whether the clean condition TREE holds for CONTEXT (a missing field holds nothing but is_not_set)."""
    mode, items = next(iter(tree.items()))
    results = (conditions_hold(item, context) if "field" not in item else _holds(item, context) for item in items)
    return all(results) if mode == "all" else any(results) if items else True


def _holds(condition: Mapping[str, Any], context: Mapping[str, Any]) -> bool:
    op = condition["op"]
    actual = context.get(condition["field"])
    if op == "is_set":
        return bool(actual)
    if op == "is_not_set":
        return not actual
    if actual is None:
        return op in ("is_not", "not_in", "not_contains")
    expected = condition["value"]
    if isinstance(actual, list | tuple | frozenset | set):
        folded = {str(v).casefold() for v in actual}
        if op in ("gt", "lt"):
            return False
        if op in ("in", "not_in"):
            found = not folded.isdisjoint(expected)
        elif op == "starts_with":
            found = any(v.startswith(expected) for v in folded)
        else:
            found = expected in folded
        return found is (op in ("contains", "is", "in", "starts_with"))
    if isinstance(actual, bool | int | float) and isinstance(expected, bool | int | float):
        if op == "gt":
            return actual > expected
        if op == "lt":
            return actual < expected
        return (actual == expected) is (op == "is")
    text = str(actual).casefold()
    if op == "is":
        return text == expected
    if op == "is_not":
        return text != expected
    if op == "in":
        return text in expected
    if op == "not_in":
        return text not in expected
    if op == "contains":
        return expected in text
    if op == "not_contains":
        return expected not in text
    if op == "starts_with":
        return text.startswith(expected)
    return False
