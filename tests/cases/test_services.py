"""Case services: updates, permissions, replies through the outbox, notes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone, translation

from tiski.cases.exceptions import CaseClosedError, CaseInvalidError, CasePermissionError, CaseReplyError
from tiski.cases.models import Case, CaseEvent, Message
from tiski.cases.services import FileIn, case_create, case_update, message_reply, note_add
from tiski.channels.models import Channel, ChannelKind, Delivery
from tiski.channels.outbox import backoff, outbox_attempt, outbox_requeue_stale

pytestmark = pytest.mark.django_db


def test_solving_and_reopening_keeps_timestamps_consistent(receive, agent):
    case = receive().case
    case = case_update(case=case, actor=agent, status=Case.Status.SOLVED)
    assert case.solved_at is not None
    case = case_update(case=case, actor=agent, status=Case.Status.OPEN)
    assert case.solved_at is None
    case = case_update(case=case, actor=agent, status=Case.Status.CLOSED)
    assert case.closed_at is not None and case.solved_at is not None
    kinds = list(case.events.filter(kind=CaseEvent.Kind.STATUS_CHANGED).values_list("data__new", flat=True))
    assert kinds == ["solved", "open", "closed"]


def test_closed_case_is_final(receive, agent):
    case = case_update(case=receive().case, actor=agent, status=Case.Status.CLOSED)
    with pytest.raises(CaseClosedError):
        case_update(case=case, actor=agent, priority=Case.Priority.URGENT)
    with pytest.raises(CaseClosedError):
        message_reply(case=case, actor=agent, body="hello?")


def test_agent_takes_an_unassigned_case_but_cannot_assign_others(receive, agent, other_agent):
    case = receive().case
    case = case_update(case=case, actor=agent, owner=agent)
    assert case.owner == agent
    with pytest.raises(CasePermissionError, match="team lead"):
        case_update(case=case, actor=agent, owner=other_agent)
    with pytest.raises(CasePermissionError):
        case_update(case=case, actor=other_agent, owner=other_agent)  # taking it from a colleague


def test_team_lead_assigns_to_anyone_and_moves_teams(receive, team_lead, agent):
    from tiski.accounts.models import Team

    billing = Team.objects.create(name="Laskutus")
    case = case_update(case=receive().case, actor=team_lead, owner=agent, team=billing)
    assert (case.owner, case.team) == (agent, billing)
    assert case.events.filter(kind=CaseEvent.Kind.ASSIGNED, data__new="Maija Mäkinen").exists()


def test_agent_cannot_move_cases_between_teams(receive, agent):
    from tiski.accounts.models import Team

    with pytest.raises(CasePermissionError):
        case_update(case=receive().case, actor=agent, team=Team.objects.create(name="Huolto"))


def test_user_without_role_cannot_touch_cases(receive, django_user_model):
    outsider = django_user_model.objects.create_user(username="outsider", password="x")
    case = receive().case
    with pytest.raises(CasePermissionError):
        case_update(case=case, actor=outsider, status=Case.Status.SOLVED)
    with pytest.raises(CasePermissionError):
        message_reply(case=case, actor=outsider, body="hi")
    with pytest.raises(CasePermissionError):
        note_add(case=case, actor=outsider, body="hi")


def test_cases_cannot_be_given_to_non_agents(receive, team_lead, django_user_model):
    outsider = django_user_model.objects.create_user(username="outsider", password="x")
    with pytest.raises(CaseInvalidError, match="not an agent"):
        case_update(case=receive().case, actor=team_lead, owner=outsider)


@pytest.mark.parametrize("change", [{"status": "bogus"}, {"priority": 9}, {"subject": "  "}, {"type": "x"}])
def test_invalid_changes_are_refused(receive, agent, change):
    with pytest.raises(CaseInvalidError):
        case_update(case=receive().case, actor=agent, **change)


def test_tags_are_normalised_and_recorded(receive, agent):
    case = case_update(case=receive().case, actor=agent, tags=["Toimitus", "toimitus", "Wrong Colour"])
    assert sorted(case.tags.values_list("name", flat=True)) == ["toimitus", "wrong-colour"]


def test_reply_is_queued_with_its_outbox_row_then_sent_by_the_worker(receive, agent, run_tasks):
    case = receive(email="anssi@example.com", subject="Shirt size").case
    message = message_reply(
        case=case, actor=agent, body="Size M fits you.", files=[FileIn("koko.txt", "text/plain", b"M")]
    )
    assert message.delivery_status == Message.Delivery.QUEUED
    assert Delivery.objects.get(message=message).status == Delivery.Status.PENDING
    case.refresh_from_db()
    assert case.first_response_at is not None
    assert case.owner == agent  # who answers first owns it
    assert case.status == Case.Status.OPEN
    assert mail.outbox == []  # nothing leaves before the worker runs

    run_tasks()

    message.refresh_from_db()
    assert message.delivery_status == Message.Delivery.SENT
    assert message.external_id and message.external_id.startswith("<")
    [sent] = mail.outbox
    assert sent.to == ["anssi@example.com"]
    assert sent.subject == f"[{case.reference}] Re: Shirt size"
    assert "Size M fits you." in sent.body
    assert sent.attachments[0][0] == "koko.txt"
    assert case.events.filter(kind=CaseEvent.Kind.REPLY_SENT).exists()


def test_reply_can_set_the_status_after(receive, agent):
    case = receive().case
    message_reply(case=case, actor=agent, body="Does this help?", status_after=Case.Status.PENDING)
    case.refresh_from_db()
    assert case.status == Case.Status.PENDING


def test_reply_without_a_reachable_handle_is_refused(agent, webform_channel, db):
    from tiski.channels.interface import InboundMessage
    from tiski.channels.services import message_receive
    from tiski.customers.services import Handle

    receipt = message_receive(
        inbound=InboundMessage(channel=webform_channel, handles=[Handle("phone", "+358401234567")], body_text="hi")
    )
    with pytest.raises(CaseReplyError, match="no address"):
        message_reply(case=receipt.case, actor=agent, body="hello")


def test_reply_on_a_phone_case_says_it_is_answered_by_calling(agent, db):
    from tiski.customers.models import Customer

    phone = Channel.objects.create(kind=ChannelKind.PHONE, name="Phone")  # calls are answered by calling back
    case = case_create(customer=Customer.objects.create(name="Anssi"), subject="Called", actor=agent, channel=phone)
    with translation.override("en"), pytest.raises(CaseReplyError, match="cannot be sent from Tiski"):
        message_reply(case=case, actor=agent, body="Thanks!")
    assert not Message.objects.filter(direction="out").exists()


def test_empty_reply_and_note_are_refused(receive, agent):
    case = receive().case
    with pytest.raises(CaseReplyError):
        message_reply(case=case, actor=agent, body="  \n")
    with pytest.raises(CaseInvalidError):
        note_add(case=case, actor=agent, body="")


def test_note_is_internal_and_on_the_timeline(receive, agent, run_tasks):
    case = receive().case
    run_tasks()
    mail.outbox.clear()  # the new case's automatic reply
    note = note_add(case=case, actor=agent, body="Customer called, wants a refund")
    run_tasks()
    assert mail.outbox == []
    assert case.events.filter(kind=CaseEvent.Kind.NOTE_ADDED, data__note_id=note.pk).exists()


def test_case_create_with_description_stores_the_first_message(agent, webform_channel):
    from tiski.customers.models import Customer

    customer = Customer.objects.create(name="Anssi")
    case = case_create(
        customer=customer, subject="From CRM", actor=agent, channel=webform_channel, description="Details"
    )
    assert case.messages.get().body_text == "Details"
    with pytest.raises(CaseInvalidError, match="channel"):
        case_create(customer=customer, subject="No channel", actor=agent, description="Details")


class _RelayDown(Exception):
    pass


def test_failed_delivery_is_retried_with_backoff_then_fails_after_max_attempts(receive, agent, settings, monkeypatch):
    """The relay is unreachable (a closed port on loopback): attempts back off, then the message fails."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _closed_port(), 2
    settings.TISKI_OUTBOX_MAX_ATTEMPTS = 3
    message = message_reply(case=receive().case, actor=agent, body="Hello")
    delivery = Delivery.objects.get(message=message)

    assert outbox_attempt(delivery_id=delivery.pk) == Delivery.Status.PENDING
    delivery.refresh_from_db()
    message.refresh_from_db()
    assert delivery.attempts == 1
    assert message.delivery_status == Message.Delivery.RETRYING
    assert "could not take the message" in message.delivery_error
    assert delivery.next_attempt_at > timezone.now() + backoff(1) - timedelta(seconds=5)

    assert outbox_attempt(delivery_id=delivery.pk) == "skipped"  # not due yet
    for _ in range(2):
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        outbox_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    message.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.FAILED, 3)
    assert message.delivery_status == Message.Delivery.FAILED
    assert message.case.events.filter(kind=CaseEvent.Kind.DELIVERY_FAILED).exists()


