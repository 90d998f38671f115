"""email_receive(): every inbound path ends here. Threading, policies, quarantine, bounces, acknowledgements."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from django.core import mail
from django.utils import timezone

from tiski.cases.models import Case, CaseEvent, Message
from tiski.cases.services import case_update, message_reply
from tiski.channels.email.inbound import Outcome, email_receive, quarantine_reprocess
from tiski.channels.models import Channel, ChannelKind, QuarantinedMail
from tiski.customers.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def mailbox(db):
    return Channel.objects.create(
        kind=ChannelKind.EMAIL,
        name="Support",
        address="tuki@pyora.example",
        config={"aliases": ["support@pyora.example"]},
    )


def mail_bytes(
    *,
    sender: str = "Anssi Asiakas <anssi@example.com>",
    subject: str = "Paita väärän värinen",
    body: str = "Tilasin sinisen paidan, sain punaisen.",
    message_id: str | None = None,
    **headers: str,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "tuki@pyora.example"
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or make_msgid(domain="example.com")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes()


def test_new_mail_opens_a_case_with_the_visible_text_and_keeps_the_rest(mailbox):
    raw = mail_bytes(body="Missä tilaukseni on?\n\nla 12.10.2024 klo 14.03 Tuki <tuki@pyora.example> kirjoitti:\n> Hei")
    result = email_receive(raw=raw, mailbox=mailbox, source="test")
    assert result.outcome is Outcome.STORED
    message = result.receipt.message
    assert message.body_text == "Missä tilaukseni on?"
    assert "kirjoitti" in message.full_text
    assert bytes(message.raw) == raw
    assert message.case.subject == "Paita väärän värinen"
    assert message.case.customer.name == "Anssi Asiakas"


def test_same_message_id_twice_is_stored_once(mailbox):
    raw = mail_bytes(message_id="<once@example.com>")
    assert email_receive(raw=raw, mailbox=mailbox).outcome is Outcome.STORED
    assert email_receive(raw=raw, mailbox=mailbox).outcome is Outcome.DUPLICATE
    assert Message.objects.count() == 1


def test_mail_without_message_id_is_deduplicated_by_its_bytes(mailbox):
    raw = b"From: anssi@example.com\r\nSubject: no id\r\n\r\nhello\r\n"
    email_receive(raw=raw, mailbox=mailbox)
    assert email_receive(raw=raw, mailbox=mailbox).outcome is Outcome.DUPLICATE


def test_reply_threads_by_in_reply_to_to_our_own_message(mailbox, agent, run_tasks):
    first = email_receive(raw=mail_bytes(), mailbox=mailbox).receipt
    reply = message_reply(case=first.case, actor=agent, body="Lähetämme uuden.")
    run_tasks()
    reply.refresh_from_db()
    answer = mail_bytes(subject="Re: whatever", **{"In_Reply_To": reply.external_id, "References": reply.external_id})
    assert email_receive(raw=answer, mailbox=mailbox).receipt.case == first.case


def test_reply_threads_by_references_when_in_reply_to_is_unknown(mailbox):
    first = email_receive(raw=mail_bytes(message_id="<m1@example.com>"), mailbox=mailbox).receipt
    answer = mail_bytes(In_Reply_To="<unknown@example.com>", References="<m1@example.com> <unknown@example.com>")
    assert email_receive(raw=answer, mailbox=mailbox).receipt.case == first.case


def test_reply_threads_by_the_reference_token_in_the_subject(mailbox):
    first = email_receive(raw=mail_bytes(), mailbox=mailbox).receipt
    answer = mail_bytes(subject=f"VS: [{first.case.reference}] Paita")
    assert email_receive(raw=answer, mailbox=mailbox).receipt.case == first.case


def test_of_several_tokens_in_the_subject_the_senders_own_case_wins(mailbox):
    someone_elses = email_receive(raw=mail_bytes(sender="Olli <olli@example.com>"), mailbox=mailbox).receipt.case
    first = email_receive(raw=mail_bytes(), mailbox=mailbox).receipt
    forwarded = f"Re: [{someone_elses.reference}] Fw: [{first.case.reference}] Paita"
    assert email_receive(raw=mail_bytes(subject=forwarded), mailbox=mailbox).receipt.case == first.case
    stranger = mail_bytes(subject=forwarded, sender="Mallory <mallory@example.com>")
    assert email_receive(raw=stranger, mailbox=mailbox).receipt.case_created  # neither case is theirs


def test_reply_to_a_solved_case_reopens_it_for_its_owner(mailbox, agent):
    first = email_receive(raw=mail_bytes(message_id="<s1@example.com>"), mailbox=mailbox).receipt
    case_update(case=first.case, actor=agent, owner=agent, status=Case.Status.SOLVED)
    again = email_receive(raw=mail_bytes(In_Reply_To="<s1@example.com>"), mailbox=mailbox).receipt
    case = Case.objects.get(pk=first.case.pk)
    assert again.case == case and case.status == Case.Status.OPEN and case.owner == agent


def test_reply_to_a_case_solved_long_ago_opens_a_linked_case(mailbox, agent):
    mailbox.config = {"reopen_days": 7}
    mailbox.save()
    first = email_receive(raw=mail_bytes(message_id="<old@example.com>"), mailbox=mailbox).receipt
    case_update(case=first.case, actor=agent, status=Case.Status.SOLVED)
    Case.objects.filter(pk=first.case.pk).update(solved_at=timezone.now() - timedelta(days=8))
    again = email_receive(raw=mail_bytes(In_Reply_To="<old@example.com>"), mailbox=mailbox).receipt
    assert again.case_created and first.case in again.case.related.all()


def test_reply_to_a_closed_case_opens_a_linked_case(mailbox, agent):
    first = email_receive(raw=mail_bytes(message_id="<c@example.com>"), mailbox=mailbox).receipt
    case_update(case=first.case, actor=agent, status=Case.Status.CLOSED)
    again = email_receive(raw=mail_bytes(In_Reply_To="<c@example.com>"), mailbox=mailbox).receipt
    assert again.case_created and first.case in again.case.related.all()


def test_agent_forward_is_stored_as_from_the_original_sender(mailbox, agent):
    agent.email = "maija@pyora.example"
    agent.save()
    body = (
        "Voitko katsoa tätä?\n\n---------- Forwarded message ---------\n"
        "From: Anssi Asiakas <anssi@example.com>\nDate: Mon, 14 Oct 2024\nSubject: Paita\n\nSain väärän värin."
    )
    result = email_receive(
        raw=mail_bytes(sender="Maija <maija@pyora.example>", subject="Fwd: Paita", body=body), mailbox=mailbox
    )
    case = result.receipt.case
    assert case.customer.identities.get().value == "anssi@example.com"
    assert case.subject == "Paita"
    assert "Sain väärän värin." in result.receipt.message.body_text


def test_unreadable_mail_is_quarantined_and_can_be_reprocessed(mailbox):
    result = email_receive(raw=b"From: nobody\r\nSubject: x\r\n\r\nhello", mailbox=mailbox, source="imap")
    assert result.outcome is Outcome.QUARANTINED
    item = QuarantinedMail.objects.get()
    assert "sender address" in item.reason and bytes(item.raw).startswith(b"From: nobody")
    assert Message.objects.count() == 0
    # An administrator fixes the cause (here: the bytes) and re-processes it.
    item.raw = b"From: somebody@example.com\r\nSubject: x\r\n\r\nhello"
    item.save()
    assert quarantine_reprocess(item=item).outcome is Outcome.STORED
    item.refresh_from_db()
    assert item.resolved_at is not None and item.message is not None


def test_oversized_mail_is_quarantined_not_lost(mailbox):
    mailbox.config = {"max_bytes": 100}
    mailbox.save()
    assert email_receive(raw=mail_bytes(body="x" * 500), mailbox=mailbox).outcome is Outcome.QUARANTINED


def test_mail_from_our_own_address_is_a_loop_and_quarantined(mailbox):
    assert email_receive(raw=mail_bytes(sender="support@pyora.example"), mailbox=mailbox).outcome is Outcome.QUARANTINED


def test_bounce_marks_the_message_that_bounced(mailbox, agent, run_tasks):
    first = email_receive(raw=mail_bytes(), mailbox=mailbox).receipt
    reply = message_reply(case=first.case, actor=agent, body="Hei")
    run_tasks()
    reply.refresh_from_db()
    bounce = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\nTo: tuki@pyora.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nThe mail system: <anssi@example.com>: user unknown\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n\r\n"
        "Final-Recipient: rfc822; anssi@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        "--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {reply.external_id}\r\nSubject: x\r\n\r\n--b--\r\n"
    ).encode()
    assert email_receive(raw=bounce, mailbox=mailbox).outcome is Outcome.BOUNCE
    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.BOUNCED
    assert "user unknown" in reply.delivery_error
    assert first.case.events.filter(kind=CaseEvent.Kind.DELIVERY_FAILED, data__bounce=True).exists()
    assert Case.objects.count() == 1  # a bounce never opens a case


def test_new_email_case_is_acknowledged_with_reference_and_response_time(mailbox, run_tasks):
    result = email_receive(raw=mail_bytes(), mailbox=mailbox)
    Customer.objects.filter(pk=result.receipt.case.customer_id).update(language="fi")
    run_tasks()  # the acknowledgement task, then its delivery
    run_tasks()
    [ack] = mail.outbox
    reference = result.receipt.case.reference
    assert ack.to == ["anssi@example.com"]
    assert ack.from_email == "tuki@pyora.example"
    assert reference in ack.subject and reference in ack.body
    # Finnish, with the due time of the first-response target (8 business hours: never "within minutes")
    assert "vastaamme viimeistään" in ack.body and " klo " in ack.body
    assert ack.extra_headers["Auto-Submitted"] == "auto-replied"
    stored = Message.objects.get(author=Message.Author.SYSTEM)
    assert stored.delivery_status == Message.Delivery.SENT


def test_replies_to_a_case_are_not_acknowledged_again(mailbox, run_tasks):
    first = email_receive(raw=mail_bytes(), mailbox=mailbox).receipt
    email_receive(raw=mail_bytes(subject=f"Re: [{first.case.reference}]"), mailbox=mailbox)
    run_tasks()
    run_tasks()
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    "headers",
    [{"Auto_Submitted": "auto-replied"}, {"Precedence": "bulk"}, {"sender": "noreply@shop.example"}],
)
def test_automatic_mail_is_stored_but_never_acknowledged(mailbox, run_tasks, headers):
    result = email_receive(raw=mail_bytes(**headers), mailbox=mailbox)
    assert result.outcome is Outcome.STORED
    run_tasks()
    run_tasks()
    assert mail.outbox == []


def test_acknowledgements_per_sender_are_rate_limited(mailbox, run_tasks):
    for n in range(5):
        email_receive(raw=mail_bytes(subject=f"Asia {n}"), mailbox=mailbox)
        run_tasks()
        run_tasks()
    assert len(mail.outbox) == 3
    assert Case.objects.count() == 5


def test_acknowledgements_can_be_turned_off(mailbox, run_tasks):
    mailbox.config = {"acknowledge": False}
    mailbox.save()
    email_receive(raw=mail_bytes(), mailbox=mailbox)
    run_tasks()
    assert mail.outbox == []


def test_agent_reply_leaves_from_the_mailbox_threaded(mailbox, agent, run_tasks):
    first = email_receive(raw=mail_bytes(message_id="<q@example.com>"), mailbox=mailbox).receipt
    mailbox.config = {"acknowledge": False}
    mailbox.save()
    message_reply(case=first.case, actor=agent, body="Uusi paita on matkalla.")
    run_tasks()
    [sent] = mail.outbox
    assert sent.from_email.endswith("<tuki@pyora.example>")
    assert sent.extra_headers["In-Reply-To"] == "<q@example.com>"
    assert f"[{first.case.reference}]" in sent.subject


def test_a_mailbox_has_its_own_acknowledgement_text_per_language(mailbox, run_tasks):
    mailbox.config = {
        "acknowledgement_texts": {"en": "Hi $name, we got it ($reference). Answer in $hours h. $unknown stays."},
        "response_hours": {"normal": 4},
    }
    mailbox.save()
    case = email_receive(raw=mail_bytes(), mailbox=mailbox).receipt.case
    run_tasks()
    run_tasks()
    [ack] = mail.outbox
    assert ack.body.startswith(f"Hi Anssi Asiakas, we got it ({case.reference}). Answer in 4 h. $unknown stays.")


def test_a_language_without_its_own_text_gets_the_built_in_one(mailbox, run_tasks):
    mailbox.config = {"acknowledgement_texts": {"en": "Own English text $reference"}}
    mailbox.save()
    case = email_receive(raw=mail_bytes(), mailbox=mailbox).receipt.case
    Customer.objects.filter(pk=case.customer_id).update(language="fi")
    run_tasks()
    run_tasks()
    [ack] = mail.outbox
    assert "Kiitos viestistäsi" in ack.body and "Own English" not in ack.body


def test_an_absurdly_long_message_id_is_replaced_by_the_digest_and_stored_once(mailbox):
    raw = mail_bytes(message_id="<" + "x" * 600 + "@example.com>")
    first = email_receive(raw=raw, mailbox=mailbox)
    assert first.outcome is Outcome.STORED
    assert first.receipt.message.external_id.startswith("<sha256-")
    assert email_receive(raw=raw, mailbox=mailbox).outcome is Outcome.DUPLICATE


def test_nul_characters_in_subject_and_body_are_dropped_not_fatal(mailbox):
    raw = (
        b"From: anssi@example.com\r\nSubject: =?utf-8?q?hi=00there?=\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"Hei=00 maailma\r\n"
    )
    result = email_receive(raw=raw, mailbox=mailbox)
    assert result.outcome is Outcome.STORED
    assert result.receipt.case.subject == "hithere"
    assert result.receipt.message.body_text == "Hei maailma"


def test_attachment_names_longer_than_the_file_system_allows_are_shortened(mailbox):
    msg = EmailMessage()
    msg["From"] = "anssi@example.com"
    msg["Subject"] = "Pitkä nimi"
    msg.set_content("Liitteenä")
    msg.add_attachment(b"%PDF", maintype="application", subtype="pdf", filename="ä" * 150 + ".pdf")
    msg.add_attachment(b"data", maintype="application", subtype="octet-stream", filename="..")
    result = email_receive(raw=msg.as_bytes(), mailbox=mailbox)
    assert result.outcome is Outcome.STORED
    long_name, dots = result.receipt.message.attachments.order_by("pk")
    assert long_name.filename.endswith(".pdf") and len(long_name.filename.encode()) <= 200
    assert long_name.file.read() == b"%PDF"
    assert dots.filename == "attachment"


def test_a_mail_the_database_cannot_take_is_quarantined_never_lost(mailbox):
    """A 400-character sender address fits no identity column on PostgreSQL: keep the mail, do not fail."""
    result = email_receive(raw=mail_bytes(sender="a" * 400 + "@example.com"), mailbox=mailbox)
    assert result.outcome in (Outcome.STORED, Outcome.QUARANTINED)
    if result.outcome is Outcome.QUARANTINED:
        assert QuarantinedMail.objects.get().reason.startswith("the mail could not be stored")


def test_an_email_answer_to_a_web_form_reply_threads_by_in_reply_to(mailbox, receive, agent, run_tasks):
    case = receive(email="anssi@example.com").case  # from the web form
    reply = message_reply(case=case, actor=agent, body="Kokoa M.")
    run_tasks()
    reply.refresh_from_db()
    answer = mail_bytes(subject="Re: koko (the client dropped the tag)", In_Reply_To=reply.external_id)
    assert email_receive(raw=answer, mailbox=mailbox).receipt.case == case
