"""API: marketing suppression, GDPR export and erasure, follows and notifications — per role."""

from __future__ import annotations

import json

import pytest

from tests.api.conftest import Api
from tiski.cases.models import Case
from tiski.cases.services import case_update
from tiski.customers.marketing import marketing_refresh
from tiski.customers.models import Customer, CustomerEvent, Identity, Organization
from tiski.notifications.models import Follow, Notification
from tiski.notifications.services import follow


@pytest.fixture
def customer(db):  # type: ignore[no-untyped-def]
    customer = Customer.objects.create(name="Anssi Laaksonen")
    Identity.objects.create(customer=customer, kind="email", value="anssi@example.com")
    return customer


@pytest.fixture
def complaint(customer):  # type: ignore[no-untyped-def]
    case = Case.objects.create(customer=customer, subject="Torn sofa", type=Case.Type.COMPLAINT)
    marketing_refresh(customer_id=customer.pk)
    return case


# Marketing ---------------------------------------------------------------------------------------------------


def test_marketing_status_says_do_not_market_while_a_complaint_is_open(api: Api, customer, complaint):
    response = api.get(f"/customers/{customer.pk}/marketing")
    assert response.status_code == 200
    assert response.json() == {
        "customer_id": customer.pk,
        "do_not_market": True,
        "reason": "open_complaint",
        "cases": [complaint.reference],
    }
    Case.objects.filter(pk=complaint.pk).update(status=Case.Status.SOLVED)
    marketing_refresh(customer_id=customer.pk)
    assert api.get(f"/customers/{customer.pk}/marketing").json() == {
        "customer_id": customer.pk,
        "do_not_market": False,
        "reason": "no_open_complaint",
        "cases": [],
    }


def test_marketing_status_of_an_unknown_customer_is_404(api: Api):
    response = api.get("/customers/999999/marketing")
    assert response.status_code == 404
    assert response.json()["code"] == "customer_not_found"


def test_the_suppression_list_pages_the_suppressed_customers_with_identities(api: Api, customer, complaint):
    Customer.objects.create(name="Kaisa")  # may be marketed to
    second = Customer.objects.create(name="Pekka")
    Case.objects.create(customer=second, subject="Late", type=Case.Type.COMPLAINT)
    marketing_refresh(customer_id=second.pk)
    first_page = api.get("/marketing/suppressions", {"limit": 1}).json()
    assert first_page["count"] == 2
    [item] = first_page["items"]
    assert item["customer_id"] == customer.pk
    assert item["identities"] == [
        {"id": item["identities"][0]["id"], "kind": "email", "value": "anssi@example.com", "verified": False}
    ]
    assert first_page["next"].endswith("limit=1&offset=1")
    second_page = api.get("/marketing/suppressions", {"limit": 1, "offset": 1}).json()
    assert [i["customer_id"] for i in second_page["items"]] == [second.pk]
    assert second_page["next"] is None


@pytest.mark.parametrize("path", ["/customers/{id}/marketing", "/marketing/suppressions"])
def test_marketing_endpoints_need_a_token_and_the_customer_permission(path, nobody_api: Api, anonymous: Api, customer):
    url = path.format(id=customer.pk)
    assert anonymous.get(url).status_code == 401
    response = nobody_api.get(url)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize("role", ["api", "lead_api", "admin_api"])
def test_every_role_may_read_the_marketing_status(role, request, customer):
    assert request.getfixturevalue(role).get(f"/customers/{customer.pk}/marketing").status_code == 200


# GDPR export -------------------------------------------------------------------------------------------------


def test_an_administrator_downloads_the_export_as_a_json_file(admin_api: Api, administrator, customer, complaint):
    response = admin_api.get(f"/customers/{customer.pk}/export")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"] == f'attachment; filename="customer-{customer.pk}.json"'
    data = json.loads(response.content)
    assert data["customer"]["name"] == "Anssi Laaksonen"
    assert data["identities"][0]["value"] == "anssi@example.com"
    assert [c["reference"] for c in data["cases"]] == [complaint.reference]
    event = CustomerEvent.objects.get(customer=customer, kind=CustomerEvent.Kind.EXPORTED)
    assert event.actor == administrator


@pytest.mark.parametrize("role", ["api", "lead_api", "nobody_api"])
def test_agents_and_team_leads_cannot_export(role, request, customer):
    response = request.getfixturevalue(role).get(f"/customers/{customer.pk}/export")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not CustomerEvent.objects.filter(kind=CustomerEvent.Kind.EXPORTED).exists()


def test_export_without_a_token_is_401_and_of_an_unknown_customer_404(anonymous: Api, admin_api: Api, customer):
    assert anonymous.get(f"/customers/{customer.pk}/export").status_code == 401
    assert admin_api.get("/customers/999999/export").status_code == 404


# GDPR erasure ------------------------------------------------------------------------------------------------


