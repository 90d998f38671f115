"""Traffic-light signals: the default rules, every operator, the query budget and rule validation."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone, translation

from tiski.cases.models import Case
from tiski.customers.exceptions import SignalRuleInvalidError
from tiski.customers.models import Customer, ExternalRecord, Organization, SignalRule
from tiski.customers.signal_rules import Signal, signals_for, signals_for_customer, validate_conditions

pytestmark = pytest.mark.django_db

TODAY = date(2025, 3, 10)
_counter = iter(range(1, 1_000_000))


def customer(**fields: Any) -> Customer:
    fields.setdefault("name", "Anssi Asiakas")
    return Customer.objects.create(**fields)


def record(owner: Customer | Organization, kind: str = "order", **fields: Any) -> ExternalRecord:
    fields.setdefault("external_id", f"R-{next(_counter)}")
    fields.setdefault("source", "erp")
    if isinstance(owner, Organization):
        return ExternalRecord.objects.create(organization=owner, kind=kind, **fields)
    return ExternalRecord.objects.create(customer=owner, kind=kind, **fields)


def labels(customer: Customer, today: date = TODAY) -> list[str]:
    return [signal.label for signal in signals_for_customer(customer_id=customer.pk, today=today)]


def only_rule(**fields: Any) -> SignalRule:
    """Disable the default rules and return one new enabled rule."""
    SignalRule.objects.update(enabled=False)
    fields.setdefault("label", "Test")
    fields.setdefault("level", "amber")
    fields.setdefault("subject", "record")
    return SignalRule.objects.create(**fields)


def days(n: int) -> date:
    return TODAY + timedelta(days=n)


# --- the default rules -----------------------------------------------------------------------------------------


def test_default_rules_are_installed_in_order():
    assert list(SignalRule.objects.order_by("position").values_list("label", flat=True)) == [
        "Complaint open",
        "Order late",
        "Invoice in collection",
        "Unhappy last time",
        "Negative last survey",
        "Contract renewal due",
        "VIP",
    ]


def test_complaint_open_shows_red_with_the_case_until_it_is_solved():
    anssi = customer()
    complaint = Case.objects.create(subject="Broken zipper", customer=anssi, type="complaint", status="open")
    Case.objects.create(subject="Which size?", customer=anssi, type="question", status="open")
    [signal] = signals_for_customer(customer_id=anssi.pk, today=TODAY)
    assert signal == Signal(
        rule_id=SignalRule.objects.get(label="Complaint open").pk,
        label="Complaint open",
        level="red",
        detail=f"{complaint.reference} Broken zipper",
        case_id=complaint.pk,
    )
    complaint.status = "solved"
    complaint.save()
    assert labels(anssi) == []


def test_question_case_is_not_a_complaint():
    anssi = customer()
    Case.objects.create(subject="Which size?", customer=anssi, type="question", status="new")
    assert labels(anssi) == []


def test_order_late_when_due_date_passed_and_not_delivered():
    late, delivered, not_yet, undated = customer(), customer(), customer(), customer()
    record(late, "order", title="Winter tyres", due_date=days(-3), status="open")
    record(delivered, "order", due_date=days(-3), status="delivered")
    record(not_yet, "order", due_date=days(0), status="open")
    record(undated, "order", status="open")
    result = signals_for(customer_ids=[late.pk, delivered.pk, not_yet.pk, undated.pk], today=TODAY)
    assert [s.label for s in result[late.pk]] == ["Order late"]
    assert result[late.pk][0].level == "red"
    assert result[late.pk][0].detail == "Winter tyres: due 3 days ago"
    assert result[delivered.pk] == result[not_yet.pk] == result[undated.pk] == []


def test_order_late_ignores_other_record_kinds():
    anssi = customer()
    record(anssi, "offer", due_date=days(-3), status="open")
    assert labels(anssi) == []


def test_invoice_in_collection_of_the_customer_or_their_organisation():
    company = Organization.objects.create(name="Autotalo Oy", domain="autotalo.fi")
    employee, other, paid = customer(organization=company), customer(), customer()
    invoice = record(company, "invoice", external_id="INV-7", status="in_collection")
    record(paid, "invoice", status="paid")
    result = signals_for(customer_ids=[employee.pk, other.pk, paid.pk], today=TODAY)
    assert result[employee.pk] == [
        Signal(
            rule_id=SignalRule.objects.get(label="Invoice in collection").pk,
            label="Invoice in collection",
            level="red",
            detail="Invoice INV-7",
            record_id=invoice.pk,
        )
    ]
    assert result[other.pk] == result[paid.pk] == []


def test_unhappy_last_time_tests_only_the_latest_survey():
    unhappy, recovered, happy = customer(), customer(), customer()
    record(unhappy, "survey", date=days(-30), attributes={"score": 5})
    record(unhappy, "survey", date=days(-2), attributes={"score": 2})
    record(recovered, "survey", date=days(-30), attributes={"score": 1})
    record(recovered, "survey", date=days(-2), attributes={"score": 4})
    record(happy, "survey", date=days(-2), attributes={"score": 3})
    result = signals_for(customer_ids=[unhappy.pk, recovered.pk, happy.pk], today=TODAY)
    assert [(s.label, s.level) for s in result[unhappy.pk]] == [("Unhappy last time", "amber")]
    assert result[recovered.pk] == result[happy.pk] == []


def test_unhappy_last_time_reads_scores_imported_as_text_and_skips_non_numbers():
    from_csv, unreadable, missing = customer(), customer(), customer()
    record(from_csv, "survey", date=days(-1), attributes={"score": " 1 "})
    record(unreadable, "survey", date=days(-1), attributes={"score": "n/a"})
    record(missing, "survey", date=days(-1), attributes={"comment": "fine"})
    result = signals_for(customer_ids=[from_csv.pk, unreadable.pk, missing.pk], today=TODAY)
    assert [s.label for s in result[from_csv.pk]] == ["Unhappy last time"]
    assert result[unreadable.pk] == result[missing.pk] == []


def test_latest_survey_is_by_date_then_id_across_customer_and_organisation():
    company = Organization.objects.create(name="Autotalo Oy")
    anssi = customer(organization=company)
    record(anssi, "survey", date=days(-5), attributes={"score": 5})
    record(company, "survey", date=days(-1), attributes={"score": 1})  # newer, the organisation's
    assert labels(anssi) == ["Unhappy last time"]
    record(anssi, "survey", date=days(-1), attributes={"score": 5})  # same day, later id wins
    assert labels(anssi) == []


def test_contract_renewal_due_within_sixty_days_says_when():
    soon, later, past = customer(), customer(), customer()
    record(soon, "contract", title="Service contract", renewal_date=days(12))
    record(soon, "contract", title="Extended warranty", renewal_date=days(40))
    record(later, "contract", renewal_date=days(61))
    record(past, "contract", renewal_date=days(-1))
    result = signals_for(customer_ids=[soon.pk, later.pk, past.pk], today=TODAY)
    [signal] = result[soon.pk]
    assert (signal.label, signal.level) == ("Contract renewal due", "amber")
    assert signal.detail == "Service contract: renewal in 12 days"
    assert result[later.pk] == result[past.pk] == []


def test_contract_renewal_today_and_on_the_last_day_count():
    today, last_day = customer(), customer()
    record(today, "contract", title="A", renewal_date=days(0))
    record(last_day, "contract", title="B", renewal_date=days(60))
    result = signals_for(customer_ids=[today.pk, last_day.pk], today=TODAY)
    assert result[today.pk][0].detail == "A: renewal today"
    assert result[last_day.pk][0].detail == "B: renewal in 60 days"


def test_vip_is_green():
    vip, gold = customer(tier="vip"), customer(tier="gold")
    result = signals_for(customer_ids=[vip.pk, gold.pk], today=TODAY)
    assert [(s.label, s.level, s.detail) for s in result[vip.pk]] == [("VIP", "green", "")]
    assert result[gold.pk] == []


def test_signals_come_in_rule_order_and_every_customer_is_a_key():
    anssi = customer(tier="vip")
    Case.objects.create(subject="Broken", customer=anssi, type="complaint")
    record(anssi, "invoice", status="in_collection")
    nobody = customer()
    result = signals_for(customer_ids=[anssi.pk, nobody.pk], today=TODAY)
    assert [s.label for s in result[anssi.pk]] == ["Complaint open", "Invoice in collection", "VIP"]
    assert result[nobody.pk] == []
    SignalRule.objects.filter(label="Complaint open").update(position=100)
    assert labels(anssi) == ["Invoice in collection", "VIP", "Complaint open"]


def test_labels_are_finnish_when_finnish_is_active():
    anssi = customer(tier="vip")
    record(anssi, "invoice", status="in_collection")
    with translation.override("fi"):
        assert labels(anssi) == ["Lasku perinnässä", "VIP"]
    SignalRule.objects.filter(label="VIP").update(label_fi="")
    with translation.override("fi"):
        assert labels(anssi) == ["Lasku perinnässä", "VIP"]  # no Finnish label: the English one


def test_disabled_rule_gives_no_signal():
    anssi = customer(tier="vip")
    SignalRule.objects.filter(label="VIP").update(enabled=False)
    assert labels(anssi) == []


def test_no_customers_no_queries(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert signals_for(customer_ids=[]) == {}


def test_a_page_of_customers_costs_two_queries_whatever_the_rules(django_assert_num_queries):
    company = Organization.objects.create(name="Autotalo Oy")
    customers = [customer(name=f"C{i}", tier="vip" if i % 3 == 0 else "standard") for i in range(25)]
    for i, each in enumerate(customers):
        if i % 2:
            each.organization = company
            each.save()
        record(each, "order", due_date=days(-i), status="open")
        record(each, "survey", date=days(-i), attributes={"score": i % 5})
        record(each, "contract", renewal_date=days(i * 3))
        Case.objects.create(subject=f"Case {i}", customer=each, type="complaint" if i % 4 == 0 else "question")
    record(company, "invoice", status="in_collection")
    ids = [each.pk for each in customers]
    with django_assert_num_queries(2):  # the rules, then every rule's hits in one UNION ALL
        result = signals_for(customer_ids=ids, today=TODAY)
    with django_assert_num_queries(2):
        signals_for(customer_ids=ids[:1], today=TODAY)
    assert sum(len(signals) for signals in result.values()) > 25
    assert [s.label for s in result[customers[1].pk]] == [
        "Order late",
        "Invoice in collection",
        "Unhappy last time",
        "Contract renewal due",
    ]


def test_a_rule_made_invalid_outside_the_admin_is_skipped(caplog):
    anssi = customer(tier="vip")
    SignalRule.objects.create(label="Broken", subject="customer", conditions=[{"field": "shoe_size", "op": "eq"}])
    assert labels(anssi) == ["VIP"]
    assert "Broken" in caplog.text


# --- each operator ---------------------------------------------------------------------------------------------


OPERATOR_CASES = [
    # (subject, condition, fields of a matching record / customer, fields of one that does not match)
    ("record", {"field": "status", "op": "eq", "value": "open"}, {"status": "open"}, {"status": "closed"}),
    ("record", {"field": "status", "op": "ne", "value": "open"}, {"status": "closed"}, {"status": "open"}),
    ("record", {"field": "status", "op": "in", "value": ["a", "b"]}, {"status": "b"}, {"status": "c"}),
    ("record", {"field": "status", "op": "not_in", "value": ["a", "b"]}, {"status": "c"}, {"status": "a"}),
    ("record", {"field": "amount", "op": "lt", "value": 100}, {"amount": Decimal("99.99")}, {"amount": 100}),
    ("record", {"field": "amount", "op": "lte", "value": 100}, {"amount": 100}, {"amount": Decimal("100.01")}),
    ("record", {"field": "amount", "op": "gt", "value": 99.5}, {"amount": Decimal("99.51")}, {"amount": 99}),
    ("record", {"field": "amount", "op": "gte", "value": 1000}, {"amount": 1000}, {"amount": 999}),
    ("record", {"field": "date", "op": "lt", "value": "2025-03-01"}, {"date": date(2025, 2, 28)}, {"date": days(0)}),
    ("record", {"field": "due_date", "op": "within_days", "value": 7}, {"due_date": days(7)}, {"due_date": days(8)}),
    ("record", {"field": "due_date", "op": "overdue"}, {"due_date": days(-1)}, {"due_date": days(0)}),
    ("record", {"field": "date", "op": "older_than_days", "value": 30}, {"date": days(-31)}, {"date": days(-30)}),
    ("record", {"field": "renewal_date", "op": "is_set"}, {"renewal_date": days(5)}, {}),
    ("record", {"field": "renewal_date", "op": "is_not_set"}, {}, {"renewal_date": days(5)}),
    ("record", {"field": "title", "op": "is_set"}, {"title": "x"}, {"title": ""}),
    ("record", {"field": "title", "op": "is_not_set"}, {"title": ""}, {"title": "x"}),
    ("record", {"field": "title", "op": "contains", "value": "tyre"}, {"title": "Winter TYRES"}, {"title": "Rims"}),
    (
        "record",
        {"field": "attributes.score", "op": "eq", "value": 3},
        {"attributes": {"score": "3"}},
        {"attributes": {"score": 4}},
    ),
    (
        "record",
        {"field": "attributes.score", "op": "ne", "value": 3},
        {"attributes": {}},
        {"attributes": {"score": 3.0}},
    ),
    (
        "record",
        {"field": "attributes.score", "op": "gt", "value": 2.5},
        {"attributes": {"score": 3}},
        {"attributes": {"score": "2"}},
    ),
    (
        "record",
        {"field": "attributes.score", "op": "in", "value": [1, 2]},
        {"attributes": {"score": 2}},
        {"attributes": {"score": 3}},
    ),
    (
        "record",
        {"field": "attributes.model", "op": "eq", "value": "Corolla"},
        {"attributes": {"model": "Corolla"}},
        {"attributes": {"model": "Yaris"}},
    ),
    (
        "record",
        {"field": "attributes.model", "op": "not_in", "value": ["Yaris"]},
        {"attributes": {}},
        {"attributes": {"model": "Yaris"}},
    ),
    (
        "record",
        {"field": "attributes.model", "op": "contains", "value": "rol"},
        {"attributes": {"model": "Corolla"}},
        {"attributes": {"model": "Yaris"}},
    ),
    (
        "record",
        {"field": "attributes.condition", "op": "is_set"},
        {"attributes": {"condition": "worn"}},
        {"attributes": {"condition": ""}},
    ),
    (
        "record",
        {"field": "attributes.condition", "op": "is_not_set"},
        {"attributes": {"other": 1}},
        {"attributes": {"condition": "worn"}},
    ),
    (
        "record",
        {"field": "attributes.warranty_ends", "op": "within_days", "value": 30},
        {"attributes": {"warranty_ends": "2025-04-01"}},
        {"attributes": {"warranty_ends": "2025-05-01"}},
    ),
    (
        "record",
        {"field": "attributes.warranty_ends", "op": "overdue"},
        {"attributes": {"warranty_ends": "2025-03-09T12:00:00"}},
        {"attributes": {"warranty_ends": "soon"}},
    ),
    (
        "record",
        {"field": "attributes.installed", "op": "older_than_days", "value": 365},
        {"attributes": {"installed": "2020-01-01"}},
        {"attributes": {"installed": "2025-01-01"}},
    ),
    (
        "record",
        {"field": "attributes.installed", "op": "lt", "value": "2024-01-01"},
        {"attributes": {"installed": "2023-12-31"}},
        {"attributes": {"installed": "2024-01-01"}},
    ),
    (
        "record",
        {"field": "attributes.recalled", "op": "eq", "value": True},
        {"attributes": {"recalled": True}},
        {"attributes": {"recalled": False}},
    ),
    (
        "record",
        {"field": "attributes.parts.count", "op": "gte", "value": 2},
        {"attributes": {"parts": {"count": 2}}},
        {"attributes": {"parts": {"count": 1}}},
    ),
    ("customer", {"field": "tier", "op": "in", "value": ["gold", "vip"]}, {"tier": "gold"}, {"tier": "silver"}),
    ("customer", {"field": "language", "op": "is_not_set"}, {"language": ""}, {"language": "fi"}),
    (
        "customer",
        {"field": "interests", "op": "contains", "value": "4wd"},
        {"interests": "Looking at 4WD cars"},
        {"interests": ""},
    ),
    ("customer", {"field": "marketing_suppressed", "op": "eq", "value": True}, {"marketing_suppressed": True}, {}),
]


@pytest.mark.parametrize(("subject", "condition", "matching", "other"), OPERATOR_CASES)
def test_operator(subject, condition, matching, other):
    only_rule(subject=subject, record_kind="asset" if subject == "record" else "", conditions=[condition])
    validate_conditions(subject=subject, record_kind="", conditions=[condition])
    if subject == "record":
        yes, no = customer(), customer()
        record(yes, "asset", **matching)
        record(no, "asset", **other)
    else:
        yes, no = customer(**matching), customer(**other)
    result = signals_for(customer_ids=[yes.pk, no.pk], today=TODAY)
    assert [s.label for s in result[yes.pk]] == ["Test"], condition
    assert result[no.pk] == [], condition


def test_record_rule_without_a_kind_tests_every_kind():
    only_rule(conditions=[{"field": "status", "op": "eq", "value": "in_collection"}])
    anssi = customer()
    record(anssi, "offer", status="in_collection")
    assert labels(anssi) == ["Test"]


def test_record_of_another_kind_does_not_count():
    only_rule(record_kind="invoice", conditions=[{"field": "status", "op": "eq", "value": "in_collection"}])
    anssi = customer()
    record(anssi, "offer", status="in_collection")
    assert labels(anssi) == []


def test_open_case_rule_by_priority_name_and_only_open_cases():
    only_rule(subject="open_case", conditions=[{"field": "priority", "op": "gte", "value": "high"}])
    urgent, solved = customer(), customer()
    Case.objects.create(subject="Fire", customer=urgent, priority=Case.Priority.URGENT, status="pending")
    Case.objects.create(subject="Fire", customer=solved, priority=Case.Priority.URGENT, status="solved")
    result = signals_for(customer_ids=[urgent.pk, solved.pk], today=TODAY)
    assert [s.label for s in result[urgent.pk]] == ["Test"]
    assert result[solved.pk] == []


def test_open_case_waiting_long_by_datetime_field():
    only_rule(subject="open_case", conditions=[{"field": "created_at", "op": "older_than_days", "value": 2}])
    anssi = customer()
    case = Case.objects.create(subject="Old", customer=anssi)
    assert labels(anssi, today=timezone.localdate()) == []
    assert labels(anssi, today=timezone.localdate() + timedelta(days=3)) == ["Test"]
    assert case.pk


def test_rule_with_no_conditions_holds_for_any_subject():
    only_rule(record_kind="contract", conditions=[])
    anssi, nobody = customer(), customer()
    record(anssi, "contract")
    result = signals_for(customer_ids=[anssi.pk, nobody.pk], today=TODAY)
    assert [s.label for s in result[anssi.pk]] == ["Test"]
    assert result[nobody.pk] == []


# --- validation ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "record_kind", "conditions", "message"),
    [
        ("record", "", [{"field": "renewal", "op": "within_days", "value": 3}], "unknown field 'renewal'"),
        ("record", "", [{"field": "status", "op": "equals", "value": "x"}], "unknown operator 'equals'"),
        ("record", "", [{"field": "status", "op": "eq"}], '"value" is missing'),
        ("record", "", [{"field": "status", "op": "eq", "value": 3}], "must be text"),
        ("record", "", [{"field": "due_date", "op": "overdue", "value": 3}], "overdue takes no value"),
        ("record", "", [{"field": "due_date", "op": "within_days", "value": "soon"}], "number of days"),
        ("record", "", [{"field": "due_date", "op": "within_days", "value": -1}], "number of days"),
        ("record", "", [{"field": "due_date", "op": "lt", "value": "31.1.2025"}], "YYYY-MM-DD"),
        ("record", "", [{"field": "status", "op": "overdue"}], "overdue does not apply"),
        ("record", "", [{"field": "amount", "op": "lt", "value": "many"}], "must be a number"),
        ("record", "", [{"field": "status", "op": "in", "value": "open"}], "non-empty list"),
        ("record", "", [{"field": "attributes.score", "op": "lt", "value": "low"}], "number or a date"),
        ("record", "", [{"field": "attributes.a b", "op": "is_set"}], "attribute key"),
        ("record", "", [{"field": "attributes.score", "op": "in", "value": [1, "2"]}], "one type"),
        ("record", "", [{"field": "status", "op": "eq", "value": "x", "vaule": 1}], "unknown key 'vaule'"),
        ("record", "", ["status = open"], "must be an object"),
        ("record", "", {"field": "status"}, "must be a list"),
        ("record", "invoices", [], "Unknown record kind 'invoices'"),
        ("customer", "invoice", [], "only to rules tested on external records"),
        ("customer", "", [{"field": "attributes.score", "op": "is_set"}], "unknown field 'attributes.score'"),
        ("customer", "", [{"field": "tier", "op": "eq", "value": "platinum"}], "'platinum' is not one of"),
        ("customer", "", [{"field": "provisional", "op": "eq", "value": "yes"}], "true or false"),
        ("open_case", "", [{"field": "type", "op": "eq", "value": "complain"}], "'complain' is not one of"),
        ("open_case", "", [{"field": "priority", "op": "eq", "value": "very high"}], "must be a number"),
        ("open_case", "", [{"field": "owner", "op": "eq", "value": "maija"}], "must be an id"),
        ("nobody", "", [], "Unknown subject"),
    ],
)
def test_invalid_conditions_are_refused_saying_why(subject, record_kind, conditions, message):
    with pytest.raises(SignalRuleInvalidError) as error:
        validate_conditions(subject=subject, record_kind=record_kind, conditions=conditions)
    assert message in str(error.value)


def test_every_default_rule_is_valid():
    for rule in SignalRule.objects.all():
        validate_conditions(subject=rule.subject, record_kind=rule.record_kind, conditions=rule.conditions)
