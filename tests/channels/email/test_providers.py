"""Provider webhooks (through django-anymail) and ESP sending, over real HTTP on 127.0.0.1.

Each provider's documented wire format is posted to the live server; replies leave through anymail's Mailgun
backend to a local server that implements Mailgun's send endpoint.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib.util
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import make_msgid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from anymail.exceptions import AnymailRequestsAPIError
from django.contrib.auth.models import User
from django.core.mail import EmailMessage as DjangoEmailMessage
from django.db import OperationalError

from tiski.cases.models import Message
from tiski.cases.services import message_reply
from tiski.channels.email import providers
from tiski.channels.email.inbound import Outcome, email_receive
from tiski.channels.models import Channel, ChannelKind, QuarantinedMail

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.channels.email.urls_for_tests")]

SIGNING_KEY = "key-mailgun-signing-0123456789abcdef"
WEBHOOK_SECRET = "tiski-hooks:Rk3l9Jc0pQ"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
HAS_BOTO3 = importlib.util.find_spec("boto3") is not None


@pytest.fixture
def mailbox(db: None) -> Channel:
    return Channel.objects.create(
        kind=ChannelKind.EMAIL,
        name="Support",
        address="tuki@pyora.example",
        config={"aliases": ["support@pyora.example"], "acknowledge": False, "default": True},
    )


@pytest.fixture
def billing(db: None) -> Channel:
    return Channel.objects.create(
        kind=ChannelKind.EMAIL, name="Billing", address="laskutus@pyora.example", config={"acknowledge": False}
    )


@pytest.fixture(autouse=True)
def anymail_settings(settings: Any) -> dict[str, str]:
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY, "WEBHOOK_SECRET": WEBHOOK_SECRET}
    return settings.ANYMAIL


def mail_bytes(
    *,
    to: str = "tuki@pyora.example",
    subject: str = "Lasku väärin",
    text: str = "Laskussa on väärä summa.",
    message_id: str | None = None,
    attachment: bool = True,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Anssi Asiakas <anssi@example.com>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or make_msgid(domain="example.com")
    msg.set_content(text)
    msg.add_alternative(f"<p>{text}</p>", subtype="html")
    if attachment:
        msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="lasku.pdf")
    return msg.as_bytes(policy=policy.SMTP)


def latin1_8bit_mail(message_id: str = "<latin1@example.com>") -> bytes:
    """A mail in 8-bit ISO-8859-1, as old clients send: only an exact copy of the posted bytes keeps it intact."""
    return (
        "From: Anssi Asiakas <anssi@example.com>\r\nTo: tuki@pyora.example\r\n"
        "Subject: =?iso-8859-1?q?Hyv=E4=E4_p=E4iv=E4=E4?=\r\n"
        f"Message-ID: {message_id}\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "Tilaus ei ole vielä tullut. Missä se on?\r\n"
    ).encode("latin-1")


def multipart(
    fields: list[tuple[str, bytes | str]], files: Sequence[tuple[str, str, str, bytes]] = ()
) -> tuple[bytes, str]:
    """Encode a multipart/form-data body; return (body, content type)."""
    boundary = f"tiski-{uuid.uuid4().hex}"
    chunks: list[bytes] = []
    for name, value in fields:
        data = value.encode() if isinstance(value, str) else value
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        chunks.append(head.encode() + data + b"\r\n")
    for name, filename, content_type, data in files:
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        chunks.append(f"{head}Content-Type: {content_type}\r\n\r\n".encode() + data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def post(
    url: str, body: bytes, content_type: str, *, auth: str | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str]]:
    """POST over real HTTP; return (status, response headers)."""
    request = urllib.request.Request(url, data=body, method="POST")  # noqa: S310 (the live server on loopback)
    request.add_header("Content-Type", content_type)
    if auth is not None:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)


def mailgun_signature(key: str = SIGNING_KEY, timestamp: int | None = None) -> list[tuple[str, bytes | str]]:
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    token = uuid.uuid4().hex + uuid.uuid4().hex[:18]
    signature = hmac.new(key.encode(), f"{stamp}{token}".encode(), hashlib.sha256).hexdigest()
    return [("timestamp", stamp), ("token", token), ("signature", signature)]


def mailgun_mime_post(
    live_server: Any,
    raw: bytes,
    *,
    recipient: str = "tuki@pyora.example",
    signature: list[Any] | None = None,
    auth: str | None = WEBHOOK_SECRET,
) -> int:
    fields: list[tuple[str, bytes | str]] = [
        ("recipient", recipient),
        ("sender", "anssi@example.com"),
        ("from", "Anssi Asiakas <anssi@example.com>"),
        ("subject", "ignored: the MIME is what counts"),
        ("body-mime", raw),
        *(mailgun_signature() if signature is None else signature),
    ]
    body, content_type = multipart(fields)
    return post(f"{live_server.url}/email/webhooks/mailgun/inbound_mime/", body, content_type, auth=auth)[0]


def sendgrid_raw_post(live_server: Any, raw: bytes, *, auth: str | None = WEBHOOK_SECRET, to: str = "") -> int:
    envelope = json.dumps({"to": [to or "tuki@pyora.example"], "from": "anssi@example.com"})
    fields: list[tuple[str, bytes | str]] = [
        ("email", raw),
        ("envelope", envelope),
        ("charsets", json.dumps({"to": "UTF-8", "from": "UTF-8", "subject": "UTF-8"})),
        ("spam_score", "0.1"),
        ("SPF", "pass"),
    ]
    body, content_type = multipart(fields)
    return post(f"{live_server.url}/email/webhooks/sendgrid/inbound/", body, content_type, auth=auth)[0]


def postmark_payload(*, message_id: str, raw: bytes | None = None) -> dict[str, Any]:
    """Postmark's inbound JSON, as in its documentation (RawEmail only when the server setting is on)."""
    payload: dict[str, Any] = {
        "FromName": "Anssi Asiakas",
        "MessageStream": "inbound",
        "From": "anssi@example.com",
        "FromFull": {"Email": "anssi@example.com", "Name": "Anssi Asiakas", "MailboxHash": ""},
        "To": "laskutus@pyora.example",
        "ToFull": [{"Email": "laskutus@pyora.example", "Name": "", "MailboxHash": ""}],
        "Cc": "",
        "CcFull": [],
        "OriginalRecipient": "laskutus@pyora.example",
        "Subject": "Lasku väärin",
        "MessageID": str(uuid.uuid4()),
        "ReplyTo": "",
        "MailboxHash": "",
        "Date": "Mon, 14 Oct 2024 10:00:00 +0300",
        "TextBody": "Laskussa on väärä summa.",
        "HtmlBody": "<p>Laskussa on väärä summa.</p>",
        "StrippedTextReply": "",
        "Tag": "",
        "Headers": [
            {"Name": "Return-Path", "Value": "<anssi@example.com>"},
            {"Name": "X-Spam-Status", "Value": "No"},
            {"Name": "X-Spam-Score", "Value": "-0.1"},
            {"Name": "MIME-Version", "Value": "1.0"},
            {"Name": "Message-ID", "Value": message_id},
        ],
        "Attachments": [
            {
                "Name": "lasku.pdf",
                "Content": base64.b64encode(PDF).decode(),
                "ContentType": "application/pdf",
                "ContentLength": len(PDF),
            }
        ],
    }
    if raw is not None:
        payload["RawEmail"] = raw.decode("utf-8")
    return payload


