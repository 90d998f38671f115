"""Automation rules through the API: JSON and YAML round trips for versioning, all-or-nothing replacement,
single-rule changes, the dry run and the log; only administrators may touch them."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from django.test import Client

from tests.api.conftest import Api
from tiski.automation.models import Rule, RuleRun
from tiski.cases.models import Case


@pytest.fixture(autouse=True)
def _without_default_rules(db):  # type: ignore[no-untyped-def]
    """Start from no rules: the ones every installation gets (tiski.surveys' low-score rule) are not tested here."""
    from tiski.automation.models import Rule

    Rule.objects.all().delete()


pytestmark = pytest.mark.django_db

VIP = {
    "name": "VIP first",
    "trigger": "message_received",
    "channel_kinds": ["email", "webform"],
    "conditions": {"all": [{"field": "customer.tier", "op": "is", "value": "vip"}]},
    "actions": [{"action": "set_priority", "priority": "high"}, {"action": "add_tags", "tags": ["vip"]}],
}
SILENT = {
    "name": "Close the silent",
    "trigger": "status_for",
    "trigger_status": "pending",
    "trigger_hours": 120,
    "actions": [{"action": "set_status", "status": "solved"}],
}


def put(api: Api, body: str | bytes, content_type: str) -> Any:
    return api.client.put("/api/v1/automation/rules", body, content_type=content_type, **api._headers())


def test_create_list_and_the_yaml_round_trip(admin_api: Api) -> None:
    assert admin_api.post("/automation/rules", VIP).status_code == 201
    assert admin_api.post("/automation/rules", SILENT).status_code == 201
    listed = admin_api.get("/automation/rules").json()["rules"]
    assert [r["name"] for r in listed] == ["VIP first", "Close the silent"]
    assert [r["position"] for r in listed] == [0, 1]

    exported = admin_api.get("/automation/rules", {"format": "yaml"})
    assert exported["Content-Type"].startswith("application/yaml")
    document = yaml.safe_load(exported.content)
    document["rules"].reverse()  # edit the file: swap the order, change a name
    document["rules"][1]["name"] = "VIP customers first"
    answer = put(admin_api, yaml.safe_dump(document, allow_unicode=True), "application/yaml")
    assert answer.status_code == 200, answer.content
    assert [r["name"] for r in answer.json()["rules"]] == ["Close the silent", "VIP customers first"]
    assert {r["id"] for r in answer.json()["rules"]} == {r["id"] for r in listed}  # ids (and logs) kept


def test_replacing_with_one_bad_rule_changes_nothing(admin_api: Api) -> None:
    admin_api.post("/automation/rules", VIP)
    bad = {**SILENT, "trigger_hours": None}
    answer = put(
        admin_api,
        json.dumps({"rules": [VIP, bad]}),
        "application/json",
    )
    assert answer.status_code == 422
    assert answer.json()["errors"] == ["#2: Give the hours as a whole number from 1 to 8760."]
    assert list(Rule.objects.values_list("name", flat=True)) == ["VIP first"]


def test_rules_left_out_of_the_document_are_deleted(admin_api: Api) -> None:
    admin_api.post("/automation/rules", VIP)
    answer = put(admin_api, yaml.safe_dump({"rules": [SILENT]}), "text/yaml")
    assert answer.status_code == 200
    assert list(Rule.objects.values_list("name", flat=True)) == ["Close the silent"]


@pytest.mark.parametrize(
    ("body", "content_type", "code"),
    [
        ("rules: [ {name: x", "application/yaml", "malformed_body"),
        ("{not json", "application/json", "malformed_body"),
        ('{"rules": "all of them"}', "application/json", "malformed_body"),
        ("- just\n- a list\n", "application/yaml", "malformed_body"),
    ],
)
def test_unreadable_documents_are_refused(admin_api: Api, body: str, content_type: str, code: str) -> None:
    answer = put(admin_api, body, content_type)
    assert answer.status_code == 400 and answer.json()["code"] == code


def test_change_and_delete_one_rule(admin_api: Api) -> None:
    rule_id = admin_api.post("/automation/rules", VIP).json()["id"]
    changed = admin_api.client.put(
        f"/api/v1/automation/rules/{rule_id}",
        {**VIP, "enabled": False},
        content_type="application/json",
        **admin_api._headers(),
    )
    assert changed.status_code == 200 and changed.json()["enabled"] is False
    bad = admin_api.client.put(
        f"/api/v1/automation/rules/{rule_id}",
        {**VIP, "actions": [{"action": "fly"}]},
        content_type="application/json",
        **admin_api._headers(),
    )
    assert bad.status_code == 422 and "unknown action “fly”" in bad.json()["detail"]
    assert admin_api.delete(f"/automation/rules/{rule_id}").status_code == 204
    assert admin_api.get(f"/automation/rules/{rule_id}").status_code == 404


def test_dry_run_and_the_log(admin_api: Api, receive: Any) -> None:
    from tiski.customers.models import Customer

    Customer.objects.create(name="Vera", tier="vip").identities.create(kind="email", value="vera@example.com")
    before = receive(email="vera@example.com").case
    receive(email="someone@example.com")
    dry = admin_api.post("/automation/rules/dry-run", VIP)
    assert dry.status_code == 200
    assert dry.json() == {"checked": 2, "matched_count": 1, "matched": [before.reference], "ignored_fields": []}

    admin_api.post("/automation/rules", VIP)
    after = receive(email="vera@example.com", subject="Again", body="new case?").case
    assert Case.objects.get(pk=after.pk).priority == 3
    log = admin_api.get("/automation/runs", {"case": after.reference}).json()
    assert [(r["rule"], r["outcome"], r["done"]) for r in log] == [
        ("VIP first", "done", ["Set priority: High", "Add tags: vip"])
    ]
    assert after.pk != before.pk and RuleRun.objects.count() == 1  # the dry run logged nothing


def test_only_administrators_manage_rules(api: Api, lead_api: Api, anonymous: Api) -> None:
    for client in (api, lead_api):
        assert client.get("/automation/rules").status_code == 403
        assert client.post("/automation/rules", VIP).status_code == 403
        assert client.post("/automation/rules/dry-run", VIP).status_code == 403
        assert client.get("/automation/runs").status_code == 403
    assert anonymous.get("/automation/rules").status_code == 401
    assert not Rule.objects.exists()


def test_the_rule_endpoints_are_in_the_openapi_document(admin_api: Api) -> None:
    schema = Client().get("/api/v1/openapi.json").json()
    assert "/api/v1/automation/rules" in schema["paths"]
    assert "application/yaml" in schema["paths"]["/api/v1/automation/rules"]["put"]["requestBody"]["content"]
