"""Automatic replies to new cases, through the real pipeline, task worker and outbox: the text for opening hours or
for when the business calendar is closed (a Saturday, a public holiday, after 16:00), the due time of the
first-response target phrased in the customer's language, on email (a real SMTP server), SMS (the Twilio
simulator), WhatsApp (the Graph API simulator) and chat (the widget's notice), and the guards: automatic mail, a
sender's hourly limit, a reply turned off, the mailbox's own settings."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.test import Client
from django.utils import translation

from tests.channels.chat.conftest import chat_channel, chat_queue, online  # noqa: F401  (fixtures)
from tests.channels.meta.conftest import PHONE_NUMBER_ID, deliver, meta, meta_env, whatsapp  # noqa: F401
from tests.channels.sms.fixtures import CUSTOMER, OUR_NUMBER, sms_channel, twilio  # noqa: F401  (fixtures)
from tests.channels.test_email_delivery import SMTPServer, smtp  # noqa: F401  (fixtures)
from tiski.cases.models import Case, CaseEvent, Message
from tiski.cases.services import message_reply
from tiski.channels.chat.services import chat_message_post, chat_session_start
from tiski.channels.email.inbound import email_receive
from tiski.channels.interface import InboundMessage, Threading
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.services import Receipt, message_receive
from tiski.customers.models import Customer
from tiski.customers.services import Handle
from tiski.simulators.meta import MetaSimulator
from tiski.simulators.twilio import TwilioSimulator, new_sid
from tiski.sla.autoreplies import WRITTEN, autoreply_send, due_phrase, opens_phrase
from tiski.sla.models import AutoReply, SlaClock
from tiski.sla.services import clocks_on_contact

pytestmark = pytest.mark.django_db

HELSINKI = ZoneInfo("Europe/Helsinki")
MONDAY_10 = datetime(2026, 11, 16, 10, 0, tzinfo=HELSINKI)  # open (Mon–Fri 8–16)
MONDAY_17 = datetime(2026, 11, 16, 17, 0, tzinfo=HELSINKI)  # closed: after 16:00
SATURDAY = datetime(2026, 11, 21, 12, 0, tzinfo=HELSINKI)  # closed: the weekend
EPIPHANY = datetime(2027, 1, 6, 10, 0, tzinfo=HELSINKI)  # closed: a Wednesday, a Finnish public holiday


def received_at(receipt: Receipt, at: datetime) -> None:
    """Make RECEIPT's message one that arrived AT: its time and the clocks it started (before the reply is sent)."""
    Message.objects.filter(pk=receipt.message.pk).update(created_at=at)
    SlaClock.objects.filter(case=receipt.case).delete()
    clocks_on_contact(message_id=receipt.message.pk, case_id=receipt.case.pk, case_created=True)


def language_set(receipt: Receipt, language: str) -> None:
    Customer.objects.filter(pk=receipt.case.customer_id).update(language=language)


def automatic(case: Case) -> list[Message]:
    return list(case.messages.filter(author=Message.Author.SYSTEM).order_by("pk"))


# --- the moment, said to the customer --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("due", "english", "finnish"),
    [
        (MONDAY_10 + timedelta(minutes=2), "within 2 minutes", "2 minuutin kuluessa"),
        (MONDAY_10 + timedelta(seconds=30), "within 1 minute", "1 minuutin kuluessa"),
        (MONDAY_10 + timedelta(minutes=60), "within 60 minutes", "60 minuutin kuluessa"),
        (MONDAY_10.replace(hour=14, minute=30), "by 14:30 today", "viimeistään tänään klo 14.30"),
        (MONDAY_10 + timedelta(days=1), "by 10:00 tomorrow", "viimeistään huomenna klo 10.00"),
        (SATURDAY.replace(hour=9, minute=5), "by Saturday 21.11. at 9:05", "viimeistään lauantaina 21.11. klo 9.05"),
        (EPIPHANY, "by 6.1.2027 at 10:00", "viimeistään 6.1.2027 klo 10.00"),
    ],
)
def test_the_due_time_is_said_as_a_person_would_in_english_and_finnish(
    due: datetime, english: str, finnish: str
) -> None:
    with translation.override("en"):
        assert due_phrase(due=due, at=MONDAY_10, zone=HELSINKI) == english
    with translation.override("fi"):
        assert due_phrase(due=due, at=MONDAY_10, zone=HELSINKI) == finnish


