"""The automation pages of the console: administrators list, write (with the row editor or JSON), try (dry run),
order, switch off and delete rules and read the log; nobody else gets in."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from tiski.automation.models import Rule, RuleRun
from tiski.automation.services import rule_save
from tiski.channels.services import Receipt


@pytest.fixture(autouse=True)
def _without_default_rules(db):  # type: ignore[no-untyped-def]
    """Start from no rules: the ones every installation gets (tiski.surveys' low-score rule) are not tested here."""
    from tiski.automation.models import Rule

    Rule.objects.all().delete()


pytestmark = pytest.mark.django_db

FORM = {
    "name": "Invoices to billing",
    "description": "Billing answers invoice questions",
    "enabled": "1",
    "trigger": "message_received",
    "channel_kinds": ["email", "webform"],
    "match": "all",
    "crow": ["0", "1"],
    "c0-field": "message.text",
    "c0-op": "contains",
    "c0-value": "Lasku",
    "c1-field": "customer.tier",
    "c1-op": "in",
    "c1-value": "vip, gold",
    "row": ["0", "1"],
    "a0-action": "set_priority",
    "a0-priority": "high",
    "a1-action": "add_tags",
    "a1-tags": "billing, invoice",
}


def _rule(name: str, **extra: object) -> Rule:
    return rule_save(
        data={"name": name, "trigger": "message_received", "actions": [{"action": "close"}], **extra}, actor=None
    )


def test_only_administrators_see_and_change_rules(client: Client, agent_client: Client, lead_client: Client) -> None:
    rule = _rule("Existing")
    for who in (agent_client, lead_client):
        assert who.get(reverse("automation:list")).status_code == 403
        assert who.post(reverse("automation:new"), FORM).status_code == 403
        assert who.post(reverse("automation:toggle", args=[rule.pk])).status_code == 403
        assert who.post(reverse("automation:delete", args=[rule.pk])).status_code == 403
        assert who.post(reverse("automation:dry-run"), FORM).status_code == 403
        assert who.get(reverse("automation:log")).status_code == 403
    assert "Automation" not in agent_client.get(reverse("console:inbox"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    anonymous = Client().get(reverse("automation:list"))
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    assert Rule.objects.get().enabled and Rule.objects.count() == 1


def test_an_administrator_writes_a_rule_with_the_row_editor(admin_client_: Client) -> None:
    answer = admin_client_.post(reverse("automation:new"), FORM)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    rule = Rule.objects.get()
    assert rule.channel_kinds == ["email", "webform"]
    assert rule.conditions == {
        "all": [
            {"field": "message.text", "op": "contains", "value": "lasku"},
            {"field": "customer.tier", "op": "in", "value": ["vip", "gold"]},
        ]
    }
    assert rule.actions == [
        {"action": "set_priority", "priority": "high"},
        {"action": "add_tags", "tags": ["billing", "invoice"]},
    ]
    page = admin_client_.get(reverse("automation:list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Invoices to billing" in page and "Message subject and text contains “lasku”" in page
    assert "Set priority: High" in page
    edit = admin_client_.get(reverse("automation:edit", args=[rule.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'name="c1-value" value="vip, gold"' in edit  # the rows come back as written


def test_a_bad_rule_is_shown_again_with_the_reasons(admin_client_: Client) -> None:
    bad = {**FORM, "c0-value": "", "a0-priority": "sky-high", "name": ""}
    answer = admin_client_.post(reverse("automation:new"), bad, HTTP_ACCEPT_LANGUAGE="en")
    page = answer.content.decode()
    assert answer.status_code == 400
    assert "Give the rule a name." in page and "give a value." in page and "Priority must be one of" in page
    assert 'value="vip, gold"' in page and 'name="a1-tags" value="billing, invoice"' in page  # nothing typed lost
    assert not Rule.objects.exists()


def test_nested_groups_through_the_json_field(admin_client_: Client) -> None:
    nested = {
        **FORM,
        "conditions_as_json": "1",
        "conditions_json": (
            '{"any": [{"field": "case.priority", "op": "is", "value": "urgent"},'
            ' {"all": [{"field": "customer.tier", "op": "is", "value": "vip"}]}]}'
        ),
    }
    assert admin_client_.post(reverse("automation:new"), nested).status_code == 302
    assert Rule.objects.get().conditions["any"][1] == {"all": [{"field": "customer.tier", "op": "is", "value": "vip"}]}
    broken = {**nested, "conditions_json": "{any: ["}
    answer = admin_client_.post(reverse("automation:new"), broken, HTTP_ACCEPT_LANGUAGE="en")
    assert answer.status_code == 400 and "The conditions are not valid JSON" in answer.content.decode()


def test_the_dry_run_lists_the_cases_it_would_have_matched(
    admin_client_: Client, receive: Callable[..., Receipt]
) -> None:
    hit = receive(subject="Lasku 123", body="x").case
    receive(subject="Shirt", body="size?")
    answer = admin_client_.post(reverse("automation:dry-run"), {**FORM, "c1-field": ""}, HTTP_ACCEPT_LANGUAGE="en")
    page = answer.content.decode()
    assert answer.status_code == 200
    assert "1 of the 2 newest cases would have matched" in page and hit.reference in page
    assert "Left out" not in page  # the message's text is read from each case's latest customer message
    assert not RuleRun.objects.exists() and not Rule.objects.exists()


def test_toggle_order_and_delete(admin_client_: Client) -> None:
    first, second = _rule("First"), _rule("Second")
    admin_client_.post(reverse("automation:toggle", args=[first.pk]))
    first.refresh_from_db()
    assert not first.enabled
    admin_client_.post(reverse("automation:move", args=[second.pk, "up"]))
    assert list(Rule.objects.order_by("position").values_list("name", flat=True)) == ["Second", "First"]
    admin_client_.post(reverse("automation:delete", args=[first.pk]))
    assert list(Rule.objects.values_list("name", flat=True)) == ["Second"]


def test_the_condition_row_follows_the_field(admin_client_: Client) -> None:
    row = admin_client_.get(
        reverse("automation:condition-row"), {"index": "3", "c3-field": "customer.tier"}, HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert 'name="c3-op"' in row and '<option value="vip"' in row and "contains" not in row  # no "contains" for a tier
    new = admin_client_.get(reverse("automation:condition-row"), {"crow": ["0", "1"]}).content.decode()
    assert 'name="crow" value="2"' in new


def test_the_log_shows_runs_and_filters(admin_client_: Client, receive: Callable[..., Receipt]) -> None:
    ok = _rule("Tag it", actions=[{"action": "add_tags", "tags": ["x"]}])
    _rule("Broken", actions=[{"action": "set_team", "team": "Nobody"}])
    case = receive().case
    page = admin_client_.get(reverse("automation:log"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert case.reference in page and "Add tags: x" in page and "There is no team “Nobody”" in page
    only_failed = admin_client_.get(reverse("automation:log"), {"outcome": "failed"}).content.decode()
    assert "Add tags: x" not in only_failed and "Nobody" in only_failed
    only_ok = admin_client_.get(reverse("automation:log"), {"rule": ok.pk}).content.decode()
    assert "Nobody" not in only_ok