def postmark_post(live_server: Any, payload: dict[str, Any], *, auth: str | None = WEBHOOK_SECRET) -> int:
    body = json.dumps(payload).encode()
    return post(f"{live_server.url}/email/webhooks/postmark/inbound/", body, "application/json", auth=auth)[0]


def sns_notification(raw: bytes, *, recipient: str = "tuki@pyora.example") -> tuple[bytes, dict[str, str]]:
    """An SNS notification of an SES receipt rule's SNS action (BASE64 encoding), and SNS's headers."""
    topic = "arn:aws:sns:eu-west-1:123456789012:tiski-inbound"
    ses_event = {
        "notificationType": "Received",
        "mail": {
            "timestamp": "2024-10-14T07:00:00.000Z",
            "source": "anssi@example.com",
            "messageId": "o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1",
            "destination": [recipient],
            "headersTruncated": False,
        },
        "receipt": {
            "timestamp": "2024-10-14T07:00:00.000Z",
            "processingTimeMillis": 222,
            "recipients": [recipient],
            "spamVerdict": {"status": "PASS"},
            "virusVerdict": {"status": "PASS"},
            "spfVerdict": {"status": "PASS"},
            "dkimVerdict": {"status": "PASS"},
            "dmarcVerdict": {"status": "PASS"},
            "action": {"type": "SNS", "topicArn": topic, "encoding": "BASE64"},
        },
        "content": base64.b64encode(raw).decode(),
    }
    message_id = str(uuid.uuid4())
    notification = {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": topic,
        "Subject": "Amazon SES Email Receipt Notification",
        "Message": json.dumps(ses_event),
        "Timestamp": "2024-10-14T07:00:00.500Z",
        "SignatureVersion": "1",
        "Signature": "not-verified-by-anymail",
        "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000.pem",
        "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe",
    }
    headers = {
        "x-amz-sns-message-type": "Notification",
        "x-amz-sns-message-id": message_id,
        "x-amz-sns-topic-arn": topic,
        "User-Agent": "Amazon Simple Notification Service Agent",
    }
    return json.dumps(notification).encode(), headers


