"""POST /api/v1/callback-requests: a company's own site or IVR asks for a callback; bad input is refused with
the reason and stores nothing; only agents may ask."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.api.conftest import Api
from tiski.cases.models import Case
from tiski.channels.voice.models import CallbackRequest
from tiski.customers.models import Customer
from tiski.routing.models import WorkItem

pytestmark = pytest.mark.django_db


@pytest.fixture
def liisa(db: None) -> Customer:
    return Customer.objects.create(name="Liisa Laine")


def test_a_callback_is_requested_and_asking_again_keeps_the_one_request(api: Api, liisa: Customer) -> None:
    answer = api.post(
        "/callback-requests",
        {"customer_id": liisa.pk, "number": "040 123 4567", "topic": "Lasku", "preferred_time": "iltapäivällä"},
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["number"], body["status"], body["new"], body["topic"]) == ("+358401234567", "queued", True, "Lasku")
    assert body["case"] == Case.objects.get().reference
    assert WorkItem.objects.get().channel_kind == "callback"

    again = api.post("/callback-requests", {"customer_id": liisa.pk, "number": "+358 40 123 4567"})
    assert again.status_code == 200 and again.json()["id"] == body["id"] and again.json()["new"] is False


def test_a_window_later_today_waits_and_an_existing_case_can_be_named(api: Api, liisa: Customer) -> None:
    case = Case.objects.create(customer=liisa, subject="Tilaus 1234")
    opens = timezone.now() + timedelta(hours=3)
    answer = api.post(
        "/callback-requests",
        {"customer_id": liisa.pk, "number": "+358401234567", "case": case.reference, "window_start": opens.isoformat()},
    )
    assert answer.status_code == 201
    assert (answer.json()["status"], answer.json()["case"]) == ("scheduled", case.reference)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"number": "soita minulle"}, 400, "callback_invalid"),
        ({"number": "+358401234567", "window_end": "2020-01-01T10:00:00+02:00"}, 400, "callback_invalid"),
        ({"number": "+358401234567", "customer_id": 999999}, 404, "customer_not_found"),
        ({"number": "+358401234567", "case": "TSK-999999"}, 404, "case_not_found"),
        ({}, 422, "validation_error"),
    ],
)
def test_bad_input_is_refused_with_the_reason(
    api: Api, liisa: Customer, body: dict, status: int, code: str | None
) -> None:
    answer = api.post("/callback-requests", {"customer_id": liisa.pk, **body})
    assert answer.status_code == status, answer.content
    if code:
        assert answer.json()["code"] == code
    assert CallbackRequest.objects.count() == 0


def test_another_customers_case_is_refused(api: Api, liisa: Customer) -> None:
    other = Case.objects.create(customer=Customer.objects.create(name="Anssi"), subject="x")
    answer = api.post(
        "/callback-requests", {"customer_id": liisa.pk, "number": "+358401234567", "case": other.reference}
    )
    assert answer.status_code == 400 and "is not a case of customer" in answer.json()["detail"]


def test_only_agents_may_ask(nobody_api: Api, anonymous: Api, liisa: Customer) -> None:
    body = {"customer_id": liisa.pk, "number": "+358401234567"}
    assert nobody_api.post("/callback-requests", body).status_code == 403
    assert anonymous.post("/callback-requests", body).status_code == 401
    assert CallbackRequest.objects.count() == 0