def test_the_due_time_is_said_in_the_calendars_time_zone() -> None:
    due = datetime(2026, 11, 16, 14, 30, tzinfo=HELSINKI)
    with translation.override("en"):
        assert due_phrase(due=due, at=MONDAY_10, zone=ZoneInfo("Europe/Stockholm")) == "by 13:30 today"


def test_the_opening_time_is_said_as_a_person_would_in_english_and_finnish() -> None:
    monday_8 = datetime(2026, 11, 23, 8, 0, tzinfo=HELSINKI)
    with translation.override("en"):
        assert opens_phrase(opens=monday_8, at=SATURDAY, zone=HELSINKI) == "on Monday 23.11. at 8:00"
        assert opens_phrase(opens=monday_8, at=monday_8 - timedelta(hours=2), zone=HELSINKI) == "today at 8:00"
        assert opens_phrase(opens=monday_8, at=monday_8 - timedelta(hours=12), zone=HELSINKI) == "tomorrow at 8:00"
    with translation.override("fi"):
        assert opens_phrase(opens=monday_8, at=SATURDAY, zone=HELSINKI) == "maanantaina 23.11. klo 8.00"
        assert opens_phrase(opens=monday_8, at=monday_8 - timedelta(days=30), zone=HELSINKI) == "23.11.2026 klo 8.00"


# --- email through a real SMTP server ---------------------------------------------------------------------------


@pytest.fixture
def mailbox(db: None) -> Channel:
    return Channel.objects.create(kind=ChannelKind.EMAIL, name="Support", address="tuki@pyora.example")


def mail_bytes(*, sender: str = "Anssi Asiakas <anssi@example.com>", subject: str = "Paita", **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "tuki@pyora.example"
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="example.com")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("Tilasin sinisen paidan, sain punaisen.")
    return msg.as_bytes()


def email_at(mailbox: Channel, at: datetime, language: str = "", **kwargs: str) -> Receipt:
    receipt = email_receive(raw=mail_bytes(**kwargs), mailbox=mailbox).receipt
    assert receipt is not None
    received_at(receipt, at)
    if language:
        language_set(receipt, language)
    return receipt


@pytest.mark.parametrize(
    ("at", "language", "expected"),
    [
        pytest.param(
            MONDAY_10,
            "en",
            "Thank you for your message. We have received it and will answer by 10:00 tomorrow.",
            id="open",
        ),
        pytest.param(
            SATURDAY,
            "en",
            "Our customer service is closed right now and opens on Monday 23.11. at 8:00; we will answer by Monday "
            "23.11. at 16:00.",
            id="saturday",
        ),
        pytest.param(
            SATURDAY,
            "fi",
            "Asiakaspalvelumme on nyt kiinni ja palvelee taas maanantaina 23.11. klo 8.00; vastaamme viimeistään "
            "maanantaina 23.11. klo 16.00.",
            id="saturday-fi",
        ),
        pytest.param(
            EPIPHANY,
            "fi",
            "Asiakaspalvelumme on nyt kiinni ja palvelee taas huomenna klo 8.00; vastaamme viimeistään huomenna klo "
            "16.00.",
            id="holiday-fi",
        ),
        pytest.param(
            MONDAY_17,
            "en",
            "Our customer service is closed right now and opens tomorrow at 8:00; we will answer by 16:00 tomorrow.",
            id="after-16",
        ),
    ],
)
def test_a_new_email_case_is_told_the_due_time_of_its_first_response_in_or_outside_opening_hours(
    smtp: SMTPServer,  # noqa: F811
    mailbox: Channel,
    run_tasks: Callable[[], None],
    at: datetime,
    language: str,
    expected: str,
) -> None:
    receipt = email_at(mailbox, at, language)
    run_tasks()  # the automatic reply, then its delivery
    run_tasks()

    [envelope] = smtp.mailbox.envelopes
    assert envelope.rcpt_tos == ["anssi@example.com"]
    sent = smtp.mailbox.parsed()
    assert sent["Auto-Submitted"] == "auto-replied"  # the customer's own autoresponder stays quiet
    assert sent["X-Auto-Response-Suppress"] == "All"
    text = " ".join(sent.get_body(("plain",)).get_content().split())  # type: ignore[union-attr]
    assert expected in text
    assert receipt.case.reference in text
    assert text.startswith("Hello Anssi," if language == "en" else "Hei Anssi,")
    [reply] = automatic(receipt.case)
    assert reply.delivery_status == Message.Delivery.SENT and reply.direction == Message.Direction.OUT
    event = CaseEvent.objects.get(case=receipt.case, kind=CaseEvent.Kind.REPLY_QUEUED)
    assert event.data["automatic"] is True and event.data["message_id"] == reply.pk and event.actor is None