def ses_post(live_server: Any, raw: bytes, *, auth: str | None = WEBHOOK_SECRET) -> tuple[int, dict[str, str]]:
    body, headers = sns_notification(raw)
    url = f"{live_server.url}/email/webhooks/amazon_ses/inbound/"
    return post(url, body, "text/plain; charset=UTF-8", auth=auth, headers=headers)


def only_message() -> Message:
    (message,) = Message.objects.select_related("case", "channel", "case__customer").all()
    return message


def assert_stored_as_case(message: Message, *, mailbox: Channel, subject: str = "Lasku väärin") -> None:
    assert message.channel == mailbox
    assert message.case.channel == mailbox
    assert message.case.subject == subject
    assert message.case.customer.name == "Anssi Asiakas"
    assert message.case.customer.identities.get().value == "anssi@example.com"
    assert message.body_text == "Laskussa on väärä summa."
    assert [(a.filename, a.content_type, a.size) for a in message.attachments.all()] == [
        ("lasku.pdf", "application/pdf", len(PDF))
    ]


# Mailgun: HMAC-SHA256 of timestamp+token with the webhook signing key.


def test_mailgun_mime_post_with_a_valid_signature_becomes_a_case_on_the_recipients_mailbox(
    live_server: Any, mailbox: Channel, billing: Channel
) -> None:
    raw = mail_bytes(to="Laskutus <laskutus@pyora.example>")
    assert mailgun_mime_post(live_server, raw, recipient="laskutus@pyora.example") == 200
    message = only_message()
    assert_stored_as_case(message, mailbox=billing)
    assert bytes(message.raw) == raw


def test_mailgun_stores_the_posted_mime_byte_for_byte(live_server: Any, mailbox: Channel) -> None:
    raw = latin1_8bit_mail()
    assert mailgun_mime_post(live_server, raw) == 200
    message = only_message()
    assert bytes(message.raw) == raw
    assert message.case.subject == "Hyvää päivää"
    assert message.body_text == "Tilaus ei ole vielä tullut. Missä se on?"


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(mailgun_signature(key="key-someone-else"), id="signed with another key"),
        pytest.param([("timestamp", "1728900000"), ("token", "abc"), ("signature", "0" * 64)], id="forged"),
        pytest.param([], id="unsigned"),
    ],
)
def test_mailgun_post_without_a_valid_signature_is_refused_and_nothing_stored(
    live_server: Any, mailbox: Channel, signature: list[Any]
) -> None:
    assert mailgun_mime_post(live_server, mail_bytes(), signature=signature) == 403
    assert not Message.objects.exists()
    assert not QuarantinedMail.objects.exists()


