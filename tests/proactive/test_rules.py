"""The three triggers turn into outbound cases with routed work, once each, and leave out whom they must."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests.proactive.conftest import in_days
from tiski.cases.models import Case, CaseEvent, Note
from tiski.customers.models import Customer, ExternalRecord
from tiski.proactive.models import ProactiveHit, ProactiveRule
from tiski.proactive.services import (
    external_event_receive,
    proactive_clock,
    proactive_rules_run,
    threshold_candidates,
)
from tiski.routing.models import WorkItem

pytestmark = pytest.mark.django_db


def test_a_worn_tyre_record_becomes_a_call_task_with_its_reason_and_context(
    tyre_rule: ProactiveRule, channels, make_customer, make_record
) -> None:
    liisa = make_customer("Liisa Laine")
    tyres = make_record(
        liisa,
        title="Talvirenkaat 205/55 R16, hylly B-12",
        status="stored",
        attributes={"tyre_tread_mm": 3.2, "shelf": "B-12"},
    )
    make_record(make_customer("Good Tyres"), attributes={"tyre_tread_mm": 6.5})

    assert proactive_rules_run() == 1

    hit = ProactiveHit.objects.get()
    case = hit.case
    assert (hit.rule, hit.customer, hit.record, hit.outcome) == (tyre_rule, liisa, tyres, "created")
    assert case.type == Case.Type.TASK and case.customer == liisa and case.priority == 3
    assert case.subject == "Winter tyres worn out: Liisa Laine (3.2 mm)"
    assert case.channel == channels["phone"]
    note = Note.objects.get(case=case)
    assert note.author is None
    assert "stored winter tyres are worn out" in note.body
    assert "tyre_tread_mm: 3.2" in note.body and "shelf: B-12" in note.body
    assert "tyre_tread_mm is 3.2 (the rule: < 4)" in note.body
    event = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.UPDATED)
    assert event.data["field"] == "proactive" and event.data["rule_id"] == tyre_rule.pk
    assert event.data["note_id"] == note.pk and event.data["record"] == tyres.pk
    item = WorkItem.objects.get(case=case)
    assert (item.queue, item.channel_kind, item.status, item.priority, item.reason) == (
        tyre_rule.queue,
        "outbound",
        "queued",
        3,
        "proactive",
    )
    assert hit.context["number"] == liisa.identities.get(kind="phone").value
    assert hit.context["record"]["attributes"] == {"tyre_tread_mm": 3.2, "shelf": "B-12"}


@pytest.mark.parametrize(
    ("attributes", "fires"),
    [
        ({"tyre_tread_mm": 3}, True),
        ({"tyre_tread_mm": 3.99}, True),
        ({"tyre_tread_mm": "2,5"}, True),  # a number as text, with a decimal comma
        ({"tyre_tread_mm": " 3.5 "}, True),
        ({"tyre_tread_mm": -1}, True),
        ({"tyre_tread_mm": 4}, False),  # not below the threshold
        ({"tyre_tread_mm": 12}, False),  # a number that would sort before 4 as text
        ({"tyre_tread_mm": "10"}, False),
        ({}, False),  # missing
        ({"TYRE_TREAD_MM": 1}, False),  # keys are exact
        ({"tyre_tread_mm": "worn"}, False),  # not a number
        ({"tyre_tread_mm": "3 mm"}, False),
        ({"tyre_tread_mm": "1.2.3"}, False),
        ({"tyre_tread_mm": ""}, False),
        ({"tyre_tread_mm": None}, False),
        ({"tyre_tread_mm": True}, False),
        ({"tyre_tread_mm": [2]}, False),
        ({"tyre_tread_mm": {"front": 2}}, False),
    ],
)
def test_threshold_compares_json_attributes_as_numbers(
    tyre_rule: ProactiveRule, make_customer, make_record, attributes: dict, fires: bool
) -> None:
    record = make_record(make_customer(), attributes=attributes)
    assert list(threshold_candidates(tyre_rule)) == ([record] if fires else [])


@pytest.mark.parametrize(
    ("comparison", "threshold", "expected"),
    [("lt", 4, {2}), ("lte", 4, {2, 4}), ("gt", 4, {7}), ("gte", 4, {4, 7}), ("eq", 4, {4}), ("ne", 4, {2, 7})],
)
def test_every_comparison(
    tyre_rule: ProactiveRule, make_customer, make_record, comparison: str, threshold: float, expected: set
) -> None:
    for value in (2, 4, 7):
        make_record(make_customer(), attributes={"tyre_tread_mm": value})
    make_record(make_customer(), attributes={"tyre_tread_mm": "n/a"})  # ≠ 4, but no number: never fires
    tyre_rule.comparison, tyre_rule.threshold = comparison, threshold
    found = {r.attributes["tyre_tread_mm"] for r in threshold_candidates(tyre_rule)}
    assert found == expected


def test_a_renewal_in_the_window_becomes_a_message_task_once_per_renewal_date(
    renewal_rule: ProactiveRule, channels, make_customer, make_record
) -> None:
    liisa = make_customer("Liisa")
    due = make_record(liisa, kind="contract", status="active", renewal_date=in_days(21), title="Huoltosopimus Plus")
    make_record(make_customer(), kind="contract", status="active", renewal_date=in_days(31))  # too far
    make_record(make_customer(), kind="contract", status="active", renewal_date=in_days(-1))  # passed
    make_record(make_customer(), kind="contract", status="ended", renewal_date=in_days(5))  # not active
    make_record(make_customer(), kind="asset", status="active", renewal_date=in_days(5))  # another kind

    assert proactive_rules_run() == 1
    case = Case.objects.get()
    assert case.customer == liisa and case.channel == channels["email"]
    assert case.subject.startswith("Contract renews on ") and case.subject.endswith(": Huoltosopimus Plus")
    item = WorkItem.objects.get()
    assert (item.channel_kind, item.queue) == ("email", renewal_rule.queue)
    hit = ProactiveHit.objects.get()
    assert hit.context["days_left"] == 21 and hit.record_date == in_days(21)

    later = timezone.now() + timedelta(minutes=10)
    assert proactive_rules_run(now=later) == 0  # the same renewal: not again
    ExternalRecord.objects.filter(pk=due.pk).update(renewal_date=in_days(25))  # renewed a year on, say
    assert proactive_rules_run(now=later + timedelta(minutes=10)) == 1  # a new renewal date: a new task
    assert Case.objects.count() == 2


def test_running_the_clock_twice_makes_one_case(tyre_rule: ProactiveRule, channels, make_customer, make_record) -> None:
    make_record(make_customer(), attributes={"tyre_tread_mm": 2})
    assert proactive_clock() == 1
    assert proactive_clock() == 0  # within the interval: nothing is even read
    assert proactive_rules_run(now=timezone.now() + timedelta(hours=1)) == 0
    assert Case.objects.count() == 1 and ProactiveHit.objects.count() == 1


def test_a_backlog_is_worked_off_tick_by_tick_then_the_clock_rests(
    tyre_rule: ProactiveRule, channels, make_customer, make_record, monkeypatch
) -> None:
    from tiski.proactive import services

    monkeypatch.setattr(services, "BATCH", 2)
    for _ in range(5):
        make_record(make_customer(), attributes={"tyre_tread_mm": 2})
    assert [proactive_clock() for _ in range(5)] == [2, 2, 1, 0, 0]
    assert Case.objects.count() == 5


def test_the_clock_keeps_to_its_time_budget_and_still_makes_progress(
    tyre_rule: ProactiveRule, channels, make_customer, make_record, monkeypatch
) -> None:
    from tiski.proactive import services

    monkeypatch.setattr(services, "CLOCK_BUDGET_S", 0.0)  # no time at all: one hit a tick, the rest later
    for _ in range(3):
        make_record(make_customer(), attributes={"tyre_tread_mm": 2})
    assert proactive_clock() == 1
    assert services._next_check <= time.monotonic()  # more to do: the next tick goes on at once
    assert [proactive_clock() for _ in range(3)] == [1, 1, 0]
    assert services._next_check > time.monotonic() + 60  # done: the clock rests


def test_a_rule_runs_at_most_every_interval(tyre_rule: ProactiveRule, channels, make_customer, make_record) -> None:
    now = timezone.now()
    assert proactive_rules_run(now=now) == 0
    make_record(make_customer(), attributes={"tyre_tread_mm": 2})
    assert proactive_rules_run(now=now + timedelta(minutes=1)) == 0  # checked a minute ago
    assert proactive_rules_run(now=now + timedelta(minutes=6)) == 1


def test_a_disabled_rule_does_nothing(tyre_rule: ProactiveRule, make_customer, make_record) -> None:
    ProactiveRule.objects.filter(pk=tyre_rule.pk).update(enabled=False)
    make_record(make_customer(), attributes={"tyre_tread_mm": 2})
    assert proactive_rules_run() == 0 and not ProactiveHit.objects.exists()


def test_who_is_left_out_and_why(
    tyre_rule: ProactiveRule, renewal_rule: ProactiveRule, channels, make_customer, make_record
) -> None:
    erased = make_customer("Erased", erased_at=timezone.now())
    complaining = make_customer("Complaining", marketing_suppressed=True)
    no_phone = make_customer("No phone", phone=False)
    no_way = make_customer("Nobody", phone=False, email=False)
    for customer in (erased, complaining, no_phone):
        make_record(customer, attributes={"tyre_tread_mm": 1})
    make_record(no_way, kind="contract", status="active", renewal_date=in_days(3))
    make_record(None, organization=_org(), attributes={"tyre_tread_mm": 1})  # an organisation's record

    proactive_rules_run()

    outcomes = dict(ProactiveHit.objects.values_list("customer__name", "outcome"))
    # A service reminder reaches a customer with an open complaint; the erased are not even stored.
    assert outcomes == {"Complaining": "created", "No phone": "no_phone", "Nobody": "no_channel"}
    assert list(Case.objects.values_list("customer__name", flat=True)) == ["Complaining"]


def test_a_marketing_rule_leaves_out_customers_who_must_not_be_marketed_to(
    tyre_rule: ProactiveRule, channels, make_customer, make_record
) -> None:
    ProactiveRule.objects.filter(pk=tyre_rule.pk).update(marketing=True)
    tyre_rule.refresh_from_db()
    complaining = make_customer("Complaining", marketing_suppressed=True)
    make_record(complaining, attributes={"tyre_tread_mm": 1})
    assert proactive_rules_run() == 0
    assert not Case.objects.exists()
    Customer.objects.filter(pk=complaining.pk).update(marketing_suppressed=False)  # the complaint was solved
    assert proactive_rules_run(now=timezone.now() + timedelta(minutes=10)) == 1


def test_an_event_reaches_customers_by_their_interests_in_any_case(
    icy_rule: ProactiveRule, channels, make_customer
) -> None:
    fi = make_customer("Pekka", interests="Harkitsee NELIVETOISTA perheautoa")
    en = make_customer("Mary", interests="Four-Wheel Drive SUVs, towing")
    umlaut = make_customer("Ääpeli", interests="älyrengas-kokeilu")  # non-ASCII keyword, another case
    make_customer("Other", interests="sähköpyörät")
    make_customer("Gone", interests="neliveto", erased_at=timezone.now())
    make_customer("Complaining", interests="neliveto", marketing_suppressed=True)  # an offer: not now
    make_customer("No interests")

    event, new = external_event_receive(name="icy_evening", occurrence="2026-11-23", data={"temperature_c": -7})

    assert new and event.status == "done" and (event.rules, event.matched, event.created) == (1, 3, 3)
    assert set(Case.objects.values_list("customer", flat=True)) == {fi.pk, en.pk, umlaut.pk}
    case = Case.objects.get(customer=fi)
    assert case.subject == "icy_evening: four-wheel drive for Pekka"
    note = Note.objects.get(case=case)
    assert "interested in “neliveto”" in note.body and "temperature_c: -7" in note.body
    assert WorkItem.objects.filter(channel_kind="outbound", queue=icy_rule.queue).count() == 3

    again, new = external_event_receive(name="icy_evening", occurrence="2026-11-23")
    assert (again.pk, new) == (event.pk, False)
    assert Case.objects.count() == 3
    _, new = external_event_receive(name="icy_evening", occurrence="2026-12-01")  # the next icy evening
    assert new and Case.objects.count() == 6


def test_an_event_reaching_many_customers_is_handled_in_the_background(
    icy_rule: ProactiveRule, channels, make_customer, run_tasks, django_capture_on_commit_callbacks
) -> None:
    from tiski.proactive import services

    for n in range(services.EVENT_INLINE + 2):
        make_customer(f"Fan {n}", interests="neliveto")
    with django_capture_on_commit_callbacks(execute=True):
        event, _new = external_event_receive(name="icy_evening")
    assert event.status == "queued" and event.occurrence == timezone.localdate().isoformat()
    assert not Case.objects.exists()
    run_tasks()
    event.refresh_from_db()
    assert (event.status, event.matched, event.created) == ("done", 52, 52)
    assert Case.objects.count() == 52


def test_rules_are_checked_before_they_are_saved(outreach) -> None:
    rule = ProactiveRule(
        name="x",
        trigger="threshold",
        record_kind="asset",
        attribute="tread depth",
        subject_template="{nope}",
        reason="r",
    )
    with pytest.raises(ValidationError) as error:
        rule.full_clean()
    assert set(error.value.message_dict) >= {"attribute", "comparison", "threshold", "subject_template"}
    event = ProactiveRule(name="x", trigger="event", event_name="Icy Evening", subject_template="{event}", reason="r")
    with pytest.raises(ValidationError) as error:
        event.full_clean()
    assert set(error.value.message_dict) >= {"event_name", "interests"}


def _org():  # type: ignore[no-untyped-def]
    from tiski.customers.models import Organization

    return Organization.objects.create(name="Fleet Oy")