def test_a_web_form_case_is_answered_by_email_from_the_forms_address(
    receive: Callable[..., Receipt], run_tasks: Callable[[], None]
) -> None:
    receipt = receive(email="anssi@example.com")
    received_at(receipt, MONDAY_17)
    language_set(receipt, "fi")
    run_tasks()
    run_tasks()
    [sent] = mail.outbox
    assert sent.to == ["anssi@example.com"] and "support@shop.example" in sent.from_email
    assert "palvelee taas huomenna klo 8.00; vastaamme viimeistään huomenna klo 16.00." in " ".join(sent.body.split())


@pytest.mark.parametrize(
    "headers",
    [{"Auto_Submitted": "auto-replied"}, {"Precedence": "bulk"}, {"sender": "noreply@shop.example"}],
)
def test_automatic_mail_gets_no_automatic_reply(
    mailbox: Channel, run_tasks: Callable[[], None], headers: dict[str, str]
) -> None:
    receipt = email_at(mailbox, MONDAY_10, **headers)
    run_tasks()
    run_tasks()
    assert mail.outbox == []
    assert automatic(receipt.case) == []


def test_no_reply_senders_and_our_own_addresses_get_none(mailbox: Channel, receive: Callable[..., Receipt]) -> None:
    no_reply = email_at(mailbox, MONDAY_10, sender="no-reply@shop.example")
    ours = receive(email="support@shop.example")  # the web form's own address typed into the form
    assert autoreply_send(message_id=no_reply.message.pk, case_created=True) == "skipped: a no-reply sender"
    assert autoreply_send(message_id=ours.message.pk, case_created=True) == "skipped: Tiski's own address"


def test_one_sender_gets_at_most_three_automatic_replies_an_hour(
    mailbox: Channel, run_tasks: Callable[[], None]
) -> None:
    for n in range(5):
        email_at(mailbox, MONDAY_10, subject=f"Asia {n}")
        run_tasks()
        run_tasks()
    assert Case.objects.count() == 5
    assert len(mail.outbox) == 3


def test_a_mailbox_may_allow_more_an_hour(mailbox: Channel, run_tasks: Callable[[], None]) -> None:
    mailbox.config = {"acknowledgements_per_hour": 5}
    mailbox.save()
    for n in range(5):
        email_at(mailbox, MONDAY_10, subject=f"Asia {n}")
        run_tasks()
        run_tasks()
    assert len(mail.outbox) == 5


def test_each_case_is_answered_once_and_not_after_an_agent_has(mailbox: Channel, agent: Any) -> None:
    first = email_at(mailbox, MONDAY_10)
    assert autoreply_send(message_id=first.message.pk, case_created=True) == "queued"
    assert autoreply_send(message_id=first.message.pk, case_created=True) == "skipped: the case has its automatic reply"
    answered = email_at(mailbox, MONDAY_10, subject="Toinen")
    message_reply(case=answered.case, actor=agent, body="Hei, katsotaan.")
    assert autoreply_send(message_id=answered.message.pk, case_created=True) == "skipped: an agent has answered already"
    follow_up = email_receive(raw=mail_bytes(subject=f"Re: [{first.case.reference}]"), mailbox=mailbox).receipt
    assert follow_up is not None and not follow_up.case_created
    assert autoreply_send(message_id=follow_up.message.pk, case_created=False) == "skipped: not a new case"
    assert len(automatic(first.case)) == 1


def test_a_reply_turned_off_in_the_admin_is_not_sent(mailbox: Channel, run_tasks: Callable[[], None]) -> None:
    AutoReply.objects.filter(channel_kind="email", language="en").update(enabled=False)
    receipt = email_at(mailbox, MONDAY_10)
    assert autoreply_send(message_id=receipt.message.pk, case_created=True) == "skipped: the automatic reply is off"
    run_tasks()
    run_tasks()
    assert mail.outbox == []


def test_a_mailbox_with_acknowledgements_off_sends_none(mailbox: Channel, run_tasks: Callable[[], None]) -> None:
    mailbox.config = {"acknowledge": False}
    mailbox.save()
    email_at(mailbox, SATURDAY)
    run_tasks()
    run_tasks()
    assert mail.outbox == []