def test_mailgun_endpoint_refuses_every_post_until_its_signing_key_is_set(
    live_server: Any, mailbox: Channel, anymail_settings: dict[str, str]
) -> None:
    del anymail_settings["MAILGUN_WEBHOOK_SIGNING_KEY"]
    assert mailgun_mime_post(live_server, mail_bytes()) == 403
    anymail_settings["MAILGUN_WEBHOOK_SIGNING_KEY"] = ""
    assert mailgun_mime_post(live_server, mail_bytes(), signature=mailgun_signature(key="")) == 403
    assert not Message.objects.exists()


def test_mailgun_needs_only_its_signing_key_but_also_the_webhook_secret_once_that_is_set(
    live_server: Any, mailbox: Channel, anymail_settings: dict[str, str]
) -> None:
    """Anymail checks WEBHOOK_SECRET on every provider's URL, Mailgun's too, when it is set."""
    assert mailgun_mime_post(live_server, mail_bytes(), auth=None) == 403
    del anymail_settings["WEBHOOK_SECRET"]
    assert mailgun_mime_post(live_server, mail_bytes(), auth=None) == 200
    assert Message.objects.count() == 1


def test_mailgun_signature_of_any_age_is_accepted_and_a_replay_stores_nothing_new(
    live_server: Any, mailbox: Channel
) -> None:
    """Anymail does not check the timestamp's age; a replayed post is harmless because the Message-ID repeats."""
    raw = mail_bytes(message_id="<replayed@example.com>")
    year_ago = mailgun_signature(timestamp=int(time.time()) - 365 * 24 * 3600)
    assert mailgun_mime_post(live_server, raw, signature=year_ago) == 200
    assert mailgun_mime_post(live_server, raw, signature=year_ago) == 200
    assert Message.objects.count() == 1


def test_mailgun_parsed_route_is_stored_from_anymails_reserialised_message(live_server: Any, mailbox: Channel) -> None:
    """A route to …/mailgun/inbound/ (no "mime") posts parsed fields; Tiski stores anymail's MIME of them."""
    headers = [
        ["From", "Anssi Asiakas <anssi@example.com>"],
        ["To", "tuki@pyora.example"],
        ["Subject", "Lasku väärin"],
        ["Message-Id", "<parsed@example.com>"],
        ["Date", "Mon, 14 Oct 2024 10:00:00 +0300"],
    ]
    fields: list[tuple[str, bytes | str]] = [
        ("recipient", "tuki@pyora.example"),
        ("sender", "anssi@example.com"),
        ("subject", "Lasku väärin"),
        ("body-plain", "Laskussa on väärä summa."),
        ("body-html", "<p>Laskussa on väärä summa.</p>"),
        ("message-headers", json.dumps(headers)),
        ("attachment-count", "1"),
        *mailgun_signature(),
    ]
    body, content_type = multipart(fields, files=[("attachment-1", "lasku.pdf", "application/pdf", PDF)])
    url = f"{live_server.url}/email/webhooks/mailgun/inbound/"
    assert post(url, body, content_type, auth=WEBHOOK_SECRET)[0] == 200
    message = only_message()
    assert_stored_as_case(message, mailbox=mailbox)
    assert message.external_id == "<parsed@example.com>"


# SendGrid Inbound Parse, "POST the raw, full MIME message", with basic auth in the URL.


def test_sendgrid_raw_post_with_the_webhook_secret_becomes_a_case(live_server: Any, mailbox: Channel) -> None:
    raw = mail_bytes(to="support@pyora.example")
    assert sendgrid_raw_post(live_server, raw, to="support@pyora.example") == 200
    message = only_message()
    assert_stored_as_case(message, mailbox=mailbox)
    assert bytes(message.raw) == raw
    assert QuarantinedMail.objects.count() == 0


