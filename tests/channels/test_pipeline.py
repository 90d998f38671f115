"""The one inbound pipeline: dedupe, identify, thread, store, publish — on the real database."""

from __future__ import annotations

import pytest
from django.db import connection
from django_tasks import task

from tiski import events
from tiski.cases.models import Attachment, Case, CaseEvent, Message
from tiski.channels.exceptions import InboundInvalidError
from tiski.channels.interface import InboundAttachment, InboundMessage, Threading
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.services import message_receive
from tiski.customers.models import Customer, Identity
from tiski.customers.services import Handle

pytestmark = pytest.mark.django_db


def test_first_contact_creates_customer_identity_case_and_message(receive):
    receipt = receive(email="Anssi.Asiakas@Example.COM", name="Anssi Asiakas", external_id="form-1")

    assert receipt.case_created and not receipt.duplicate
    customer = receipt.case.customer
    assert customer.name == "Anssi Asiakas"
    assert list(customer.identities.values_list("kind", "value")) == [("email", "anssi.asiakas@example.com")]
    assert receipt.case.status == Case.Status.NEW
    assert receipt.case.reference == f"TSK-{receipt.case.pk + 1000}"
    assert receipt.message.direction == Message.Direction.IN
    assert receipt.message.identity.value == "anssi.asiakas@example.com"
    assert receipt.case.events.filter(kind=CaseEvent.Kind.CREATED).exists()
    # The message itself is the timeline entry: no second "message received" row per message.
    assert list(receipt.case.events.values_list("kind", flat=True)) == [CaseEvent.Kind.CREATED]


def test_same_external_id_is_stored_once(receive):
    first = receive(external_id="abc")
    again = receive(external_id="abc", body="a retry of the same delivery")

    assert again.duplicate
    assert again.message.pk == first.message.pk
    assert Message.objects.count() == 1
    assert Case.objects.count() == 1


def test_same_external_id_on_another_channel_is_another_message(receive, db):
    other = Channel.objects.create(kind=ChannelKind.WEBFORM, name="Dealer form")
    receive(external_id="abc")
    receipt = receive(external_id="abc", channel=other)
    assert not receipt.duplicate
    assert Message.objects.count() == 2


def test_known_customer_is_recognised_by_the_handle_they_write_from(receive, webform_channel):
    first = receive(email="anssi@example.com")
    receipt = message_receive(
        inbound=InboundMessage(
            channel=webform_channel,
            handles=[Handle("email", "ANSSI@example.com"), Handle("phone", "040 123 4567")],
            body_text="New question",
        )
    )
    assert receipt.case.customer == first.case.customer
    assert Customer.objects.count() == 1
    # The phone number typed into the form is unverified: it is not added to a known customer.
    assert not Identity.objects.filter(kind="phone").exists()


def test_a_new_customer_gets_every_handle_nobody_owns(webform_channel):
    receipt = message_receive(
        inbound=InboundMessage(
            channel=webform_channel,
            handles=[Handle("email", "uusi@example.com"), Handle("phone", "040 123 4567")],
            body_text="Hei",
        )
    )
    assert sorted(receipt.case.customer.identities.values_list("kind", "value")) == [
        ("email", "uusi@example.com"),
        ("phone", "+358401234567"),
    ]


def test_nobody_can_add_their_address_to_another_customer_and_read_the_replies(receive, agent, run_tasks):
    """A visitor types their own email and the victim's phone number into the public form."""
    from django.core import mail

    from tiski.cases.services import message_reply

    victim = receive(email="victim@example.org").case
    Identity.objects.create(customer=victim.customer, kind="phone", value="+358401234567")
    attacker = message_receive(
        inbound=InboundMessage(
            channel=victim.channel,
            handles=[Handle("email", "attacker@evil.example"), Handle("phone", "040 123 4567")],
            body_text="hello",
        )
    )
    assert attacker.case.customer != victim.customer
    assert sorted(victim.customer.identities.values_list("value", flat=True)) == [
        "+358401234567",
        "victim@example.org",
    ]
    message_reply(case=victim, actor=agent, body="Your order is on its way")
    run_tasks()
    # Each new case gets its automatic reply at its own address; the agent's reply goes to the victim alone.
    assert [m.to for m in mail.outbox if "Your order is on its way" in m.body] == [["victim@example.org"]]
    assert sorted(m.to[0] for m in mail.outbox if m.extra_headers["Auto-Submitted"] == "auto-replied") == [
        "attacker@evil.example"  # the victim's case was answered by an agent before its automatic reply ran
    ]
    # And a reference token from the attacker's address does not reach the victim's case.
    follow = receive(email="attacker@evil.example", case_reference=victim.reference, body="more")
    assert follow.case != victim


def test_web_form_contacts_are_new_cases_each_time(receive):
    a = receive(subject="Order late")
    b = receive(subject="Invoice wrong")
    assert a.case != b.case
    assert a.case.customer == b.case.customer


def test_conversation_channels_continue_the_open_case(db):
    chat = Channel.objects.create(kind=ChannelKind.CHAT, name="Web chat")

    def chat_message(text: str, external_id: str):
        return message_receive(
            inbound=InboundMessage(
                channel=chat,
                handles=[Handle("chat", "visitor-42")],
                body_text=text,
                external_id=external_id,
                threading=Threading.CONVERSATION,
            )
        )

    first = chat_message("Hi, which size?", "c1")
    second = chat_message("I am usually M", "c2")
    assert second.case == first.case and not second.case_created
    assert first.case.subject == "Hi, which size?"

    Case.objects.filter(pk=first.case.pk).update(status=Case.Status.CLOSED)
    third = chat_message("Me again next week", "c3")
    assert third.case_created and third.case != first.case


