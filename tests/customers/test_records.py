"""External records: idempotent bulk upserts with per-row reasons, owners, links and the 360° summary."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User

from tiski.customers.exceptions import RecordNotFoundError, RecordPermissionError, RecordSourceUnknownError
from tiski.customers.models import Customer, ExternalRecord, Identity, Organization, SourceSystem
from tiski.customers.records import (
    RecordIn,
    UpsertResult,
    record_delete,
    record_link,
    record_upsert_many,
    records_for,
    records_summary,
    records_with_links,
)
from tiski.customers.selectors import CustomerPermissionError

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def erp() -> SourceSystem:
    return SourceSystem.objects.create(
        slug="erp", name="ERP", url_template="https://erp.example.com/{kind}/{external_id}"
    )


@pytest.fixture
def anssi() -> Customer:
    customer = Customer.objects.create(name="Anssi Asiakas")
    Identity.objects.create(customer=customer, kind="email", value="anssi@example.com")
    Identity.objects.create(customer=customer, kind="phone", value="+358401234567")
    return customer


@pytest.fixture
def company() -> Organization:
    return Organization.objects.create(name="Autotalo Oy", domain="autotalo.fi")


def upsert(*rows: RecordIn, source: str = "erp", actor: User | None = None) -> UpsertResult:
    return record_upsert_many(rows=rows, source=source, actor=actor)


def row(external_id: str = "SO-1", **fields: Any) -> RecordIn:
    fields.setdefault("kind", "order")
    if not {"customer_id", "customer_email", "customer_phone", "organization_id", "organization_domain"} & set(fields):
        fields["customer_email"] = "anssi@example.com"
    return RecordIn(external_id=external_id, **fields)


def reasons(result: UpsertResult) -> list[tuple[int, str, str]]:
    return [(r.row, r.external_id, r.reason) for r in result.rejected]


# --- creating and updating -------------------------------------------------------------------------------------


def test_upsert_creates_records_with_every_field(anssi):
    result = upsert(
        row(
            "SO-1",
            title=" Winter tyres ",
            status="In Collection",
            date="2025-01-31",
            due_date=date(2025, 2, 14),
            renewal_date="",
            amount="1234.5",
            currency="eur",
            attributes={"model": "Corolla", "score": 4},
        )
    )
    assert (result.created, result.updated, result.unchanged, result.rejected) == (1, 0, 0, [])
    record = ExternalRecord.objects.get()
    assert record.customer == anssi
    assert record.organization is None
    assert (record.kind, record.source, record.external_id, record.title) == ("order", "erp", "SO-1", "Winter tyres")
    assert record.status == "in_collection"
    assert (record.date, record.due_date, record.renewal_date) == (date(2025, 1, 31), date(2025, 2, 14), None)
    assert (record.amount, record.currency) == (Decimal("1234.50"), "EUR")
    assert record.attributes == {"model": "Corolla", "score": 4}


def test_upsert_updates_changed_records_and_leaves_unchanged_ones_untouched(anssi):
    upsert(row("SO-1", title="Tyres"), row("SO-2", title="Rims"))
    before = {r.external_id: r.updated_at for r in ExternalRecord.objects.all()}
    result = upsert(row("SO-1", title="Tyres"), row("SO-2", title="Alloy rims"), row("SO-3"))
    assert (result.created, result.updated, result.unchanged) == (1, 1, 1)
    after = {r.external_id: r for r in ExternalRecord.objects.all()}
    assert after["SO-1"].updated_at == before["SO-1"]
    assert after["SO-2"].updated_at > before["SO-2"]
    assert after["SO-2"].title == "Alloy rims"
    assert ExternalRecord.objects.count() == 3


def test_the_same_import_twice_changes_nothing(anssi, company):
    rows = [
        row("SO-1", amount="10", date="2025-01-01", attributes={"a": "1"}),
        row("INV-1", kind="invoice", organization_domain="AUTOTALO.FI", amount=Decimal("99.90"), currency="EUR"),
        row("C-1", kind="contract", customer_phone="040 123 4567", renewal_date="2026-01-01"),
    ]
    assert upsert(*rows).created == 3
    before = list(ExternalRecord.objects.order_by("pk").values())
    again = upsert(*rows)
    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 3, [])
    assert list(ExternalRecord.objects.order_by("pk").values()) == before


def test_an_update_replaces_every_field_the_source_sent(anssi):
    upsert(row("SO-1", title="Tyres", status="open", attributes={"a": 1, "b": 2}, amount="5"))
    upsert(row("SO-1", status="delivered", attributes={"a": 1}))
    record = ExternalRecord.objects.get()
    assert (record.title, record.status, record.attributes, record.amount) == ("", "delivered", {"a": 1}, None)


def test_an_update_may_move_the_record_to_another_owner(anssi, company):
    upsert(row("SO-1"))
    result = upsert(row("SO-1", organization_id=str(company.pk)))
    assert result.updated == 1
    record = ExternalRecord.objects.get()
    assert (record.customer, record.organization) == (None, company)


def test_same_external_id_twice_in_a_batch_the_last_wins(anssi):
    result = upsert(row("SO-1", title="first"), row("SO-2"), row("SO-1", title="second"))
    assert (result.created, result.superseded) == (2, 1)
    assert ExternalRecord.objects.get(external_id="SO-1").title == "second"


def test_a_rejected_duplicate_does_not_replace_the_valid_row(anssi):
    result = upsert(row("SO-1", title="good"), row("SO-1", title="bad", date="yesterday"))
    assert result.created == 1
    assert reasons(result) == [(2, "SO-1", "date 'yesterday' is not a date (YYYY-MM-DD)")]
    assert ExternalRecord.objects.get().title == "good"


def test_external_ids_are_per_source(anssi):
    SourceSystem.objects.create(slug="billing", name="Billing")
    upsert(row("1"))
    upsert(row("1", kind="invoice"), source="billing")
    assert sorted(ExternalRecord.objects.values_list("source", "kind")) == [("billing", "invoice"), ("erp", "order")]


# --- owners ----------------------------------------------------------------------------------------------------


def test_owner_by_customer_id_email_or_phone_in_any_common_form(anssi):
    result = upsert(
        row("A", customer_id=anssi.pk),
        row("B", customer_id=str(anssi.pk)),
        row("C", customer_email=" ANSSI@Example.com "),
        row("D", customer_phone="+358 40 123 4567"),
        row("E", customer_phone="0401234567"),
    )
    assert result.created == 5, reasons(result)
    assert set(ExternalRecord.objects.values_list("customer_id", flat=True)) == {anssi.pk}


def test_phone_stored_as_sms_or_whatsapp_finds_the_customer_and_phone_kind_wins():
    texter, caller = Customer.objects.create(name="Texter"), Customer.objects.create(name="Caller")
    Identity.objects.create(customer=texter, kind="sms", value="+358501111111")
    Identity.objects.create(customer=texter, kind="whatsapp", value="+358502222222")
    Identity.objects.create(customer=caller, kind="phone", value="+358502222222")
    result = upsert(row("A", customer_phone="050 111 1111"), row("B", customer_phone="050 222 2222"))
    assert result.created == 2, reasons(result)
    owners = dict(ExternalRecord.objects.values_list("external_id", "customer__name"))
    assert owners == {"A": "Texter", "B": "Caller"}


def test_owner_by_organisation_id_or_domain(company):
    result = upsert(
        row("A", organization_id=company.pk),
        row("B", organization_domain="@Autotalo.fi"),
    )
    assert result.created == 2, reasons(result)
    assert set(ExternalRecord.objects.values_list("customer_id", "organization_id")) == {(None, company.pk)}


def test_customer_and_organisation_together(anssi, company):
    upsert(row("A", customer_email="anssi@example.com", organization_domain="autotalo.fi"))
    record = ExternalRecord.objects.get()
    assert (record.customer, record.organization) == (anssi, company)


def test_unknown_owners_are_rejected_never_created(anssi, company):
    result = upsert(
        row("A", customer_email="stranger@example.com"),
        row("B", customer_phone="+358 50 999 9999"),
        row("C", customer_id=999_999),
        row("D", organization_domain="nowhere.fi"),
        row("E", organization_id=999_999),
        row("F", customer_email="stranger@example.com", organization_domain="autotalo.fi"),
    )
    assert result.created == 0
    assert reasons(result) == [
        (1, "A", "no customer with the email address stranger@example.com"),
        (2, "B", "no customer with the phone number +358509999999"),
        (3, "C", "no customer with id 999999"),
        (4, "D", "no organisation with the domain nowhere.fi"),
        (5, "E", "no organisation with id 999999"),
        (6, "F", "no customer with the email address stranger@example.com"),
    ]
    assert Customer.objects.count() == 1
    assert Organization.objects.count() == 1


def test_erased_customer_gets_no_records(anssi):
    Customer.objects.filter(pk=anssi.pk).update(erased_at="2025-01-01T00:00:00Z")
    result = upsert(row("A", customer_id=anssi.pk), row("B"))
    assert [reason for _row, _id, reason in reasons(result)] == [f"customer {anssi.pk} has been erased"] * 2


def test_ambiguous_or_missing_or_double_owner_is_rejected(anssi, company):
    Organization.objects.create(name="Autotalo Helsinki", domain="AUTOTALO.fi")
    result = upsert(
        row("A", organization_domain="autotalo.fi"),
        RecordIn(kind="order", external_id="B"),
        row("C", customer_id=anssi.pk, customer_email="anssi@example.com"),
        row("D", organization_id=company.pk, organization_domain="autotalo.fi"),
        row("E", customer_email="not an address"),
    )
    found = reasons(result)
    assert found[0] == (1, "A", "2 organisations have the domain autotalo.fi; name one by organization_id")
    assert found[1][2].startswith("no owner: give customer_id")
    assert found[2][2].startswith("name the customer one way only")
    assert found[3][2].startswith("name the organisation one way only")
    assert found[4][2].startswith("customer_email: 'not an address' is not a valid email address")


# --- validation ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"kind": "customer"}, "customers are not external records"),
        ({"kind": "spaceship"}, "unknown kind 'spaceship'; use one of order, invoice, offer"),
        ({"external_id": ""}, "external_id is missing"),
        ({"external_id": "   "}, "external_id is missing"),
        ({"external_id": "x" * 201}, "external_id is longer than 200 characters"),
        ({"title": "x" * 301}, "title is longer than 300 characters"),
        ({"status": "s" * 51}, "status is longer than 50 characters"),
        ({"date": "31.1.2025"}, "date '31.1.2025' is not a date (YYYY-MM-DD)"),
        ({"due_date": "2025-02-30"}, "due_date '2025-02-30' is not a date"),
        ({"renewal_date": 20250101}, "renewal_date 20250101 is not a date"),
        ({"amount": "12,50"}, "amount '12,50' is not a number (write 1234.50)"),
        ({"amount": "1.005"}, "amount '1.005' has more than two decimals"),
        ({"amount": "1e12"}, "amount '1e12' is too large"),
        ({"amount": "NaN"}, "amount 'NaN' is not a number"),
        ({"amount": True}, "amount must be a number"),
        ({"currency": "euro"}, "currency 'euro' is not a three-letter code such as EUR"),
        ({"attributes": ["a"]}, "attributes must be a JSON object"),
        ({"attributes": {"note": "a\x00b"}}, "attributes contain a NUL character"),
        ({"title": "a\x00b"}, "title contains a NUL character"),
        ({"title": ["a"]}, "title must be text"),
        ({"customer_id": "12a"}, "customer_id '12a' is not an id"),
    ],
)
def test_bad_rows_are_rejected_with_the_reason(anssi, fields, reason):
    external_id = fields.pop("external_id", "SO-1")
    result = upsert(row("GOOD"), row(external_id, **fields))
    assert result.created == 1
    [(number, _external_id, found)] = reasons(result)
    assert number == 2
    assert found.startswith(reason), found
    assert list(ExternalRecord.objects.values_list("external_id", flat=True)) == ["GOOD"]


def test_dates_may_be_iso_datetimes_and_amounts_numbers(anssi):
    result = upsert(row("SO-1", date="2025-01-31T23:30:00+00:00", due_date="2025-02-01 08:00", amount=12.1))
    assert result.created == 1, reasons(result)
    record = ExternalRecord.objects.get()
    assert record.date == date(2025, 2, 1)  # in Helsinki, half past one in the morning
    assert record.due_date == date(2025, 2, 1)
    assert record.amount == Decimal("12.10")


def test_rejection_reports_the_row_number_given_by_the_caller(anssi):
    result = upsert(row("SO-1", row=17, kind="nope"))
    assert reasons(result)[0][:2] == (17, "SO-1")


# --- source and permission -------------------------------------------------------------------------------------


def test_unknown_or_malformed_source_is_refused_whole(anssi):
    with pytest.raises(RecordSourceUnknownError, match="No source system 'crm'"):
        upsert(row(), source="crm")
    with pytest.raises(RecordSourceUnknownError, match="not a valid id"):
        upsert(row(), source="e r p")
    assert not ExternalRecord.objects.exists()


def test_only_users_with_the_record_permission_may_upsert(anssi, agent, team_lead, administrator):
    for user in (agent, team_lead):
        with pytest.raises(RecordPermissionError):
            upsert(row(), actor=user)
    assert upsert(row(), actor=administrator).created == 1


def test_nine_hundred_rows_take_a_handful_of_queries(anssi, company, django_assert_max_num_queries):
    rows = [row(f"SO-{i}", customer_email="anssi@example.com") for i in range(300)]
    rows += [row(f"INV-{i}", kind="invoice", organization_domain="autotalo.fi") for i in range(300)]
    rows += [row(f"C-{i}", kind="contract", customer_id=anssi.pk) for i in range(300)]
    # Source, customer ids, identities, organisations, existing rows, then the inserts in batches (SQLite allows
    # 999 parameters a statement: 15 batches; PostgreSQL: 2), and the owners' signals before and after (to
    # tell the automation rules whose signals changed: rules, members, one statement each time).
    with django_assert_max_num_queries(32):
        assert upsert(*rows).created == 900
    with django_assert_max_num_queries(7):
        assert upsert(*rows).unchanged == 900


# --- delete ----------------------------------------------------------------------------------------------------


def test_delete_a_record(anssi, administrator, agent):
    upsert(row("SO-1"))
    with pytest.raises(RecordPermissionError):
        record_delete(source="erp", external_id="SO-1", actor=agent)
    record_delete(source="erp", external_id="SO-1", actor=administrator)
    assert not ExternalRecord.objects.exists()
    with pytest.raises(RecordNotFoundError):
        record_delete(source="erp", external_id="SO-1", actor=administrator)


# --- reads -----------------------------------------------------------------------------------------------------


def test_records_for_a_customer_include_their_organisations_newest_first(anssi, company, agent):
    anssi.organization = company
    anssi.save()
    other = Customer.objects.create(name="Other")
    today = date(2025, 3, 1)
    ExternalRecord.objects.create(source="erp", external_id="old", kind="order", customer=anssi, date=today)
    ExternalRecord.objects.create(
        source="erp", external_id="new", kind="invoice", organization=company, date=today + timedelta(days=1)
    )
    ExternalRecord.objects.create(source="erp", external_id="undated", kind="order", customer=anssi)
    ExternalRecord.objects.create(source="erp", external_id="someone else's", kind="order", customer=other)
    records = records_for(user=agent, customer=anssi)
    assert [r.external_id for r in records] == ["new", "old", "undated"]
    assert records[0].link == "https://erp.example.com/invoice/new"  # type: ignore[attr-defined]
    assert [r.external_id for r in records_for(user=agent, customer=anssi, kind="order")] == ["old", "undated"]
    assert [r.external_id for r in records_for(user=agent, customer=anssi, limit=1)] == ["new"]


def test_records_for_needs_permission_to_see_customers(anssi):
    nobody = User.objects.create_user(username="nobody")
    with pytest.raises(CustomerPermissionError):
        records_for(user=nobody, customer=anssi)


@pytest.mark.parametrize(
    ("template", "external_id", "link"),
    [
        (
            "https://erp.example.com/{kind}/{external_id}",
            "SO 1/A?b=c#d",
            "https://erp.example.com/order/SO%201%2FA%3Fb%3Dc%23d",
        ),
        ("https://x.example/r?id={external_id}&src={source}", "ä1", "https://x.example/r?id=%C3%A41&src=erp"),
        ("https://x.example/{unknown}/{external_id}", "1", "https://x.example/{unknown}/1"),
        ("", "1", None),
        ("javascript:alert({external_id})", "1", None),
        ("{external_id}", "https://evil.example", None),
    ],
)
def test_link_template_fills_in_the_record_url_quoted(erp, anssi, template, external_id, link):
    erp.url_template = template
    erp.save()
    record = ExternalRecord.objects.create(source="erp", external_id=external_id, kind="order", customer=anssi)
    assert record_link(record) == link
    assert records_with_links([record])[0].link == link  # type: ignore[attr-defined]


def test_record_of_a_source_without_a_system_has_no_link(anssi):
    record = ExternalRecord.objects.create(source="gone", external_id="1", kind="order", customer=anssi)
    assert record_link(record) is None


def test_records_with_links_loads_templates_once(anssi, django_assert_num_queries):
    SourceSystem.objects.create(slug="crm", name="CRM", url_template="https://crm.example/{external_id}")
    records = [
        ExternalRecord.objects.create(source=source, external_id=str(i), kind="order", customer=anssi)
        for i, source in enumerate(["erp", "crm", "erp", "crm"])
    ]
    with django_assert_num_queries(1):
        linked = records_with_links(records)
    assert [r.link for r in linked] == [  # type: ignore[attr-defined]
        "https://erp.example.com/order/0",
        "https://crm.example/1",
        "https://erp.example.com/order/2",
        "https://crm.example/3",
    ]


def test_records_summary_counts_per_kind_with_the_latest_few(anssi, company, agent, django_assert_num_queries):
    anssi.organization = company
    anssi.save()
    start = date(2025, 1, 1)
    for i in range(5):
        ExternalRecord.objects.create(
            source="erp", external_id=f"SO-{i}", kind="order", customer=anssi, date=start + timedelta(days=i)
        )
    ExternalRecord.objects.create(source="erp", external_id="C-1", kind="contract", organization=company)
    ExternalRecord.objects.create(source="erp", external_id="INV-1", kind="invoice", customer=anssi, date=start)
    agent.has_perm("customers.view_customer")  # the permission cache, filled once a request
    with django_assert_num_queries(3):
        summary = records_summary(customer=anssi, latest=3, user=agent)
    assert [(s.kind, s.label, s.count) for s in summary] == [
        ("order", "Order", 5),
        ("invoice", "Invoice", 1),
        ("contract", "Contract", 1),
    ]
    assert [r.external_id for r in summary[0].latest] == ["SO-4", "SO-3", "SO-2"]
    assert summary[0].latest[0].link == "https://erp.example.com/order/SO-4"  # type: ignore[attr-defined]


def test_records_summary_of_a_customer_without_records_is_empty(anssi, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert records_summary(customer=anssi) == []
