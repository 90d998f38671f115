"""Customers through the API: list with filters and paging, get, create, update with identities."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from tiski.customers.models import Customer, Identity


def test_create_customer_normalises_identities(api):
    response = api.post(
        "/customers",
        {
            "name": "Anssi Asiakas",
            "language": "fi",
            "tier": "gold",
            "notes": "Prefers phone",
            "identities": [
                {"kind": "email", "value": " Anssi@Example.COM "},
                {"kind": "phone", "value": "040 123 4567"},
            ],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "Anssi Asiakas"
    assert body["tier"] == "gold"
    assert body["language"] == "fi"
    assert sorted((i["kind"], i["value"]) for i in body["identities"]) == [
        ("email", "anssi@example.com"),
        ("phone", "+358401234567"),
    ]
    assert Customer.objects.get(pk=body["id"]).identities.count() == 2


def test_create_customer_with_an_identity_of_another_customer_answers_409_with_the_owner(api, receive):
    owner = receive(email="anssi@example.com").case.customer
    response = api.post(
        "/customers", {"name": "Someone", "identities": [{"kind": "email", "value": "ANSSI@example.com"}]}
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "identity_taken"
    assert body["customer_id"] == owner.pk
    assert "anssi@example.com" in body["detail"]
    assert Customer.objects.count() == 1  # nothing half-created


def test_create_customer_with_a_malformed_email_answers_400(api):
    response = api.post("/customers", {"name": "X", "identities": [{"kind": "email", "value": "not an address"}]})
    assert response.status_code == 400
    assert response.json() == {"detail": "'not an address' is not a valid email address", "code": "identity_invalid"}


def test_create_customer_with_unknown_tier_or_kind_answers_422_naming_the_field(api):
    response = api.post("/customers", {"tier": "platinum", "identities": [{"kind": "fax", "value": "1"}]})
    assert response.status_code == 422
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"tier", "identities.0.kind"}


def test_get_customer_with_identities(api, receive):
    customer = receive(email="anssi@example.com").case.customer
    response = api.get(f"/customers/{customer.pk}")
    assert response.status_code == 200
    assert response.json()["identities"] == [
        {"id": customer.identities.get().pk, "kind": "email", "value": "anssi@example.com", "verified": False}
    ]


def test_get_unknown_customer_answers_404(api):
    response = api.get("/customers/999")
    assert response.status_code == 404
    assert response.json() == {"detail": "No customer 999.", "code": "customer_not_found"}


def test_list_filters_by_name_or_identity(api, receive):
    receive(email="anssi@example.com", name="Anssi Asiakas")
    receive(email="liisa@example.com", name="Liisa Laine")
    assert [c["name"] for c in api.get("/customers").json()["items"]] == ["Anssi Asiakas", "Liisa Laine"]
    assert [c["name"] for c in api.get("/customers", {"q": "liisa"}).json()["items"]] == ["Liisa Laine"]
    assert [c["name"] for c in api.get("/customers", {"q": "ANSSI@example.com"}).json()["items"]] == ["Anssi Asiakas"]


def test_list_filters_by_updated_since(api, receive):
    old = receive(email="old@example.com", name="Old").case.customer
    receive(email="new@example.com", name="New")
    Customer.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=3))
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert [c["name"] for c in api.get("/customers", {"updated_since": since}).json()["items"]] == ["New"]
    naive = (timezone.now() - timedelta(days=1)).replace(tzinfo=None).isoformat()
    assert api.get("/customers", {"updated_since": naive}).json()["count"] == 1


def test_update_changes_only_the_fields_given(api, receive):
    customer = receive(email="anssi@example.com", name="Anssi").case.customer
    response = api.patch(f"/customers/{customer.pk}", {"tier": "vip", "notes": "Long-time customer"})
    assert response.status_code == 200
    customer.refresh_from_db()
    assert (customer.name, customer.tier, customer.notes) == ("Anssi", "vip", "Long-time customer")


def test_update_refuses_null_for_a_text_field(api, receive):
    customer = receive().case.customer
    response = api.patch(f"/customers/{customer.pk}", {"name": None})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "name"


def test_update_adds_and_removes_identities(api, receive):
    customer = receive(email="anssi@example.com").case.customer
    response = api.patch(
        f"/customers/{customer.pk}",
        {
            "add_identities": [{"kind": "whatsapp", "value": "+358 40 123 4567"}],
            "remove_identities": [{"kind": "email", "value": "Anssi@example.com"}],
        },
    )
    assert response.status_code == 200
    assert [(i["kind"], i["value"]) for i in response.json()["identities"]] == [("phone", "+358401234567")]


def test_update_adding_an_identity_of_another_customer_answers_409_and_changes_nothing(api, receive):
    customer = receive(email="anssi@example.com").case.customer
    other = receive(email="liisa@example.com").case.customer
    response = api.patch(
        f"/customers/{customer.pk}",
        {"name": "Changed", "add_identities": [{"kind": "email", "value": "liisa@example.com"}]},
    )
    assert response.status_code == 409
    assert response.json()["customer_id"] == other.pk
    customer.refresh_from_db()
    assert customer.name != "Changed"


def test_update_removing_an_identity_the_customer_lacks_answers_400(api, receive):
    customer = receive(email="anssi@example.com").case.customer
    response = api.patch(
        f"/customers/{customer.pk}", {"remove_identities": [{"kind": "email", "value": "x@example.com"}]}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "identity_invalid"
    assert Identity.objects.filter(customer=customer).count() == 1


def test_update_unknown_customer_answers_404(api):
    assert api.patch("/customers/999", {"name": "X"}).status_code == 404
