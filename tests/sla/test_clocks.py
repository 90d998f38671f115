"""Service-level clocks through the real pipeline and services: started by the contact, met by the reply,
paused while the case waits on the customer, ended by the solution; warnings and breaches fire once, also with
several processes, and a timer run after a pause (a restart) catches up."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from tiski.cases.models import Case, CaseEvent, Message
from tiski.cases.services import case_update, message_reply
from tiski.channels.services import Receipt
from tiski.sla.models import BusinessCalendar, OpeningHours, SlaClock, SlaPolicy
from tiski.sla.services import clocks_on_contact, clocks_on_status, policies_forget, sla_timers_run

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 16, 7, 0, tzinfo=UTC)  # Monday 9:00 in Helsinki, in the past
MIN = 60


@pytest.fixture
def policy(db: None) -> SlaPolicy:
    """One round-the-clock policy for every case: first response 60 min, next 30, resolution 8 h."""
    SlaPolicy.objects.all().delete()
    made = SlaPolicy.objects.create(
        name="Test", first_response_minutes=60, next_response_minutes=30, resolution_minutes=480, warn_percent=50
    )
    policies_forget()
    return made


def clocks(case: Case) -> dict[str, SlaClock]:
    return {clock.metric: clock for clock in SlaClock.objects.filter(case=case).order_by("id")}


def contact_at(receive: Callable[..., Receipt], at: datetime, **kwargs: object) -> Receipt:
    """A customer message that arrived AT (the clocks start from the message's own time)."""
    receipt = receive(**kwargs)
    Message.objects.filter(pk=receipt.message.pk).update(created_at=at)
    SlaClock.objects.filter(case=receipt.case).delete()
    clocks_on_contact(message_id=receipt.message.pk, case_id=receipt.case.pk, case_created=True)
    return receipt


def test_a_contact_starts_first_response_and_resolution(receive, policy: SlaPolicy) -> None:  # type: ignore[no-untyped-def]
    case = contact_at(receive, T0).case
    running = clocks(case)
    assert set(running) == {"first_response", "resolution"}
    assert running["first_response"].due_at == T0 + timedelta(minutes=60)
    assert running["first_response"].warn_at == T0 + timedelta(minutes=30)
    assert running["resolution"].due_at == T0 + timedelta(hours=8)
    case.refresh_from_db()
    assert case.sla_due_at == T0 + timedelta(minutes=60)  # the inbox sorts by the earliest


def test_the_pipeline_itself_starts_the_clocks_with_the_default_policies(receive) -> None:  # type: ignore[no-untyped-def]
    case = receive().case  # a web form: "Email and web form", 8 business hours, Mon–Fri 8–16 in Helsinki
    running = clocks(case)
    assert set(running) == {"first_response", "resolution"}
    assert running["first_response"].policy.name == "Email and web form"
    assert running["first_response"].policy.calendar.name.startswith("Customer service hours")


def test_the_agents_reply_meets_the_first_response(receive, policy: SlaPolicy, agent: User) -> None:  # type: ignore[no-untyped-def]
    case = contact_at(receive, T0).case
    message_reply(case=case, actor=agent, body="Hei!")
    first = clocks(case)["first_response"]
    assert first.status == "missed"  # T0 is in the past: the reply came long after the hour
    case.refresh_from_db()
    assert case.sla_due_at == clocks(case)["resolution"].due_at


def test_a_reply_in_time_is_met_and_the_customers_next_message_starts_next_response(
    receive, policy: SlaPolicy, agent: User
) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    case = contact_at(receive, now - timedelta(minutes=10)).case
    message_reply(case=case, actor=agent, body="Hei!")
    assert clocks(case)["first_response"].status == "met"
    receive(body="Kiitos, entä toinen kysymys?", case_reference=case.reference)  # the customer answers
    following = SlaClock.objects.get(case=case, metric="next_response")
    assert following.status == "running" and following.target_s == 30 * MIN


def test_pending_pauses_the_clocks_and_the_customers_answer_resumes_them(receive, policy: SlaPolicy) -> None:  # type: ignore[no-untyped-def]
    case = contact_at(receive, T0).case
    clocks_on_status(case_id=case.pk, old="new", new="pending", at=T0 + timedelta(minutes=20))
    paused = clocks(case)
    assert {c.status for c in paused.values()} == {"paused"}
    assert paused["first_response"].elapsed_s == 20 * MIN and paused["first_response"].due_at is None
    case.refresh_from_db()
    assert case.sla_due_at is None  # nothing runs: the case waits on the customer

    clocks_on_status(case_id=case.pk, old="pending", new="open", at=T0 + timedelta(hours=3))
    resumed = clocks(case)["first_response"]
    assert resumed.status == "running"
    assert resumed.due_at == T0 + timedelta(hours=3, minutes=40)  # the 40 minutes left, from the resumption
    assert resumed.warn_at == T0 + timedelta(hours=3, minutes=10)  # 50 % = 30 min, 20 counted already


def test_a_customer_message_on_a_pending_case_resumes_the_paused_clocks(receive, policy: SlaPolicy) -> None:  # type: ignore[no-untyped-def]
    case = contact_at(receive, T0).case
    clocks_on_status(case_id=case.pk, old="new", new="pending", at=T0 + timedelta(minutes=20))
    answer = receive(body="Tässä tilausnumero 1234.", case_reference=case.reference)
    assert answer.case == case
    assert clocks(case)["first_response"].status == "running"


def test_solving_meets_the_resolution_and_cancels_the_rest(receive, policy: SlaPolicy) -> None:  # type: ignore[no-untyped-def]
    case = contact_at(receive, T0).case
    clocks_on_status(case_id=case.pk, old="open", new="solved", at=T0 + timedelta(hours=2))
    ended = clocks(case)
    assert (ended["resolution"].status, ended["first_response"].status) == ("met", "cancelled")
    case.refresh_from_db()
    assert case.sla_due_at is None


def test_status_changes_through_the_case_service_move_the_clocks(receive, policy: SlaPolicy, agent: User) -> None:  # type: ignore[no-untyped-def]
    case = receive().case
    case_update(case=case, actor=agent, status="pending")
    assert {c.status for c in clocks(case).values()} == {"paused"}
    case_update(case=case, actor=agent, status="open")
    assert {c.status for c in clocks(case).values()} == {"running"}
    case_update(case=case, actor=agent, status="solved")
    assert clocks(case)["resolution"].status == "met"


def test_automatic_mail_starts_no_clock(receive, policy: SlaPolicy) -> None:  # type: ignore[no-untyped-def]
    case = receive(auto_submitted=True).case
    assert not SlaClock.objects.filter(case=case).exists()


def test_business_time_counts_only_opening_hours(receive, policy: SlaPolicy) -> None:  # type: ignore[no-untyped-def]
    office = BusinessCalendar.objects.create(name="Office", time_zone="Europe/Helsinki", country="FI")
    for day in range(5):
        OpeningHours.objects.create(calendar=office, weekday=day, opens=time(8), closes=time(16))
    policy.calendar = office
    policy.save()
    friday_afternoon = datetime(2026, 11, 27, 13, 30, tzinfo=UTC)  # 15:30 in Helsinki
    first = clocks(contact_at(receive, friday_afternoon).case)["first_response"]
    assert first.due_at == datetime(2026, 11, 30, 6, 30, tzinfo=UTC)  # Monday 8:30 in Helsinki


# --- policies --------------------------------------------------------------------------------------------------


def test_the_first_matching_policy_in_order_wins(receive, policy: SlaPolicy, agent: User) -> None:  # type: ignore[no-untyped-def]
    SlaPolicy.objects.create(name="Urgent", position=0, priorities=[4], first_response_minutes=15)
    SlaPolicy.objects.create(name="Off", position=1, active=False, first_response_minutes=1)
    SlaPolicy.objects.create(name="Web form", position=2, channel_kinds=["webform"], first_response_minutes=120)
    policy.position = 9
    policy.save()
    assert clocks(contact_at(receive, T0).case)["first_response"].policy.name == "Web form"
    urgent = contact_at(receive, T0, email="vip@example.com")
    Case.objects.filter(pk=urgent.case.pk).update(priority=4)
    SlaClock.objects.filter(case=urgent.case).delete()
    clocks_on_contact(message_id=urgent.message.pk, case_id=urgent.case.pk, case_created=True)
    assert clocks(urgent.case)["first_response"].target_s == 15 * MIN


def test_without_any_active_policy_nothing_is_counted(receive) -> None:  # type: ignore[no-untyped-def]
    SlaPolicy.objects.update(active=False)
    policies_forget()
    assert not SlaClock.objects.filter(case=receive().case).exists()


# --- warnings and breaches ---------------------------------------------------------------------------------------


def test_warning_then_breach_fire_once_each_and_are_on_the_timeline(receive, policy: SlaPolicy) -> None:  # type: ignore[no-untyped-def]
    case = contact_at(receive, T0).case
    assert sla_timers_run(now=T0 + timedelta(minutes=29)) == 0
    assert sla_timers_run(now=T0 + timedelta(minutes=31)) == 1  # the first response's 50 % warning
    assert sla_timers_run(now=T0 + timedelta(minutes=45)) == 0
    assert sla_timers_run(now=T0 + timedelta(minutes=61)) == 1  # its breach
    assert sla_timers_run(now=T0 + timedelta(minutes=62)) == 0
    kinds = list(CaseEvent.objects.filter(case=case, kind__startswith="sla_").values_list("kind", "data__metric"))
    assert kinds == [("sla_warning", "first_response"), ("sla_breached", "first_response")]


def test_a_run_after_downtime_fires_everything_it_missed_once(receive, policy: SlaPolicy) -> None:  # type: ignore[no-untyped-def]
    for n in range(3):
        contact_at(receive, T0, email=f"c{n}@example.com")
    # Nothing ran for 10 hours (a restart): every warning and breach of the 3 cases, once.
    assert sla_timers_run(now=T0 + timedelta(hours=10)) == 3 * 2 * 2
    assert sla_timers_run(now=T0 + timedelta(hours=11)) == 0


def test_a_stopped_clock_no_longer_warns(receive, policy: SlaPolicy, agent: User) -> None:  # type: ignore[no-untyped-def]
    case = contact_at(receive, T0).case
    clocks_on_status(case_id=case.pk, old="new", new="solved", at=T0 + timedelta(minutes=5))
    assert sla_timers_run(now=T0 + timedelta(hours=10)) == 0


@pytest.mark.django_db(transaction=True)
def test_several_processes_fire_each_breach_once(receive, policy: SlaPolicy) -> None:  # type: ignore[no-untyped-def]
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/tiski")
    for n in range(20):
        contact_at(receive, T0, email=f"c{n}@example.com")
    start = threading.Barrier(4)
    fired: list[int] = []

    def worker() -> None:
        try:
            start.wait()
            fired.append(sla_timers_run(now=T0 + timedelta(hours=10)))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(fired) == 20 * 2 * 2
    assert CaseEvent.objects.filter(kind="sla_breached").count() == 20 * 2
    assert CaseEvent.objects.filter(kind="sla_warning").count() == 20 * 2