def test_reply_by_reference_token_continues_the_case_for_the_same_customer_only(receive):
    original = receive(email="anssi@example.com", subject="Wrong colour")
    follow_up = receive(email="anssi@example.com", subject="More", case_reference=original.case.reference)
    assert follow_up.case == original.case and not follow_up.case_created

    stranger = receive(email="mallory@example.com", subject="Hijack", case_reference=original.case.reference)
    assert stranger.case != original.case and stranger.case_created


def test_reply_to_a_known_external_id_threads_onto_its_case(receive):
    original = receive(external_id="<m1@example.com>")
    reply = receive(external_id="<m2@example.com>", in_reply_to=["<m1@example.com>"])
    assert reply.case == original.case


@pytest.mark.parametrize("status", [Case.Status.PENDING, Case.Status.SOLVED])
def test_customer_answer_reopens_a_waiting_or_solved_case(receive, status):
    original = receive()
    Case.objects.filter(pk=original.case.pk).update(status=status)
    receive(case_reference=original.case.reference, body="Still broken")
    case = Case.objects.get(pk=original.case.pk)
    assert case.status == Case.Status.OPEN
    assert case.events.filter(kind=CaseEvent.Kind.REOPENED).exists()


def test_answer_to_a_closed_case_opens_a_new_case_linked_to_it(receive):
    original = receive()
    Case.objects.filter(pk=original.case.pk).update(status=Case.Status.CLOSED)
    answer = receive(case_reference=original.case.reference, body="New problem")
    assert answer.case_created and answer.case != original.case
    assert original.case in answer.case.related.all()


def test_html_is_sanitised_before_it_is_stored(receive):
    receipt = receive(body_html='<p onclick="steal()">Hi<script>alert(1)</script><a href="javascript:x">l</a></p>')
    html = receipt.message.body_html
    assert "script" not in html and "onclick" not in html and "javascript" not in html
    assert "Hi" in html


def test_attachments_are_stored_with_checksum_and_size(receive):
    receipt = receive(
        attachments=[InboundAttachment("../../etc/passwd kuitti.pdf", "application/pdf", b"%PDF-1.4 receipt")]
    )
    attachment = Attachment.objects.get(message=receipt.message)
    assert attachment.size == len(b"%PDF-1.4 receipt")
    assert len(attachment.sha256) == 64
    assert "/" not in attachment.filename and ".." not in attachment.filename
    assert attachment.file.read() == b"%PDF-1.4 receipt"


@pytest.mark.parametrize(
    "handles, body, error",
    [
        ([], "text", "sender"),
        ([Handle("email", "anssi@example.com")], "   ", "text"),
        ([Handle("email", "not an address")], "text", "valid email"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error_and_stores_nothing(webform_channel, handles, body, error):
    with pytest.raises((InboundInvalidError, ValueError), match=error):
        message_receive(inbound=InboundMessage(channel=webform_channel, handles=handles, body_text=body))
    assert Message.objects.count() == 0
    assert Customer.objects.count() == 0


def test_message_received_is_published_to_durable_and_live_subscribers(receive, django_capture_on_commit_callbacks):
    from django_tasks_db.models import DBTaskResult

    seen: list[events.MessageReceived] = []
    events.subscribe(events.MessageReceived, seen.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            receipt = receive()
    finally:
        events.unsubscribe(events.MessageReceived, seen.append)
    assert seen == [
        events.MessageReceived(
            message_id=receipt.message.pk,
            case_id=receipt.case.pk,
            case_created=True,
            channel_kind="webform",
            customer_id=receipt.case.customer_id,
            customer_created=True,
        )
    ]
    # A new customer's match suggestions are looked for in the background, and a new case's automatic reply is
    # sent; nothing else wants web-form messages.
    assert [row.task_path.rsplit(".", 1)[-1] for row in DBTaskResult.objects.all()] == [
        "suggestions_refresh_for_contact",
        "autoreply",
    ]


@task()
def on_message(
    message_id: int, case_id: int, case_created: bool, channel_kind: str, customer_id: int, customer_created: bool
) -> None:
    """A durable subscriber for the test below (a real task, enqueued in the real database)."""


def test_durable_subscriber_is_enqueued_in_the_same_transaction(receive):
    from django_tasks_db.models import DBTaskResult

    events.subscribe(events.MessageReceived, on_message)
    try:
        receipt = receive()
    finally:
        events.unsubscribe(events.MessageReceived, on_message)
    [row] = DBTaskResult.objects.filter(task_path__endswith="on_message")
    assert row.args_kwargs["kwargs"] == {
        "message_id": receipt.message.pk,
        "case_id": receipt.case.pk,
        "case_created": True,
        "channel_kind": "webform",
        "customer_id": receipt.case.customer_id,
        "customer_created": True,
    }


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_deliveries_store_one_message(webform_channel):
    """Two workers receive the same provider delivery at once: exactly one message is stored."""
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL (covered in the PostgreSQL pass)")
    import threading

    from django.db import connections

    barrier = threading.Barrier(4)
    results = []
    errors = []

    def deliver() -> None:
        try:
            barrier.wait()
            results.append(
                message_receive(
                    inbound=InboundMessage(
                        channel=webform_channel,
                        handles=[Handle("email", "race@example.com")],
                        body_text="same delivery",
                        external_id="race-1",
                    )
                )
            )
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Message.objects.filter(external_id="race-1").count() == 1
    assert len({r.message.pk for r in results}) == 1
    assert sum(not r.duplicate for r in results) == 1
    assert Customer.objects.count() == 1