def test_backoff_doubles_and_is_capped(settings):
    settings.TISKI_OUTBOX_BACKOFF_S = 30
    assert [backoff(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    assert backoff(50) == timedelta(hours=6)


def test_deliveries_of_a_dead_worker_are_requeued(receive, agent, run_tasks):
    from django_tasks_db.models import DBTaskResult

    message = message_reply(case=receive().case, actor=agent, body="Hello")
    DBTaskResult.objects.all().delete()  # the worker died with the task
    Delivery.objects.filter(message=message).update(
        status=Delivery.Status.SENDING, claimed_at=timezone.now() - timedelta(hours=1)
    )
    assert outbox_requeue_stale() == 1
    run_tasks()
    message.refresh_from_db()
    assert message.delivery_status == Message.Delivery.SENT
    assert len(mail.outbox) == 1


def test_a_delivery_is_sent_once_even_if_enqueued_twice(receive, agent, run_tasks):
    from tiski.channels.tasks import outbox_deliver

    message = message_reply(case=receive().case, actor=agent, body="Hello")
    outbox_deliver.enqueue(delivery_id=message.delivery.pk)
    run_tasks()
    assert len(mail.outbox) == 1


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_new_case_from_a_message_copies_it_and_links_both_ways(receive, agent):
    from tiski.cases.services import case_split
    from tiski.channels.interface import InboundAttachment

    old = receive(subject="Tilaus 1001").case
    later = receive(
        case_reference=old.reference,
        body="Ja toinen asia: laskuni on väärin.",
        attachments=[InboundAttachment("lasku.pdf", "application/pdf", b"%PDF lasku")],
    )
    assert later.case == old
    case_update(case=old, actor=agent, status=Case.Status.CLOSED)  # works on closed cases too

    new = case_split(message=later.message, actor=agent, subject="Lasku väärin", type=Case.Type.PROBLEM)

    assert (new.subject, new.type, new.customer) == ("Lasku väärin", "problem", old.customer)
    assert list(new.related.all()) == [old] and list(old.related.all()) == [new]
    [copy] = new.messages.all()
    assert copy.body_text == later.message.body_text and copy.created_at == later.message.created_at
    assert copy.attachments.get().file.read() == b"%PDF lasku"
    assert old.events.filter(kind=CaseEvent.Kind.SPLIT, data__new=new.reference).exists()
    assert new.events.filter(kind=CaseEvent.Kind.CREATED, data__split_from=old.reference).exists()
    assert old.messages.count() == 2  # the original stays where it arrived


def test_split_needs_an_agent_and_a_known_type(receive, agent, django_user_model):
    from tiski.cases.services import case_split

    message = receive().message
    with pytest.raises(CaseInvalidError):
        case_split(message=message, actor=agent, type="nonsense")
    with pytest.raises(CasePermissionError):
        case_split(message=message, actor=django_user_model.objects.create_user(username="x", password="y"))


def test_an_agent_cannot_take_a_colleagues_case_by_unassigning_it_first(receive, team_lead, agent, other_agent):
    case = case_update(case=receive().case, actor=team_lead, owner=other_agent)
    with pytest.raises(CasePermissionError):
        case_update(case=case, actor=agent, owner=None)
    assert case_update(case=case, actor=other_agent, owner=None).owner is None  # one's own: fine


def test_a_delivery_left_sending_by_a_crash_is_retried_once_its_claim_is_stale(receive, agent, run_tasks):
    from django_tasks_db.models import DBTaskResult

    message = message_reply(case=receive().case, actor=agent, body="Hello")
    DBTaskResult.objects.all().delete()  # the worker died with the task, a minute ago, mid-send
    Delivery.objects.filter(message=message).update(
        status=Delivery.Status.SENDING, claimed_at=timezone.now() - timedelta(minutes=1)
    )
    assert outbox_requeue_stale() == 1  # the worker came back quickly: still queued, for later
    run_tasks()
    assert mail.outbox == []  # not yet: the claim might still be alive
    Delivery.objects.filter(message=message).update(claimed_at=timezone.now() - timedelta(hours=1))
    DBTaskResult.objects.update(run_after=timezone.now())
    run_tasks()
    message.refresh_from_db()
    assert message.delivery_status == Message.Delivery.SENT
    assert len(mail.outbox) == 1