def test_the_mailboxs_own_text_still_wins_and_may_say_the_due_time(
    mailbox: Channel, run_tasks: Callable[[], None]
) -> None:
    mailbox.config = {
        "acknowledgement_texts": {"en": "Hi $name, we got it ($reference). Answer $due; we open $opens. $hours h."},
        "response_hours": {"normal": 4},
    }
    mailbox.save()
    receipt = email_at(mailbox, SATURDAY)
    run_tasks()
    run_tasks()
    [sent] = mail.outbox
    assert sent.body.startswith(
        f"Hi Anssi Asiakas, we got it ({receipt.case.reference}). Answer by Monday 23.11. at 16:00; we open on "
        "Monday 23.11. at 8:00. 4 h."
    )


def test_a_channels_own_text_wins_and_an_unknown_language_gets_the_company_languages(
    mailbox: Channel, run_tasks: Callable[[], None], settings: Any
) -> None:
    settings.LANGUAGE_CODE = "en"
    AutoReply.objects.create(
        channel_kind="email",
        channel=mailbox,
        language="en",
        text_open="{{ case.reference }}: {{ due }}, {{ case.subject }}",
    )
    receipt = email_at(mailbox, MONDAY_10, language="sv")
    run_tasks()
    run_tasks()
    [sent] = mail.outbox
    assert sent.body.startswith(f"{receipt.case.reference}: by 10:00 tomorrow, Paita")


def test_without_a_service_level_the_customer_is_told_as_soon_as_possible(
    mailbox: Channel, run_tasks: Callable[[], None]
) -> None:
    from tiski.sla.models import SlaPolicy

    SlaPolicy.objects.update(first_response_minutes=None, calendar=None)
    email_at(mailbox, MONDAY_10)
    run_tasks()
    run_tasks()
    [sent] = mail.outbox
    assert "will answer as soon as possible." in " ".join(sent.body.split())


# --- SMS and WhatsApp through their providers' simulators --------------------------------------------------------


def messaging_contact(channel: Channel, at: datetime) -> Receipt:
    receipt = message_receive(
        inbound=InboundMessage(
            channel=channel,
            handles=[Handle("phone", CUSTOMER)],
            body_text="Milloin paketti tulee?",
            external_id=new_sid("SM"),
            threading=Threading.CONVERSATION,
        )
    )
    received_at(receipt, at)
    return receipt


def test_a_new_sms_case_is_answered_by_sms_within_the_messaging_target(
    twilio: TwilioSimulator,  # noqa: F811
    sms_channel: Channel,  # noqa: F811
    run_tasks: Callable[[], None],
) -> None:
    receipt = messaging_contact(sms_channel, MONDAY_10)
    language_set(receipt, "fi")
    run_tasks()
    run_tasks()
    [sent] = twilio.messages
    assert (sent.to, sent.from_) == (CUSTOMER, OUR_NUMBER)
    assert sent.body == f"Kiitos viestistäsi! Vastaamme 60 minuutin kuluessa. Asiasi: {receipt.case.reference}"
    [reply] = automatic(receipt.case)
    assert reply.external_id == sent.sid


def test_an_sms_from_the_same_number_within_the_hour_is_answered_at_most_three_times(
    twilio: TwilioSimulator,  # noqa: F811
    sms_channel: Channel,  # noqa: F811
    run_tasks: Callable[[], None],
) -> None:
    for _n in range(4):
        receipt = messaging_contact(sms_channel, MONDAY_10)
        Case.objects.filter(pk=receipt.case.pk).update(status=Case.Status.CLOSED)  # the next SMS opens a new case
        run_tasks()
        run_tasks()
    assert Case.objects.count() == 4
    assert len(twilio.messages) == 3


def test_a_whatsapp_message_on_saturday_is_told_when_service_opens(
    client: Client,
    meta: MetaSimulator,  # noqa: F811
    whatsapp: Channel,  # noqa: F811
    run_tasks: Callable[[], None],
) -> None:
    answer = deliver(client, whatsapp, meta.whatsapp_body(from_=CUSTOMER.lstrip("+"), text="Hei?"), meta=meta)
    assert answer.status_code == 200
    meta.wrote_at(CUSTOMER, time.time())  # the customer's 24-hour window is open (deliver() posts around it)
    message = Message.objects.get()
    receipt = Receipt(message=message, case=message.case, case_created=True, duplicate=False)
    received_at(receipt, SATURDAY)
    run_tasks()
    run_tasks()
    [sent] = meta.sent
    assert sent.kind == "whatsapp" and sent.node == PHONE_NUMBER_ID
    assert sent.payload["text"]["body"] == (
        "Thanks for your message! We are closed right now and open on Monday 23.11. at 8:00; we will answer by "
        f"Monday 23.11. at 9:00. Your case: {receipt.case.reference}"
    )