def test_an_administrator_erases_a_customer_after_confirming_with_the_id(admin_api: Api, customer, complaint):
    wrong = admin_api.post(f"/customers/{customer.pk}/erase", {"confirm": "yes"})
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "confirmation_mismatch"
    assert str(customer.pk) in wrong.json()["detail"]
    customer.refresh_from_db()
    assert customer.erased_at is None

    response = admin_api.post(f"/customers/{customer.pk}/erase", {"confirm": str(customer.pk)})
    assert response.status_code == 200
    assert response.json()["customer_id"] == customer.pk
    customer.refresh_from_db()
    assert customer.erased_at is not None and customer.name == ""
    assert not Identity.objects.filter(customer=customer).exists()
    assert Case.objects.filter(customer=customer).count() == 1

    again = admin_api.post(f"/customers/{customer.pk}/erase", {"confirm": str(customer.pk)})
    assert again.status_code == 409
    assert again.json()["code"] == "customer_erased"


def test_erase_without_confirmation_is_a_validation_error(admin_api: Api, customer):
    response = admin_api.post(f"/customers/{customer.pk}/erase", {})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "confirm"


@pytest.mark.parametrize("role", ["api", "lead_api", "nobody_api"])
def test_agents_and_team_leads_cannot_erase(role, request, customer):
    response = request.getfixturevalue(role).post(f"/customers/{customer.pk}/erase", {"confirm": str(customer.pk)})
    assert response.status_code == 403
    customer.refresh_from_db()
    assert customer.erased_at is None and customer.name == "Anssi Laaksonen"


def test_erase_without_a_token_is_401_and_of_an_unknown_customer_404(anonymous: Api, admin_api: Api, customer):
    assert anonymous.post(f"/customers/{customer.pk}/erase", {"confirm": str(customer.pk)}).status_code == 401
    assert admin_api.post("/customers/999999/erase", {"confirm": "999999"}).status_code == 404


# Follows and notifications -----------------------------------------------------------------------------------


def test_an_agent_follows_lists_and_unfollows(api: Api, agent, customer, complaint):
    organization = Organization.objects.create(name="Konepaja Oy")
    created = api.post("/follows", {"customer_id": customer.pk})
    assert created.status_code == 200
    assert api.post("/follows", {"customer_id": customer.pk}).json()["id"] == created.json()["id"]
    assert api.post("/follows", {"organization_id": organization.pk}).status_code == 200
    assert api.post("/follows", {"case_id": complaint.pk}).status_code == 200
    listed = api.get("/follows").json()
    assert {(f["customer_id"], f["organization_id"], f["case_id"]) for f in listed} == {
        (customer.pk, None, None),
        (None, organization.pk, None),
        (None, None, complaint.pk),
    }
    assert api.post("/follows/remove", {"case_id": complaint.pk}).status_code == 204
    assert api.post("/follows/remove", {"case_id": complaint.pk}).json()["code"] == "not_following"
    assert Follow.objects.filter(user=agent).count() == 2


def test_following_needs_exactly_one_existing_target(api: Api, customer, complaint):
    both = api.post("/follows", {"customer_id": customer.pk, "case_id": complaint.pk})
    assert both.status_code == 422
    assert api.post("/follows", {}).status_code == 422
    missing = api.post("/follows", {"organization_id": 999999})
    assert missing.status_code == 404


def test_notifications_list_and_mark_read(api: Api, agent, other_agent, customer, complaint, run_tasks):
    follow(user=agent, case=complaint)
    case_update(case=complaint, actor=other_agent, status=Case.Status.PENDING)
    case_update(case=complaint, actor=other_agent, status=Case.Status.SOLVED)
    run_tasks()
    got = api.get("/notifications").json()
    assert got["unread"] == 2
    assert [n["text"] for n in got["items"]] == [
        f"Matti set {complaint.reference} to Solved",
        f"Matti set {complaint.reference} to Pending",
    ]
    first_id = got["items"][0]["id"]
    assert api.post("/notifications/read", {"ids": [first_id]}).json() == {"marked": 1}
    assert [n["id"] for n in api.get("/notifications", {"unread": "true"}).json()["items"]] == [got["items"][1]["id"]]
    assert api.post("/notifications/read", {"ids": None}).json() == {"marked": 1}
    assert api.get("/notifications").json()["unread"] == 0
    assert Notification.objects.filter(user=agent, read_at__isnull=True).count() == 0


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/follows", None),
        ("post", "/follows", {"customer_id": 1}),
        ("post", "/follows/remove", {"customer_id": 1}),
        ("get", "/notifications", None),
        ("post", "/notifications/read", {"ids": None}),
    ],
)
def test_follow_and_notification_endpoints_are_for_agents(method, path, body, nobody_api: Api, anonymous: Api):
    assert getattr(anonymous, method)(path, *([body] if body is not None else [])).status_code == 401
    response = getattr(nobody_api, method)(path, *([body] if body is not None else []))
    assert response.status_code == 403


@pytest.mark.parametrize("role", ["api", "lead_api", "admin_api"])
def test_every_role_may_follow(role, request, customer):
    assert request.getfixturevalue(role).post("/follows", {"customer_id": customer.pk}).status_code == 200