@pytest.mark.parametrize("auth", [None, "tiski-hooks:wrong", "someone:Rk3l9Jc0pQ"])
def test_sendgrid_post_without_the_right_credentials_is_challenged_and_nothing_stored(
    live_server: Any, mailbox: Channel, auth: str | None
) -> None:
    body, content_type = multipart([("email", mail_bytes()), ("envelope", '{"to": ["tuki@pyora.example"]}')])
    status, headers = post(f"{live_server.url}/email/webhooks/sendgrid/inbound/", body, content_type, auth=auth)
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Basic ")
    assert not Message.objects.exists()


# Postmark inbound JSON, with basic auth in the URL.


def test_postmark_post_with_raw_email_becomes_a_case_with_the_raw_bytes(
    live_server: Any, mailbox: Channel, billing: Channel
) -> None:
    raw = mail_bytes(to="laskutus@pyora.example", message_id="<pm-raw@example.com>")
    assert postmark_post(live_server, postmark_payload(message_id="<pm-raw@example.com>", raw=raw)) == 200
    message = only_message()
    assert_stored_as_case(message, mailbox=billing)
    assert bytes(message.raw) == raw


def test_postmark_post_without_raw_email_is_stored_from_its_parsed_fields(
    live_server: Any, mailbox: Channel, billing: Channel
) -> None:
    assert postmark_post(live_server, postmark_payload(message_id="<pm-parsed@example.com>")) == 200
    message = only_message()
    assert_stored_as_case(message, mailbox=billing)
    assert message.external_id == "<pm-parsed@example.com>"


def test_postmark_post_with_wrong_credentials_is_refused(live_server: Any, mailbox: Channel) -> None:
    assert postmark_post(live_server, postmark_payload(message_id="<x@example.com>"), auth="tiski-hooks:no") == 401
    assert not Message.objects.exists()


# Amazon SES receipt rule with an SNS action, delivered by SNS over HTTP(S) with basic auth in the URL.


@pytest.mark.skipif(not HAS_BOTO3, reason="anymail's SES view needs boto3: django-anymail[amazon-ses]")
def test_amazon_ses_sns_notification_becomes_a_case(live_server: Any, mailbox: Channel) -> None:
    raw = latin1_8bit_mail("<ses@example.com>")
    status, _ = ses_post(live_server, raw)
    assert status == 200
    message = only_message()
    assert message.channel == mailbox
    assert message.case.subject == "Hyvää päivää"
    assert bytes(message.raw) == raw


@pytest.mark.skipif(not HAS_BOTO3, reason="anymail's SES view needs boto3: django-anymail[amazon-ses]")
def test_amazon_ses_post_without_credentials_gets_the_challenge_sns_waits_for_and_a_mismatch_is_refused(
    live_server: Any, mailbox: Channel
) -> None:
    status, headers = ses_post(live_server, mail_bytes(), auth=None)
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Basic ")
    assert ses_post(live_server, mail_bytes(), auth="tiski-hooks:wrong")[0] == 401
    body, headers = sns_notification(mail_bytes())
    headers["x-amz-sns-message-id"] = "not-the-one-in-the-body"
    url = f"{live_server.url}/email/webhooks/amazon_ses/inbound/"
    assert post(url, body, "text/plain; charset=UTF-8", auth=WEBHOOK_SECRET, headers=headers)[0] == 403
    assert not Message.objects.exists()


@pytest.mark.skipif(HAS_BOTO3, reason="boto3 is installed")
def test_amazon_ses_endpoint_without_boto3_answers_503_for_the_provider_to_retry(
    live_server: Any, mailbox: Channel
) -> None:
    assert ses_post(live_server, mail_bytes())[0] == 503
    assert not Message.objects.exists()


@pytest.mark.parametrize("slug", ["sendgrid", "postmark", "amazon_ses"])
def test_basic_auth_endpoints_refuse_every_post_until_the_webhook_secret_is_set(
    live_server: Any, mailbox: Channel, anymail_settings: dict[str, str], slug: str
) -> None:
    """Anymail alone accepts anyone's post when WEBHOOK_SECRET is unset (it only warns); Tiski refuses."""
    del anymail_settings["WEBHOOK_SECRET"]
    body, content_type = multipart([("email", mail_bytes()), ("envelope", '{"to": ["tuki@pyora.example"]}')])
    assert post(f"{live_server.url}/email/webhooks/{slug}/inbound/", body, content_type)[0] == 403
    assert not Message.objects.exists()