# --- chat: the widget's notice ------------------------------------------------------------------------------------


def chat_at(channel: Channel, at: datetime, language: str) -> tuple[Receipt, str]:
    """Open a chat case; answer it again as if its first message had arrived AT; return the receipt and outcome."""
    session, _token = chat_session_start(channel=channel, language=language)
    receipt = chat_message_post(session=session, client_id="c-1", text="Onko tummaa paahtoa?")
    assert len(automatic(receipt.case)) == 1  # answered at once, in the same request
    receipt.case.messages.filter(author=Message.Author.SYSTEM).delete()
    receipt.case.events.filter(kind=CaseEvent.Kind.REPLY_QUEUED).delete()
    received_at(receipt, at)
    return receipt, autoreply_send(message_id=receipt.message.pk, case_created=True, language=language)


def test_a_new_chat_in_opening_hours_gets_the_chat_target_as_a_notice(
    chat_channel: Channel,  # noqa: F811
    online: Any,  # noqa: F811
) -> None:
    receipt, outcome = chat_at(chat_channel, MONDAY_10, "en")
    assert outcome == "sent"
    [notice] = automatic(receipt.case)
    assert notice.body_text == "Thank you! An agent will answer you within 2 minutes."
    assert notice.delivery_status == Message.Delivery.SENT  # shown in the widget, nothing to deliver


def test_a_new_chat_on_a_holiday_is_told_in_finnish_when_service_opens(chat_channel: Channel) -> None:  # noqa: F811
    receipt, outcome = chat_at(chat_channel, EPIPHANY, "fi")
    assert outcome == "sent"
    [notice] = automatic(receipt.case)
    assert notice.body_text == (
        "Kiitos! Asiakaspalvelumme on nyt kiinni ja palvelee taas huomenna klo 8.00. Vastaamme sinulle viimeistään "
        "huomenna klo 8.02."
    )


def test_a_new_chat_in_opening_hours_with_nobody_online_is_told_so(chat_channel: Channel) -> None:  # noqa: F811
    receipt, _outcome = chat_at(chat_channel, MONDAY_10, "en")
    [notice] = automatic(receipt.case)
    assert "No one is online right now" in notice.body_text


# --- defaults and the admin -------------------------------------------------------------------------------------


def test_every_written_channel_has_an_english_and_a_finnish_reply_by_default() -> None:
    made = set(AutoReply.objects.filter(channel=None, enabled=True).values_list("channel_kind", "language"))
    assert made == {(kind, language) for kind in WRITTEN for language in ("en", "fi")}
    assert "phone" not in WRITTEN
    for reply in AutoReply.objects.all():
        assert "{{ due }}" in reply.text_open and "{{ opens }}" in reply.text_closed


def test_the_admin_lists_the_replies_and_refuses_a_text_it_cannot_read(admin_client: Any) -> None:
    listing = admin_client.get("/admin/sla/autoreply/")
    assert listing.status_code == 200
    assert listing.content.decode().count('name="form-') >= 14  # enabled can be switched in the list
    page = admin_client.get("/admin/sla/autoreply/add/")
    assert "{{ case.reference }}" in page.content.decode()  # the placeholders are listed
    answer = admin_client.post(
        "/admin/sla/autoreply/add/",
        {"channel_kind": "sms", "language": "sv", "enabled": "on", "text_open": "Tack {% if %}", "text_closed": ""},
    )
    assert answer.status_code == 200
    assert "The text cannot be read" in answer.content.decode()
    assert not AutoReply.objects.filter(language="sv").exists()
    created = admin_client.post(
        "/admin/sla/autoreply/add/",
        {
            "channel_kind": "sms",
            "language": "sv",
            "enabled": "on",
            "text_open": "Tack! Svar {{ due }}.",
            "text_closed": "",
        },
    )
    assert created.status_code == 302
    assert AutoReply.objects.get(language="sv").text_open == "Tack! Svar {{ due }}."
