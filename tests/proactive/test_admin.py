"""The proactive admin: an administrator writes rules (checked before they are saved) and reads hits and events."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.conftest import PASSWORD
from tiski.proactive.models import ExternalEvent, ProactiveRule
from tiski.proactive.services import external_event_receive, proactive_rules_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(administrator: User) -> Client:
    client = Client()
    assert client.login(username=administrator.username, password=PASSWORD)
    return client


def _rule_form(**fields: str) -> dict[str, str]:
    form = {
        "name": "Winter tyres worn out",
        "enabled": "on",
        "trigger": "threshold",
        "record_kind": "asset",
        "record_statuses": "stored",
        "date_field": "",
        "days_ahead": "30",
        "attribute": "tyre_tread_mm",
        "comparison": "lt",
        "threshold": "4",
        "event_name": "",
        "interests": "",
        "work_kind": "call",
        "queue": "",
        "priority": "2",
        "subject_template": "Winter tyres worn out: {customer}",
        "reason": "Offer new tyres before the season.",
    }
    form.update(fields)
    return form


def test_an_administrator_writes_a_rule_in_the_admin(admin_client_: Client) -> None:
    assert admin_client_.get("/admin/proactive/proactiverule/add/").status_code == 200
    answer = admin_client_.post("/admin/proactive/proactiverule/add/", _rule_form())
    assert answer.status_code == 302, answer.content.decode()[:2000]
    rule = ProactiveRule.objects.get()
    assert (rule.attribute, rule.comparison, rule.threshold, rule.queue) == ("tyre_tread_mm", "lt", 4.0, None)


def test_a_rule_with_a_bad_attribute_key_is_refused_with_the_reason(admin_client_: Client) -> None:
    answer = admin_client_.post(
        "/admin/proactive/proactiverule/add/", _rule_form(attribute="tread depth", subject_template="{oops}")
    )
    assert answer.status_code == 200
    page = answer.content.decode()
    assert "Give the attribute&#x27;s key" in page and "The subject may use only" in page
    assert not ProactiveRule.objects.exists()


def test_hits_and_events_are_listed(
    admin_client_: Client, tyre_rule, icy_rule, channels, make_customer, make_record
) -> None:
    make_record(make_customer("Liisa"), attributes={"tyre_tread_mm": 1})
    make_customer("Pekka", interests="neliveto")
    proactive_rules_run()
    external_event_receive(name="icy_evening", occurrence="2026-11-23")
    hits = admin_client_.get("/admin/proactive/proactivehit/")
    assert hits.status_code == 200 and "Liisa" in hits.content.decode() and "Pekka" in hits.content.decode()
    events = admin_client_.get("/admin/proactive/externalevent/")
    assert events.status_code == 200 and "2026-11-23" in events.content.decode()
    event = ExternalEvent.objects.get()
    assert admin_client_.get(f"/admin/proactive/externalevent/{event.pk}/change/").status_code == 200