# Every path ends in email_receive: one Message-ID is one message.


def test_same_message_id_from_two_providers_and_imap_is_stored_once(live_server: Any, mailbox: Channel) -> None:
    raw = mail_bytes(message_id="<everywhere@example.com>")
    assert mailgun_mime_post(live_server, raw) == 200
    assert mailgun_mime_post(live_server, raw) == 200
    assert sendgrid_raw_post(live_server, raw) == 200
    assert postmark_post(live_server, postmark_payload(message_id="<everywhere@example.com>")) == 200
    assert email_receive(raw=raw, mailbox=mailbox, source="imap").outcome is Outcome.DUPLICATE
    assert Message.objects.count() == 1


def test_mail_fetched_by_imap_first_is_not_stored_again_by_the_webhook(live_server: Any, mailbox: Channel) -> None:
    raw = mail_bytes(message_id="<imap-first@example.com>")
    assert email_receive(raw=raw, mailbox=mailbox, source="imap").outcome is Outcome.STORED
    assert sendgrid_raw_post(live_server, raw) == 200
    assert Message.objects.count() == 1


def test_mail_to_an_unknown_address_lands_in_the_default_mailbox(
    live_server: Any, mailbox: Channel, billing: Channel
) -> None:
    raw = mail_bytes(to="someone@elsewhere.example")
    assert sendgrid_raw_post(live_server, raw, to="someone@elsewhere.example") == 200
    assert only_message().channel == mailbox


