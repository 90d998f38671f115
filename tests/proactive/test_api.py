"""POST /api/v1/external-events: an integration tells Tiski an event happened; bad input is refused with the
reason and makes nothing; only tokens with the permission may send events."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User

from tests.api.conftest import Api, token_for
from tiski.cases.models import Case
from tiski.proactive.models import ExternalEvent, ProactiveRule

pytestmark = pytest.mark.django_db


@pytest.fixture
def sender(db: None) -> User:
    """An integration's user with only the permission to send events."""
    user = User.objects.create_user(username="weather-service", password="x")
    user.user_permissions.add(Permission.objects.get(codename="send_external_event"))
    return user


@pytest.fixture
def sender_api(sender: User) -> Api:
    return Api(token_for(sender))


def test_an_event_makes_work_for_interested_customers_and_a_retry_makes_none(
    sender_api: Api, icy_rule: ProactiveRule, channels, make_customer
) -> None:
    make_customer("Pekka", interests="neliveto")
    make_customer("Mary", interests="four-wheel drive")
    make_customer("Other", interests="kayaks")
    body = {"name": "icy_evening", "occurrence": "2026-11-23", "data": {"temperature_c": -6, "area": "Tampere"}}

    answer = sender_api.post("/external-events", body)

    assert answer.status_code == 200, answer.content
    out = answer.json()
    assert {k: out[k] for k in ("name", "occurrence", "new", "status", "rules", "matched", "created")} == {
        "name": "icy_evening",
        "occurrence": "2026-11-23",
        "new": True,
        "status": "done",
        "rules": 1,
        "matched": 2,
        "created": 2,
    }
    assert Case.objects.count() == 2
    again = sender_api.post("/external-events", body)
    assert again.status_code == 200 and again.json()["new"] is False and again.json()["id"] == out["id"]
    assert Case.objects.count() == 2


def test_an_unknown_event_is_404_naming_the_known_ones(sender_api: Api, icy_rule: ProactiveRule) -> None:
    answer = sender_api.post("/external-events", {"name": "icy_evenin"})
    assert answer.status_code == 404
    assert answer.json()["code"] == "event_unknown"
    assert "icy_evenin" in answer.json()["detail"] and "Known events: icy_evening" in answer.json()["detail"]
    assert not ExternalEvent.objects.exists()


def test_an_event_whose_rules_are_disabled_is_known_and_makes_nothing(
    sender_api: Api, icy_rule: ProactiveRule, make_customer
) -> None:
    ProactiveRule.objects.filter(pk=icy_rule.pk).update(enabled=False)
    make_customer(interests="neliveto")
    answer = sender_api.post("/external-events", {"name": "icy_evening"})
    assert answer.status_code == 200
    assert (answer.json()["rules"], answer.json()["created"]) == (0, 0)
    assert not Case.objects.exists()


def test_many_customers_answer_202_and_are_reached_in_the_background(
    sender_api: Api, icy_rule: ProactiveRule, channels, make_customer, run_tasks, django_capture_on_commit_callbacks
) -> None:
    from tiski.proactive.services import EVENT_INLINE

    for n in range(EVENT_INLINE + 1):
        make_customer(f"Fan {n}", interests="Neliveto")
    with django_capture_on_commit_callbacks(execute=True):
        answer = sender_api.post("/external-events", {"name": "icy_evening"})
    assert answer.status_code == 202 and answer.json()["status"] == "queued"
    event_id = answer.json()["id"]
    assert sender_api.get(f"/external-events/{event_id}").json()["status"] == "queued"
    run_tasks()
    assert Case.objects.count() == EVENT_INLINE + 1
    polled = sender_api.get(f"/external-events/{event_id}")
    assert polled.status_code == 200
    assert (polled.json()["status"], polled.json()["created"]) == ("done", EVENT_INLINE + 1)
    assert sender_api.get("/external-events/999999").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "Icy Evening"}, "name"),
        ({"name": "icy_evening", "data": [1, 2]}, "data"),
        ({"name": "icy_evening", "data": "cold"}, "data"),
        ({"name": "icy_evening", "occurrence": "x" * 101}, "occurrence"),
        ({"name": "icy_evening", "colour": "blue"}, "colour"),
        ({"name": "x" * 101}, "name"),
    ],
)
def test_a_bad_body_is_422_naming_the_field(sender_api: Api, icy_rule: ProactiveRule, body: dict, field: str) -> None:
    answer = sender_api.post("/external-events", body)
    assert answer.status_code == 422, answer.content
    out = answer.json()
    assert out["code"] == "validation_error"
    assert field in [error["field"] for error in out["errors"]], out
    assert out["detail"].startswith("The request is invalid:")
    assert not ExternalEvent.objects.exists()


def test_malformed_json_is_refused(sender_api: Api, icy_rule: ProactiveRule) -> None:
    answer = sender_api.post("/external-events", raw=b'{"name": "icy_evening",')
    assert answer.status_code in (400, 422)
    assert answer.json()["detail"]
    assert not ExternalEvent.objects.exists()


def test_no_token_is_401_and_a_token_without_the_permission_is_403(
    anonymous: Api, api: Api, nobody_api: Api, icy_rule: ProactiveRule
) -> None:
    assert anonymous.post("/external-events", {"name": "icy_evening"}).status_code == 401
    assert anonymous.get("/external-events/1").status_code == 401
    for client in (api, nobody_api):  # an agent may work on cases but not send events
        answer = client.post("/external-events", {"name": "icy_evening"})
        assert answer.status_code == 403, answer.content
        assert answer.json()["detail"] == "Your account does not have permission to send external events."
        assert client.get("/external-events/1").status_code == 403
    assert not ExternalEvent.objects.exists()
