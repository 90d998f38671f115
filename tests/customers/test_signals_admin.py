"""The admin for signal rules, source systems, records and master-data rules: validation, and its effect."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client

from tiski.customers.models import (
    Customer,
    CustomerEvent,
    ExternalRecord,
    FieldPrecedence,
    MatchSuggestion,
    SignalRule,
    SourceSystem,
)
from tiski.customers.signal_rules import signals_for_customer

pytestmark = pytest.mark.django_db

TODAY = date(2025, 3, 10)


@pytest.fixture
def admin_client(administrator: Any) -> Client:
    client = Client()
    client.force_login(administrator)
    return client


def rule_form(rule: SignalRule, **changes: Any) -> dict[str, Any]:
    data = {
        "label": rule.label,
        "label_fi": rule.label_fi,
        "level": rule.level,
        "subject": rule.subject,
        "record_kind": rule.record_kind,
        "conditions": rule.conditions,
        "enabled": "on" if rule.enabled else "",
        "position": rule.position,
    }
    if rule.latest_only:
        data["latest_only"] = "on"
    data.update(changes)
    if not isinstance(data["conditions"], str):
        data["conditions"] = json.dumps(data["conditions"])
    return {key: value for key, value in data.items() if value != ""}


def test_editing_a_rule_in_the_admin_changes_the_signals(admin_client):
    anssi = Customer.objects.create(name="Anssi")
    ExternalRecord.objects.create(
        source="erp", external_id="C-1", kind="contract", customer=anssi, renewal_date=TODAY + timedelta(days=90)
    )
    rule = SignalRule.objects.get(label="Contract renewal due")
    assert signals_for_customer(customer_id=anssi.pk, today=TODAY) == []

    response = admin_client.post(
        f"/admin/customers/signalrule/{rule.pk}/change/",
        rule_form(rule, level="red", conditions=[{"field": "renewal_date", "op": "within_days", "value": 120}]),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    [signal] = signals_for_customer(customer_id=anssi.pk, today=TODAY)
    assert (signal.label, signal.level, signal.detail) == (
        "Contract renewal due",
        "red",
        "Contract C-1: renewal in 90 days",
    )


def test_adding_a_rule_in_the_admin(admin_client):
    anssi = Customer.objects.create(name="Anssi", interests="Looking at four-wheel-drive cars")
    response = admin_client.post(
        "/admin/customers/signalrule/add/",
        {
            "label": "Wants 4WD",
            "level": "green",
            "subject": "customer",
            "conditions": '[{"field": "interests", "op": "contains", "value": "four-wheel"}]',
            "enabled": "on",
            "position": "5",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert [s.label for s in signals_for_customer(customer_id=anssi.pk, today=TODAY)] == ["Wants 4WD"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"conditions": [{"field": "renewal", "op": "within_days", "value": 60}]}, "unknown field &#x27;renewal&#x27;"),
        ({"conditions": [{"field": "renewal_date", "op": "soon", "value": 60}]}, "unknown operator &#x27;soon&#x27;"),
        ({"conditions": [{"field": "renewal_date", "op": "within_days", "value": "60"}]}, "number of days"),
        ({"conditions": "[{"}, "Enter a valid JSON"),
        ({"subject": "customer"}, "A record kind applies only to rules tested on records"),
        ({"record_kind": "", "subject": "open_case", "latest_only": "on"}, "only for rules tested on records"),
    ],
)
def test_admin_refuses_invalid_rules_saying_why(admin_client, changes, message):
    rule = SignalRule.objects.get(label="Contract renewal due")
    before = (rule.conditions, rule.subject)
    response = admin_client.post(f"/admin/customers/signalrule/{rule.pk}/change/", rule_form(rule, **changes))
    assert response.status_code == 200
    assert message in response.content.decode()
    rule.refresh_from_db()
    assert (rule.conditions, rule.subject) == before


def test_signal_rule_list_shows_the_conditions(admin_client):
    response = admin_client.get("/admin/customers/signalrule/")
    assert response.status_code == 200
    assert "in_collection" in response.content.decode()


def test_source_system_link_template_is_checked(admin_client):
    good = admin_client.post(
        "/admin/customers/sourcesystem/add/",
        {"slug": "erp", "name": "ERP", "url_template": "https://erp.example.com/{kind}/{external_id}"},
    )
    assert good.status_code == 302
    for template, message in [
        ("erp.example.com/{external_id}", "must start with https://"),
        ("https://erp.example.com/{id}", "Unknown placeholder {id}"),
    ]:
        response = admin_client.post(
            "/admin/customers/sourcesystem/add/", {"slug": "crm", "name": "CRM", "url_template": template}
        )
        assert response.status_code == 200
        assert message in response.content.decode()
    assert list(SourceSystem.objects.values_list("slug", flat=True)) == ["erp"]


def test_record_admin_normalises_and_requires_an_owner(admin_client):
    anssi = Customer.objects.create(name="Anssi")
    base = {"kind": "invoice", "source": "erp", "external_id": "INV-1", "attributes": "{}", "currency": "eur"}
    no_owner = admin_client.post("/admin/customers/externalrecord/add/", {**base, "status": "Paid"})
    assert no_owner.status_code == 200
    assert "A record belongs to a customer, an organisation or both." in no_owner.content.decode()
    bad_attributes = admin_client.post(
        "/admin/customers/externalrecord/add/", {**base, "customer": anssi.pk, "attributes": "[1]"}
    )
    assert "Attributes are a JSON object" in bad_attributes.content.decode()
    saved = admin_client.post(
        "/admin/customers/externalrecord/add/", {**base, "customer": anssi.pk, "status": "In Collection"}
    )
    assert saved.status_code == 302
    record = ExternalRecord.objects.get()
    assert (record.status, record.currency) == ("in_collection", "EUR")


def test_master_data_rule_sources_are_checked(admin_client):
    rule = FieldPrecedence.objects.get(field="address")
    bad = admin_client.post(
        f"/admin/customers/fieldprecedence/{rule.pk}/change/",
        {"field": "address", "sources": "import:erp\nthe ERP\nagent\nagent"},
    )
    assert bad.status_code == 200
    assert "Not a source: the ERP" in bad.content.decode()
    good = admin_client.post(
        f"/admin/customers/fieldprecedence/{rule.pk}/change/",
        {"field": "address", "sources": " import:erp \n\nagent\nchannel:*"},
    )
    assert good.status_code == 302
    rule.refresh_from_db()
    assert rule.source_list() == ["import:erp", "agent", "channel:*"]


def test_suggestions_and_customer_events_are_read_only(admin_client, administrator):
    anssi, other = Customer.objects.create(name="Anssi"), Customer.objects.create(name="Anssi A.")
    suggestion = MatchSuggestion.objects.create(customer=other, candidate=anssi, score=92)
    event = CustomerEvent.objects.create(customer=anssi, kind="merged", actor=administrator)
    for path, obj in (("matchsuggestion", suggestion), ("customerevent", event)):
        assert admin_client.get(f"/admin/customers/{path}/").status_code == 200
        assert admin_client.get(f"/admin/customers/{path}/add/").status_code == 403
        view = admin_client.get(f"/admin/customers/{path}/{obj.pk}/change/")
        assert view.status_code == 200
        assert 'name="_save"' not in view.content.decode()
        assert admin_client.post(f"/admin/customers/{path}/{obj.pk}/delete/", {"post": "yes"}).status_code == 403
    assert MatchSuggestion.objects.filter(pk=suggestion.pk).exists()
    assert CustomerEvent.objects.filter(pk=event.pk).exists()
