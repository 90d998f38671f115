"""The rules engine under fuzzing: any JSON is a valid condition tree or refused with reasons; valid trees hold or
not for any context, without an exception; rule_clean() refuses a bad rule with RuleInvalidError only."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tiski.automation.conditions import FIELDS, OPS, ConditionsInvalidError, conditions_hold, conditions_validate
from tiski.automation.models import Rule
from tiski.automation.services import RuleInvalidError, rule_clean, rule_save

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
values = scalars | st.lists(scalars, max_size=4) | st.sampled_from(["high", "open", "email", "csat", "vip", "a,b"])


@st.composite
def conditions(draw: st.DrawFn) -> dict[str, Any]:
    condition: dict[str, Any] = {
        "field": draw(st.sampled_from([*FIELDS, "case.nope"])),
        "op": draw(st.sampled_from([*OPS, "~"])),
    }
    if draw(st.booleans()):
        condition["value"] = draw(values)
    return condition


trees = st.recursive(
    conditions(),
    lambda inner: st.builds(lambda mode, items: {mode: items}, st.sampled_from(["all", "any"]), st.lists(inner)),
    max_leaves=8,
).map(lambda tree: tree if "field" not in tree else {"all": [tree]})

ACTIONS = [{"action": "add_tags", "tags": ["fuzz"]}]
contexts = st.dictionaries(
    st.sampled_from(list(FIELDS)),
    scalars | st.lists(st.text(max_size=8), max_size=3) | st.frozensets(st.text(max_size=5), max_size=3),
)


def validate_or_reasons(raw: object) -> dict[str, Any] | None:
    try:
        return conditions_validate(raw)
    except ConditionsInvalidError as error:
        assert error.errors and all(isinstance(line, str) and line for line in error.errors)
        return None


@given(raw=json_values)
def test_any_json_is_a_tree_or_refused_with_reasons(raw: object) -> None:
    validate_or_reasons(raw)


@given(raw=trees, context=contexts)
@example(raw={"all": [{"field": "case.hours_open", "op": "gt", "value": "nan"}]}, context={})
@example(raw={"all": [{"field": "customer.email", "op": "in", "value": ["a"]}]}, context={"customer.email": ["a"]})
def test_a_valid_tree_is_stable_storable_and_evaluates_for_any_context(raw: Any, context: dict[str, Any]) -> None:
    tree = validate_or_reasons(raw)
    if tree is None:
        return
    assert conditions_validate(tree) == tree  # cleaning a clean tree changes nothing
    assert json.loads(json.dumps(tree, allow_nan=False)) == tree  # stored as JSON in any database
    assert conditions_hold(tree, context) in (True, False)


@given(
    data=st.fixed_dictionaries(
        {},
        optional={
            "name": json_values,
            "trigger": st.sampled_from(["message_received", "case_created", "status_changed", "status_for", "x"])
            | json_values,
            "channel_kinds": json_values | st.lists(st.sampled_from(["email", "sms", "x"])),
            "trigger_status": json_values | st.sampled_from(["open", "pending", "closed"]),
            "trigger_hours": json_values,
            "conditions": trees | json_values,
            "actions": json_values,
            "enabled": json_values,
            "description": json_values,
        },
    )
)
@example(data={"name": "x", "trigger": "message_received", "channel_kinds": [["email"]], "actions": []})
@example(data={"name": "x", "trigger": "message_received", "channel_kinds": "email", "actions": []})
def test_rule_clean_returns_fields_or_refuses_with_reasons(data: dict[str, Any]) -> None:
    try:
        fields = rule_clean(data)
    except RuleInvalidError as error:
        assert error.errors and all(isinstance(line, str) and line for line in error.errors)
        return
    json.dumps(fields["conditions"], allow_nan=False)
    json.dumps(fields["actions"], allow_nan=False)


@pytest.mark.django_db
@given(raw=trees)
def test_a_valid_tree_saves_as_a_rule(raw: Any) -> None:
    tree = validate_or_reasons(raw)
    if tree is None:
        return
    rule = rule_save(
        data={"name": "fuzz", "trigger": "message_received", "conditions": tree, "actions": ACTIONS}, actor=None
    )
    assert Rule.objects.get(pk=rule.pk).conditions == tree
