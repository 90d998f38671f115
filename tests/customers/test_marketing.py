"""Marketing suppression: no marketing while a complaint case is open; it lifts when the case is solved."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from tiski.cases.models import Case
from tiski.cases.services import case_create, case_update
from tiski.customers.marketing import (
    REASON_NONE,
    REASON_OPEN_COMPLAINT,
    marketing_refresh,
    marketing_status,
    marketing_suppressions,
)
from tiski.customers.models import Customer, CustomerEvent, Identity


def queued(task_name: str) -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path__endswith=f".{task_name}").order_by("enqueued_at"))


@pytest.fixture
def customer(db):  # type: ignore[no-untyped-def]
    customer = Customer.objects.create(name="Anssi Laaksonen")
    Identity.objects.create(customer=customer, kind="email", value="anssi@example.com")
    return customer


def _marketing_events(customer: Customer) -> list[dict]:
    return [e.data for e in CustomerEvent.objects.filter(customer=customer, kind=CustomerEvent.Kind.MARKETING)]


def test_an_open_complaint_suppresses_marketing_and_solving_it_lifts_it(run_tasks, agent, customer):
    case = case_create(customer=customer, subject="Broken on arrival", actor=agent, type=Case.Type.COMPLAINT)
    run_tasks()
    customer.refresh_from_db()
    assert customer.marketing_suppressed is True
    assert _marketing_events(customer) == [
        {"suppressed": True, "reason": REASON_OPEN_COMPLAINT, "cases": [case.reference]}
    ]
    case_update(case=case, actor=agent, status=Case.Status.PENDING)  # still open: nothing changes
    run_tasks()
    assert len(_marketing_events(customer)) == 1
    case_update(case=case, actor=agent, status=Case.Status.SOLVED)
    run_tasks()
    customer.refresh_from_db()
    assert customer.marketing_suppressed is False
    assert _marketing_events(customer)[-1] == {"suppressed": False, "reason": REASON_NONE, "cases": []}


def test_changing_a_cases_type_to_complaint_and_back_moves_the_suppression(run_tasks, agent, customer):
    case = case_create(customer=customer, subject="Question about delivery", actor=agent)
    run_tasks()
    customer.refresh_from_db()
    assert customer.marketing_suppressed is False
    case_update(case=case, actor=agent, type=Case.Type.COMPLAINT)
    run_tasks()
    customer.refresh_from_db()
    assert customer.marketing_suppressed is True
    case_update(case=case, actor=agent, type=Case.Type.QUESTION)
    run_tasks()
    customer.refresh_from_db()
    assert customer.marketing_suppressed is False


def test_the_suppression_stays_while_another_complaint_is_open(run_tasks, agent, customer):
    first = case_create(customer=customer, subject="Late", actor=agent, type=Case.Type.COMPLAINT)
    second = case_create(customer=customer, subject="Broken", actor=agent, type=Case.Type.COMPLAINT)
    run_tasks()
    assert _marketing_events(customer) == [
        {"suppressed": True, "reason": REASON_OPEN_COMPLAINT, "cases": [first.reference, second.reference]}
    ]
    case_update(case=first, actor=agent, status=Case.Status.SOLVED)
    run_tasks()
    customer.refresh_from_db()
    assert customer.marketing_suppressed is True
    assert len(_marketing_events(customer)) == 1


def test_the_customer_writing_on_a_solved_complaint_reopens_it_and_suppresses_again(
    receive, run_tasks, agent, webform_channel
):
    contact = receive(email="anssi@example.com", name="Anssi Laaksonen", body="The sofa is torn.")
    case = contact.case
    case_update(case=case, actor=agent, type=Case.Type.COMPLAINT)
    case_update(case=case, actor=agent, status=Case.Status.SOLVED)
    run_tasks()
    customer = case.customer
    customer.refresh_from_db()
    assert customer.marketing_suppressed is False
    receive(email="anssi@example.com", name="Anssi Laaksonen", body="Still torn!", case_reference=case.reference)
    run_tasks()
    case.refresh_from_db()
    customer.refresh_from_db()
    assert case.status == Case.Status.OPEN
    assert customer.marketing_suppressed is True


def test_no_task_is_queued_for_a_new_case_that_is_not_a_complaint(agent, customer, receive):
    with CaptureQueriesContext(connection) as queries:
        case = case_create(customer=customer, subject="Which size?", actor=agent)
    receive(email="someone@example.com", body="A question")
    case_update(case=case, actor=agent, status=Case.Status.SOLVED)
    case_update(case=case, actor=agent, subject="Which size fits?")
    assert queued("marketing_case_changed") == []
    # The predicate of a new case: one primary-key read of the event with its case's type.
    assert len([q for q in queries.captured_queries if "cases_caseevent" in q["sql"] and "SELECT" in q["sql"]]) == 1


def test_refresh_returns_the_state_and_records_only_changes(agent, customer):
    assert marketing_refresh(customer_id=customer.pk) is False
    assert _marketing_events(customer) == []
    Case.objects.create(customer=customer, subject="Complaint", type=Case.Type.COMPLAINT)  # no events published
    assert marketing_refresh(customer_id=customer.pk) is True
    assert marketing_refresh(customer_id=customer.pk) is True
    assert len(_marketing_events(customer)) == 1
    assert marketing_refresh(customer_id=999_999) is False


def test_status_and_suppression_list_read_the_announced_state(agent, customer):
    other = Customer.objects.create(name="Kaisa")
    case = Case.objects.create(customer=customer, subject="Complaint", type=Case.Type.COMPLAINT)
    marketing_refresh(customer_id=customer.pk)
    status = marketing_status(user=agent, customer_id=customer.pk)
    assert (status.do_not_market, status.reason, status.cases) == (True, REASON_OPEN_COMPLAINT, [case.reference])
    assert marketing_status(user=agent, customer_id=other.pk).do_not_market is False
    assert list(marketing_suppressions(user=agent)) == [customer]
