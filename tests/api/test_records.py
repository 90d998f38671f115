"""External records through the API: bulk upsert with per-row rejections, a customer's records, get, delete."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tiski.customers.models import Customer, ExternalRecord, Identity, Organization, SourceSystem


@pytest.fixture
def erp(db: None) -> SourceSystem:
    return SourceSystem.objects.create(
        slug="erp", name="ERP", url_template="https://erp.example.com/{kind}/{external_id}"
    )


@pytest.fixture
def anssi(db: None) -> Customer:
    customer = Customer.objects.create(name="Anssi Asiakas")
    Identity.objects.create(customer=customer, kind="email", value="anssi@example.com")
    return customer


def put(client: Any, records: list[dict[str, Any]], source: str = "erp") -> Any:
    return client.client.put(
        "/api/v1/records",
        json.dumps({"source": source, "records": records}),
        content_type="application/json",
        **client._headers(),
    )


def order(external_id: str = "SO-1", **fields: Any) -> dict[str, Any]:
    return {"kind": "order", "external_id": external_id, "customer_email": "anssi@example.com", **fields}


def test_administrator_upserts_records_and_gets_counts(admin_api, erp, anssi):
    response = put(admin_api, [order("SO-1", title="Tyres", amount="420.00", currency="eur"), order("SO-2")])
    assert response.status_code == 200, response.content
    assert response.json() == {"created": 2, "updated": 0, "unchanged": 0, "superseded": 0, "rejected": []}
    stored = ExternalRecord.objects.get(external_id="SO-1")
    assert (stored.customer, stored.title, stored.currency, str(stored.amount)) == (anssi, "Tyres", "EUR", "420.00")

    again = put(admin_api, [order("SO-1", title="Tyres", amount=420, currency="EUR"), order("SO-2", status="Shipped")])
    assert again.json() == {"created": 0, "updated": 1, "unchanged": 1, "superseded": 0, "rejected": []}
    assert ExternalRecord.objects.get(external_id="SO-2").status == "shipped"


def test_bad_rows_are_rejected_with_reasons_and_the_rest_stored(admin_api, erp, anssi):
    response = put(
        admin_api,
        [
            order("SO-1"),
            order("SO-2", customer_email="stranger@example.com"),
            {"kind": "spaceship", "external_id": "X-1", "customer_id": anssi.pk},
            order("SO-3", due_date="31.12.2025"),
            order(""),
        ],
    )
    assert response.status_code == 200
    body = response.json()
    assert body["created"] == 1
    assert [(r["row"], r["external_id"]) for r in body["rejected"]] == [(2, "SO-2"), (3, "X-1"), (4, "SO-3"), (5, "")]
    reasons = [r["reason"] for r in body["rejected"]]
    assert "no customer with the email address stranger@example.com" in reasons[0]
    assert "unknown kind 'spaceship'" in reasons[1]
    assert "due_date '31.12.2025' is not a date" in reasons[2]
    assert reasons[3] == "external_id is missing"
    assert list(ExternalRecord.objects.values_list("external_id", flat=True)) == ["SO-1"]


def test_schema_errors_answer_422_naming_the_field(admin_api, erp, anssi):
    response = put(admin_api, [order("SO-1", attributes=["not", "an", "object"]), order("SO-2", renewal="2025-01-01")])
    assert response.status_code == 422
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"records.0.attributes", "records.1.renewal"}
    assert not ExternalRecord.objects.exists()


def test_more_than_a_thousand_rows_answer_422(admin_api, erp, anssi):
    response = put(admin_api, [order(f"SO-{i}") for i in range(1001)])
    assert response.status_code == 422
    assert not ExternalRecord.objects.exists()


def test_a_thousand_rows_in_one_request(admin_api, erp, anssi, django_assert_max_num_queries):
    # Auth, three lookups, the inserts in batches (SQLite allows 999 parameters a statement): never one per row.
    with django_assert_max_num_queries(30):
        response = put(admin_api, [order(f"SO-{i}", amount=i) for i in range(1000)])
    assert response.json()["created"] == 1000
    assert ExternalRecord.objects.filter(customer=anssi).count() == 1000


def test_unknown_source_answers_400(admin_api, anssi):
    response = put(admin_api, [order()], source="crm")
    assert response.status_code == 400
    assert response.json()["code"] == "source_unknown"
    assert "No source system 'crm'" in response.json()["detail"]


def test_agent_and_team_lead_may_not_write_records(api, lead_api, erp, anssi):
    for client in (api, lead_api):
        response = put(client, [order()])
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
    assert not ExternalRecord.objects.exists()


def test_anonymous_gets_401(anonymous, erp, anssi):
    assert put(anonymous, [order()]).status_code == 401
    assert anonymous.get(f"/customers/{anssi.pk}/records").status_code == 401
    assert anonymous.get("/records/erp/SO-1").status_code == 401
    assert anonymous.delete("/records/erp/SO-1").status_code == 401


def test_user_without_a_role_may_not_read_records(nobody_api, erp, anssi):
    assert nobody_api.get(f"/customers/{anssi.pk}/records").status_code == 403
    assert nobody_api.get("/records/erp/SO-1").status_code == 403


def test_agent_lists_a_customers_records_with_the_organisations_and_links(api, erp, anssi):
    company = Organization.objects.create(name="Autotalo Oy", domain="autotalo.fi")
    anssi.organization = company
    anssi.save()
    ExternalRecord.objects.create(source="erp", external_id="SO 1/A", kind="order", customer=anssi, title="Tyres")
    ExternalRecord.objects.create(source="erp", external_id="C-9", kind="contract", organization=company)
    ExternalRecord.objects.create(source="erp", external_id="OTHER", kind="order", customer=Customer.objects.create())
    response = api.get(f"/customers/{anssi.pk}/records")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    by_id = {item["external_id"]: item for item in body["items"]}
    assert set(by_id) == {"SO 1/A", "C-9"}
    assert by_id["SO 1/A"]["link"] == "https://erp.example.com/order/SO%201%2FA"
    assert by_id["SO 1/A"]["customer"] == {"id": anssi.pk, "name": "Anssi Asiakas"}
    assert by_id["C-9"]["organization"] == {"id": company.pk, "name": "Autotalo Oy"}
    only_contracts = api.get(f"/customers/{anssi.pk}/records", {"kind": "contract"}).json()
    assert [item["external_id"] for item in only_contracts["items"]] == ["C-9"]


def test_listing_with_an_unknown_kind_answers_400(api, anssi):
    response = api.get(f"/customers/{anssi.pk}/records", {"kind": "orders"})
    assert response.status_code == 400
    assert response.json()["code"] == "kind_unknown"


def test_records_of_an_unknown_customer_answer_404(api):
    assert api.get("/customers/999/records").status_code == 404


def test_get_a_record_by_source_and_an_external_id_with_slashes(api, erp, anssi):
    ExternalRecord.objects.create(
        source="erp", external_id="INV/2025/7", kind="invoice", customer=anssi, amount="12.5", currency="EUR"
    )
    response = api.get("/records/erp/INV/2025/7")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["external_id"], body["amount"], body["link"]) == (
        "INV/2025/7",
        "12.50",
        "https://erp.example.com/invoice/INV%2F2025%2F7",
    )
    missing = api.get("/records/erp/INV-404")
    assert missing.status_code == 404
    assert missing.json()["code"] == "record_not_found"


def test_administrator_deletes_a_record_and_an_agent_may_not(api, admin_api, erp, anssi):
    ExternalRecord.objects.create(source="erp", external_id="SO-1", kind="order", customer=anssi)
    assert api.delete("/records/erp/SO-1").status_code == 403
    assert ExternalRecord.objects.exists()
    assert admin_api.delete("/records/erp/SO-1").status_code == 204
    assert not ExternalRecord.objects.exists()
    again = admin_api.delete("/records/erp/SO-1")
    assert again.status_code == 404
    assert again.json()["code"] == "record_not_found"


def test_api_token_user_with_the_record_permission_may_write(nobody, erp, anssi):
    from django.contrib.auth.models import Permission

    from tests.api.conftest import Api, token_for

    nobody.user_permissions.add(Permission.objects.get(codename="change_externalrecord"))
    response = put(Api(token_for(nobody)), [order()])
    assert response.status_code == 200
    assert response.json()["created"] == 1
