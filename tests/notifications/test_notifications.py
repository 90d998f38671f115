"""Notifications: a followed customer makes contact, a followed case changes; in the console and by email."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.notifications.conftest import queued
from tiski.cases.models import Case, CaseEvent
from tiski.cases.services import case_update, note_add
from tiski.customers.models import Organization
from tiski.notifications.models import Notification
from tiski.notifications.selectors import notifications_list, notifications_unread_count
from tiski.notifications.services import (
    follow,
    notifications_for_case_event,
    notifications_for_contact,
    notifications_mark_read,
)
from tiski.notifications.tasks import notifications_case_event


@pytest.fixture
def first_contact(receive):  # type: ignore[no-untyped-def]
    # The mails here are the agents' notifications; the customer's automatic reply is tested in tests/sla.
    from tiski.sla.models import AutoReply

    AutoReply.objects.filter(channel_kind="webform").update(enabled=False)
    return receive(email="anssi@example.com", name="Anssi Laaksonen", subject="Drill", body="My drill broke.")


def test_a_followed_customer_writing_notifies_the_follower(receive, run_tasks, agent, first_contact):
    follow(user=agent, customer=first_contact.case.customer)
    again = receive(email="anssi@example.com", name="Anssi Laaksonen", subject="Another thing", body="Also…")
    run_tasks()
    [notification] = Notification.objects.filter(user=agent)
    assert notification.kind == Notification.Kind.CONTACT
    assert notification.case == again.case
    assert notification.customer == again.case.customer
    assert notification.text == f"Anssi Laaksonen wrote on {again.case.reference} (web form)"
    assert notification.read_at is None


def test_a_contact_from_a_customer_of_a_followed_organisation_notifies(receive, run_tasks, agent, first_contact):
    organization = Organization.objects.create(name="Konepaja Oy")
    customer = first_contact.case.customer
    customer.organization = organization
    customer.save()
    follow(user=agent, organization=organization)
    receive(email="anssi@example.com", name="Anssi Laaksonen", body="Hello again")
    run_tasks()
    assert Notification.objects.filter(user=agent, kind=Notification.Kind.CONTACT).count() == 1


def test_following_the_customer_and_the_case_gives_one_notification_per_contact(
    receive, run_tasks, agent, first_contact
):
    follow(user=agent, customer=first_contact.case.customer)
    follow(user=agent, case=first_contact.case)
    receive(email="anssi@example.com", name="Anssi Laaksonen", body="More", case_reference=first_contact.case.reference)
    run_tasks()
    assert Notification.objects.filter(user=agent).count() == 1


def test_no_task_is_queued_for_a_contact_nobody_follows(receive, agent, first_contact):
    follow(user=agent, customer=first_contact.case.customer)  # someone else is followed
    with CaptureQueriesContext(connection) as queries:
        receive(email="someone.else@example.com", name="Someone Else", body="Hi")
    assert queued("notifications_contact") == []
    assert queued("notifications_case_event") == []
    follow_checks = [q for q in queries.captured_queries if "notifications_follow" in q["sql"]]
    assert len(follow_checks) == 1  # the predicate: one EXISTS for the contact (the case event needs none)


def test_a_case_change_notifies_the_case_followers_but_not_whoever_made_it(
    run_tasks, agent, other_agent, team_lead, first_contact
):
    case = first_contact.case
    follow(user=other_agent, case=case)
    follow(user=team_lead, case=case)
    follow(user=agent, case=case)
    team_lead.first_name = "Minna"
    team_lead.save()
    case_update(case=case, actor=team_lead, status=Case.Status.SOLVED)
    run_tasks()
    assert [n.text for n in Notification.objects.filter(user=other_agent)] == [f"Minna set {case.reference} to Solved"]
    assert [n.text for n in Notification.objects.filter(user=agent)] == [f"Minna set {case.reference} to Solved"]
    assert not Notification.objects.filter(user=team_lead).exists()
    notification = Notification.objects.get(user=other_agent)
    assert notification.kind == Notification.Kind.CASE_CHANGED
    assert notification.data["event"] == CaseEvent.Kind.STATUS_CHANGED


def test_an_internal_note_notifies_case_followers(run_tasks, agent, other_agent, first_contact):
    case = first_contact.case
    follow(user=other_agent, case=case)
    note_add(case=case, actor=agent, body="Called the customer.")
    run_tasks()
    assert [n.text for n in Notification.objects.filter(user=other_agent)] == [
        f"Maija added an internal note on {case.reference}"
    ]


def test_a_case_change_nobody_follows_queues_no_task(agent, first_contact):
    case_update(case=first_contact.case, actor=agent, status=Case.Status.PENDING)
    assert queued("notifications_case_event") == []


def test_a_case_event_handled_twice_notifies_once(agent, other_agent, first_contact):
    case = first_contact.case
    follow(user=other_agent, case=case)
    case_update(case=case, actor=agent, priority=Case.Priority.URGENT)
    event = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.PRIORITY_CHANGED)
    assert notifications_for_case_event(event_id=event.pk) == 1
    assert notifications_for_case_event(event_id=event.pk) == 0
    message_id = first_contact.message.pk
    follow(user=other_agent, customer=case.customer)
    assert notifications_for_contact(message_id=message_id) == 1
    assert notifications_for_contact(message_id=message_id) == 0
    assert Notification.objects.filter(user=other_agent).count() == 2


def test_the_subscriber_task_is_queued_in_the_changing_transaction(agent, other_agent, first_contact):
    follow(user=other_agent, case=first_contact.case)
    case_update(case=first_contact.case, actor=agent, status=Case.Status.PENDING)
    [run] = queued("notifications_case_event")
    assert run.args_kwargs["kwargs"]["case_id"] == first_contact.case.pk
    assert notifications_case_event.name == "notifications_case_event"


def test_unread_count_list_and_mark_read(run_tasks, agent, other_agent, first_contact):
    case = first_contact.case
    follow(user=other_agent, case=case)
    case_update(case=case, actor=agent, status=Case.Status.PENDING)
    case_update(case=case, actor=agent, priority=Case.Priority.HIGH)
    note_add(case=case, actor=agent, body="Waiting for photos.")
    run_tasks()
    assert notifications_unread_count(user=other_agent) == 3
    newest_first = notifications_list(user=other_agent)
    assert [n.text for n in newest_first] == [
        f"Maija added an internal note on {case.reference}",
        f"Maija set the priority of {case.reference} to High",
        f"Maija set {case.reference} to Pending",
    ]
    assert len(notifications_list(user=other_agent, limit=2)) == 2
    # Someone else's ids are ignored.
    assert notifications_mark_read(user=agent, ids=[newest_first[0].pk]) == 0
    assert notifications_mark_read(user=other_agent, ids=[newest_first[0].pk]) == 1
    assert notifications_unread_count(user=other_agent) == 2
    assert [n.pk for n in notifications_list(user=other_agent, unread_only=True)] == [
        newest_first[1].pk,
        newest_first[2].pk,
    ]
    assert notifications_mark_read(user=other_agent) == 2
    assert notifications_unread_count(user=other_agent) == 0


def test_followers_who_asked_get_an_email_and_it_is_marked(settings, run_tasks, agent, other_agent, first_contact):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    other_agent.email = "matti@tiski.example"
    other_agent.save()
    other_agent.agent.notify_by_email = True
    other_agent.agent.save()
    follow(user=other_agent, case=first_contact.case)
    follow(user=agent, case=first_contact.case)  # the actor: no notification, no mail
    case_update(case=first_contact.case, actor=agent, status=Case.Status.SOLVED)
    mail.outbox.clear()
    run_tasks()
    [sent] = mail.outbox
    reference = first_contact.case.reference
    assert sent.to == ["matti@tiski.example"]
    assert sent.subject == f"Tiski: Maija set {reference} to Solved"
    assert f"Maija set {reference} to Solved" in sent.body
    assert f"/console/cases/{reference}/" in sent.body
    notification = Notification.objects.get(user=other_agent)
    assert notification.emailed_at is not None


def test_followers_who_did_not_ask_get_no_email(settings, run_tasks, agent, other_agent, first_contact):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    other_agent.email = "matti@tiski.example"
    other_agent.save()
    follow(user=other_agent, case=first_contact.case)
    case_update(case=first_contact.case, actor=agent, status=Case.Status.SOLVED)
    mail.outbox.clear()
    run_tasks()
    assert mail.outbox == []
    assert queued("notifications_email") == []
    assert Notification.objects.get(user=other_agent).emailed_at is None


def test_a_failing_mail_is_retried_and_the_console_notification_stays(
    settings, monkeypatch, run_tasks, agent, other_agent, first_contact
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.TISKI_NOTIFY_EMAIL_BACKOFF_S = 0
    other_agent.email = "matti@tiski.example"
    other_agent.save()
    other_agent.agent.notify_by_email = True
    other_agent.agent.save()
    follow(user=other_agent, case=first_contact.case)
    from tiski.notifications import services

    real_send = services.send_mail
    failures = []

    def flaky(*args, **kwargs):  # type: ignore[no-untyped-def]
        if not failures:
            failures.append(1)
            raise OSError("SMTP server unreachable")
        return real_send(*args, **kwargs)

    monkeypatch.setattr(services, "send_mail", flaky)
    case_update(case=first_contact.case, actor=agent, status=Case.Status.SOLVED)
    mail.outbox.clear()
    run_tasks()
    runs = queued("notifications_email")
    assert [r.return_value for r in runs] == ["retrying: OSError: SMTP server unreachable", "sent 1"]
    assert len(mail.outbox) == 1
    assert Notification.objects.get(user=other_agent).emailed_at is not None


def test_a_mail_that_keeps_failing_gives_up_but_keeps_the_notification(
    settings, monkeypatch, run_tasks, agent, other_agent, first_contact
):
    settings.TISKI_NOTIFY_EMAIL_BACKOFF_S = 0
    settings.TISKI_NOTIFY_EMAIL_MAX_ATTEMPTS = 3
    other_agent.email = "matti@tiski.example"
    other_agent.save()
    other_agent.agent.notify_by_email = True
    other_agent.agent.save()
    follow(user=other_agent, case=first_contact.case)
    from tiski.notifications import services

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError("SMTP server unreachable")

    monkeypatch.setattr(services, "send_mail", broken)
    case_update(case=first_contact.case, actor=agent, status=Case.Status.SOLVED)
    run_tasks()
    runs = queued("notifications_email")
    assert len(runs) == 3
    assert runs[-1].return_value.startswith("failed:")
    notification = Notification.objects.get(user=other_agent)
    assert notification.emailed_at is None
    assert notification.text == f"Maija set {first_contact.case.reference} to Solved"


def test_a_reply_notifies_followers_when_sent_but_not_its_author(run_tasks, agent, other_agent, first_contact):
    from tiski.cases.services import message_reply

    case = first_contact.case
    follow(user=other_agent, case=case)
    follow(user=agent, case=case)
    message_reply(case=case, actor=agent, body="We will send a new drill.")
    run_tasks()
    assert [n.text for n in notifications_list(user=other_agent)] == [
        f"The reply by Maija on {case.reference} was sent",
        f"Maija assigned {case.reference} to Maija Mäkinen",
        f"Maija set {case.reference} to Open",
    ]
    assert notifications_list(user=agent) == []


def test_a_customer_reopening_a_followed_case_is_told_once_each(receive, run_tasks, agent, other_agent, first_contact):
    case = first_contact.case
    case_update(case=case, actor=agent, status=Case.Status.SOLVED)
    follow(user=other_agent, case=case)
    receive(email="anssi@example.com", name="Anssi Laaksonen", body="Not fixed!", case_reference=case.reference)
    run_tasks()
    assert sorted(n.text for n in notifications_list(user=other_agent)) == sorted(
        [
            f"Anssi Laaksonen wrote on {case.reference} (web form)",
            f"{case.reference} was reopened by the customer's message",
        ]
    )


def test_type_owner_and_team_changes_read_naturally(run_tasks, team_lead, other_agent, first_contact):
    from tiski.accounts.models import Team

    case = first_contact.case
    follow(user=other_agent, case=case)
    team = Team.objects.create(name="Returns")
    case_update(case=case, actor=team_lead, type=Case.Type.COMPLAINT)
    case_update(case=case, actor=team_lead, owner=other_agent)
    case_update(case=case, actor=team_lead, team=team)
    run_tasks()
    assert [n.text for n in reversed(notifications_list(user=other_agent))] == [
        f"Minna changed the type of {case.reference} to Complaint",
        f"Minna assigned {case.reference} to Matti Virtanen",
        f"Minna moved {case.reference} to team Returns",
    ]