def test_database_failure_answers_500_so_the_provider_retries(
    live_server: Any, mailbox: Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    def database_down(**kwargs: Any) -> None:
        raise OperationalError("database is locked")

    raw = mail_bytes(message_id="<retry@example.com>")
    with monkeypatch.context() as patched:
        patched.setattr(providers, "email_receive", database_down)
        assert mailgun_mime_post(live_server, raw) == 500
    assert not Message.objects.exists()
    assert mailgun_mime_post(live_server, raw) == 200
    assert Message.objects.count() == 1


def test_post_over_the_request_size_limit_is_refused_and_stored_once_the_limit_is_raised(
    live_server: Any, mailbox: Channel, settings: Any
) -> None:
    """DATA_UPLOAD_MAX_MEMORY_SIZE bounds every webhook post: a mail near it needs the limit raised."""
    raw = mail_bytes(text="Liitteenä kuvat. " * 4000)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = len(raw) // 2
    assert mailgun_mime_post(live_server, raw) == 400
    assert not Message.objects.exists()
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = len(raw) * 2
    assert mailgun_mime_post(live_server, raw) == 200
    assert Message.objects.count() == 1


def test_no_mailbox_at_all_answers_500_and_keeps_the_provider_retrying(live_server: Any) -> None:
    assert sendgrid_raw_post(live_server, mail_bytes()) == 500
    assert not Message.objects.exists()


# Sending through an ESP: anymail's Mailgun backend against Mailgun's send endpoint on 127.0.0.1.


class FakeMailgun(BaseHTTPRequestHandler):
    """POST /v3/<domain>/messages as Mailgun documents it: basic auth api:<key>, form fields, JSON answer."""

    api_key = "key-mailgun-api-test"
    received: list[tuple[str, dict[str, list[str]]]]
    answer_status = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        expected = "Basic " + base64.b64encode(f"api:{self.api_key}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            self._answer(401, {"message": "Invalid private key"})
            return
        if not self.path.endswith("/messages"):
            self._answer(404, {"message": "not found"})
            return
        self.received.append((self.path, self._form(body)))
        if self.answer_status == 400:
            self._answer(400, {"message": "to parameter is not a valid address. please check documentation"})
        elif self.answer_status >= 500:
            self._answer(self.answer_status, {"message": "Internal Server Error"})
        else:
            domain = self.path.split("/")[2]
            self._answer(200, {"id": f"<{uuid.uuid4().hex}@{domain}>", "message": "Queued. Thank you."})

    def _form(self, body: bytes) -> dict[str, list[str]]:
        content_type = self.headers["Content-Type"]
        if content_type.startswith("application/x-www-form-urlencoded"):
            return parse_qs(body.decode(), keep_blank_values=True)
        form = BytesParser(policy=policy.default).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
        fields: dict[str, list[str]] = {}
        for part in form.iter_parts():
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            name = str(part.get_param("name", header="content-disposition"))
            fields.setdefault(name, []).append(payload.decode("utf-8", errors="replace"))
        return fields

    def _answer(self, status: int, data: dict[str, str]) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def mailgun_api(settings: Any) -> Iterator[type[FakeMailgun]]:
    handler = type("Handler", (FakeMailgun,), {"received": [], "answer_status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.EMAIL_BACKEND = "anymail.backends.mailgun.EmailBackend"
    settings.ANYMAIL = {
        **settings.ANYMAIL,
        "MAILGUN_API_KEY": FakeMailgun.api_key,
        "MAILGUN_API_URL": f"http://127.0.0.1:{server.server_port}/v3",
    }
    yield handler
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def email_case(mailbox: Channel) -> Message:
    raw = mail_bytes(subject="Paita väärän värinen", message_id="<first@example.com>", attachment=False)
    receipt = email_receive(raw=raw, mailbox=mailbox, source="test").receipt
    assert receipt is not None
    return receipt.message


def test_reply_leaves_through_the_esp_from_the_mailbox_with_threading_headers(
    mailgun_api: type[FakeMailgun], email_case: Message, agent: User, run_tasks: Callable[[], None]
) -> None:
    reply = message_reply(case=email_case.case, actor=agent, body="Lähetämme uuden paidan tänään.")
    run_tasks()
    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.SENT
    ((path, form),) = mailgun_api.received
    assert path == "/v3/pyora.example/messages"
    assert "tuki@pyora.example" in form["from"][0]
    assert form["to"] == ["anssi@example.com"]
    assert form["subject"] == [f"[{email_case.case.reference}] Re: Paita väärän värinen"]
    assert form["h:In-Reply-To"] == ["<first@example.com>"]
    assert "<first@example.com>" in form["h:References"][0]
    assert form["h:Message-Id"] == [reply.external_id]
    assert "Lähetämme uuden paidan tänään." in form["text"][0]
    assert "Lähetämme uuden paidan tänään." in form["html"][0]


def test_esp_server_error_leaves_the_reply_retrying(
    mailgun_api: type[FakeMailgun], email_case: Message, agent: User, run_tasks: Callable[[], None]
) -> None:
    mailgun_api.answer_status = 503
    reply = message_reply(case=email_case.case, actor=agent, body="Lähetämme uuden.")
    run_tasks()
    reply.refresh_from_db()
    assert len(mailgun_api.received) == 1
    assert reply.delivery_status == Message.Delivery.RETRYING
    assert "503" in reply.delivery_error


def test_esp_refusing_a_recipient_raises_anymails_requests_error_with_the_status(
    mailgun_api: type[FakeMailgun], email_case: Message
) -> None:
    """What outbound.email_send sees: an AnymailRequestsAPIError (an OSError) carrying the 4xx status."""
    mailgun_api.answer_status = 400
    mail = DjangoEmailMessage("Hei", "Teksti", "tuki@pyora.example", ["nobody@nowhere.invalid"])
    with pytest.raises(AnymailRequestsAPIError) as raised:
        mail.send()
    assert raised.value.status_code == 400
    assert isinstance(raised.value, OSError)


def test_esp_refusing_the_recipient_fails_the_reply_without_retrying(mailgun_api, email_case, agent, run_tasks):
    mailgun_api.answer_status = 400
    reply = message_reply(case=email_case.case, actor=agent, body="Lähetämme uuden.")
    run_tasks()
    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.FAILED
    assert len(mailgun_api.received) == 1
