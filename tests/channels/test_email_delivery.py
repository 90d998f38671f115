"""Replies on a web-form case travel by email through a real SMTP server (aiosmtpd on 127.0.0.1).

The outbox worker runs for real (run_tasks); the relay is Django's SMTP backend, as in production.
"""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword
from django.core.mail import EmailMessage as DjangoEmailMessage
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tiski.cases.models import CaseEvent, Message
from tiski.cases.services import FileIn, message_reply
from tiski.channels.models import Delivery
from tiski.channels.outbox import outbox_attempt

pytestmark = pytest.mark.django_db

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Mailbox:
    """An aiosmtpd handler that keeps what it receives and can refuse recipients."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.refuse_recipients = False

    async def handle_RCPT(self, server: Any, session: Any, envelope: Envelope, address: str, options: list[str]) -> str:
        if self.refuse_recipients:
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 OK"

    def parsed(self, index: int = 0) -> EmailMessage:
        content = self.envelopes[index].content
        assert isinstance(content, bytes)
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message


class SMTPServer:
    """A real SMTP server on a fixed free port that a test can stop and start again."""

    def __init__(self, **options: Any) -> None:
        self.port = free_port()
        self.mailbox = Mailbox()
        self.options = options
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, **self.options)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp(settings) -> Iterator[SMTPServer]:  # type: ignore[no-untyped-def]
    server = SMTPServer()
    settings.EMAIL_BACKEND = SMTP_BACKEND
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    server.start()
    yield server
    server.stop()


@pytest.fixture
def web_case(receive):  # type: ignore[no-untyped-def]
    return receive(email="anssi@example.com", subject="Shirt size", body="Which size fits me?").case


def make_due(delivery: Delivery) -> None:
    """Move a waiting retry to the past, in the outbox and in the task queue."""
    past = timezone.now() - timedelta(seconds=1)
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=past)
    DBTaskResult.objects.filter(status="READY").update(run_after=past)


def test_reply_reaches_the_customer_through_the_smtp_relay(smtp, web_case, agent, run_tasks):
    reply = message_reply(
        case=web_case,
        actor=agent,
        body="Size M fits you.\nThe chart is attached. <b>not HTML</b>",
        files=[FileIn("size-chart.pdf", "application/pdf", b"%PDF-1.4 chart")],
    )
    run_tasks()

    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.SENT
    assert reply.delivery_error == ""
    assert reply.sent_at is not None
    assert reply.delivery.status == Delivery.Status.SENT
    assert reply.delivery.attempts == 1
    assert len(smtp.mailbox.envelopes) == 1
    envelope = smtp.mailbox.envelopes[0]
    assert envelope.rcpt_tos == ["anssi@example.com"]
    assert envelope.mail_from == "support@shop.example"

    sent = smtp.mailbox.parsed()
    assert sent["To"] == "anssi@example.com"
    assert parseaddr(sent["From"]) == ("Maija Mäkinen", "support@shop.example")
    assert sent["Subject"] == f"[{web_case.reference}] Re: Shirt size"
    assert sent["Message-ID"] == reply.external_id
    assert reply.external_id.startswith("<") and reply.external_id.endswith("@shop.example>")
    text = sent.get_body(("plain",))
    html = sent.get_body(("html",))
    assert text is not None and html is not None
    assert "Size M fits you." in text.get_content()
    assert f"Your case reference is {web_case.reference}." in text.get_content()
    assert "&lt;b&gt;not HTML&lt;/b&gt;" in html.get_content()
    attachments = list(sent.iter_attachments())
    assert [(a.get_filename(), a.get_content_type(), a.get_content()) for a in attachments] == [
        ("size-chart.pdf", "application/pdf", b"%PDF-1.4 chart")
    ]
    assert CaseEvent.objects.filter(case=web_case, kind=CaseEvent.Kind.REPLY_SENT).count() == 1


def test_second_reply_threads_on_the_first(smtp, web_case, agent, run_tasks):
    first = message_reply(case=web_case, actor=agent, body="First answer.")
    run_tasks()
    message_reply(case=web_case, actor=agent, body="Second answer.")
    run_tasks()
    first.refresh_from_db()
    second = smtp.mailbox.parsed(1)
    assert second["In-Reply-To"] == first.external_id
    assert first.external_id in second["References"]


def test_reply_in_the_customers_language(smtp, receive, agent, run_tasks):
    case = receive(email="liisa@example.fi", language="fi").case
    message_reply(case=case, actor=agent, body="Koko M sopii.")
    run_tasks()
    text = smtp.mailbox.parsed().get_body(("plain",))
    assert text is not None
    assert f"Asiasi viite on {case.reference}." in text.get_content()


def test_unreachable_relay_is_retried_with_backoff_and_delivered_once(smtp, web_case, agent, run_tasks):
    smtp.stop()
    reply = message_reply(case=web_case, actor=agent, body="Size M fits you.")
    before = timezone.now()
    run_tasks()

    reply.refresh_from_db()
    delivery = Delivery.objects.get(message=reply)
    assert reply.delivery_status == Message.Delivery.RETRYING
    assert "could not take the message" in reply.delivery_error
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.attempts == 1
    assert delivery.next_attempt_at > before
    assert delivery.last_error == reply.delivery_error

    smtp.start()
    run_tasks()  # the retry is not due yet
    assert smtp.mailbox.envelopes == []

    make_due(delivery)
    run_tasks()
    run_tasks()
    reply.refresh_from_db()
    delivery.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.SENT
    assert reply.delivery_error == ""
    assert delivery.attempts == 2
    assert len(smtp.mailbox.envelopes) == 1
    assert smtp.mailbox.parsed()["Message-ID"] == reply.external_id
    assert outbox_attempt(delivery_id=delivery.pk) == "skipped"
    assert len(smtp.mailbox.envelopes) == 1


def test_refused_recipient_fails_at_once(smtp, web_case, agent, run_tasks):
    smtp.mailbox.refuse_recipients = True
    reply = message_reply(case=web_case, actor=agent, body="Size M fits you.")
    run_tasks()

    reply.refresh_from_db()
    delivery = Delivery.objects.get(message=reply)
    assert reply.delivery_status == Message.Delivery.FAILED
    assert "refused the recipient" in reply.delivery_error
    assert "550" in reply.delivery_error and "no such user" in reply.delivery_error
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempts == 1
    event = CaseEvent.objects.get(case=web_case, kind=CaseEvent.Kind.DELIVERY_FAILED)
    assert event.data["message_id"] == reply.pk
    assert "no such user" in event.data["error"]
    assert smtp.mailbox.envelopes == []
    assert not DBTaskResult.objects.filter(status="READY").exists()


def test_delivery_fails_after_the_last_attempt(smtp, web_case, agent, run_tasks, settings):
    settings.TISKI_OUTBOX_MAX_ATTEMPTS = 2
    smtp.stop()
    reply = message_reply(case=web_case, actor=agent, body="Size M fits you.")
    run_tasks()
    delivery = Delivery.objects.get(message=reply)
    assert delivery.status == Delivery.Status.PENDING

    make_due(delivery)
    run_tasks()
    reply.refresh_from_db()
    delivery.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.FAILED
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempts == 2
    assert "could not take the message" in reply.delivery_error
    assert CaseEvent.objects.filter(case=web_case, kind=CaseEvent.Kind.DELIVERY_FAILED).count() == 1
    assert not DBTaskResult.objects.filter(status="READY").exists()


# The relay with STARTTLS and a login, verified against the server's certificate.


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_smtp(settings, certificate) -> Iterator[SMTPServer]:  # type: ignore[no-untyped-def]
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    logins: list[bytes] = []

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"relay", b"s3cret")
        if ok:
            logins.append(auth_data.login)
        return AuthResult(success=ok, handled=False)

    server = SMTPServer(tls_context=context, require_starttls=True, authenticator=authenticate, auth_require_tls=True)
    server.logins = logins  # type: ignore[attr-defined]
    settings.EMAIL_BACKEND = SMTP_BACKEND
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = True
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = "relay"
    settings.EMAIL_HOST_PASSWORD = "s3cret"
    settings.EMAIL_TIMEOUT = 5
    server.start()
    yield server
    server.stop()


def test_reply_goes_through_starttls_and_auth(tls_smtp, certificate, web_case, agent, run_tasks, monkeypatch):
    # Django's backend verifies the relay with ssl.create_default_context(), i.e. the system CA store,
    # which OpenSSL lets SSL_CERT_FILE replace: trust the test server's self-signed certificate that way.
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    reply = message_reply(case=web_case, actor=agent, body="Sent over TLS.")
    run_tasks()
    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.SENT, reply.delivery_error
    assert tls_smtp.logins == [b"relay"]
    assert "Sent over TLS." in tls_smtp.mailbox.parsed().get_body(("plain",)).get_content()


def test_untrusted_relay_certificate_is_not_used(tls_smtp, web_case, agent, run_tasks, monkeypatch, tmp_path):
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "no-such-ca.pem"))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    reply = message_reply(case=web_case, actor=agent, body="Never in plain text.")
    run_tasks()
    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.RETRYING
    assert "CERTIFICATE_VERIFY_FAILED" in reply.delivery_error
    assert tls_smtp.mailbox.envelopes == []
    assert tls_smtp.logins == []


def test_wrong_relay_password_is_retried_not_lost(
    tls_smtp, certificate, web_case, agent, run_tasks, monkeypatch, settings
):
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    settings.EMAIL_HOST_PASSWORD = "wrong"
    reply = message_reply(case=web_case, actor=agent, body="Hello.")
    run_tasks()
    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.RETRYING
    assert "535" in reply.delivery_error
    assert tls_smtp.mailbox.envelopes == []


# The demo's backend: mail stays on this machine as .eml files.


def test_local_mailbox_backend_writes_one_parseable_eml_per_message(settings, tmp_path, web_case, agent, run_tasks):
    settings.EMAIL_BACKEND = "tiski.core.mail.LocalMailboxBackend"
    settings.TISKI_LOCAL_MAIL_DIR = tmp_path / "sent-mail"
    reply = message_reply(case=web_case, actor=agent, body="Kept locally.")
    run_tasks()
    DjangoEmailMessage("Second", "Body two", "a@example.com", ["b@example.com"]).send()

    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.SENT
    files = sorted((tmp_path / "sent-mail").glob("*.eml"))
    assert len(files) == 2
    parsed = [email.message_from_bytes(path.read_bytes(), policy=email.policy.default) for path in files]
    by_subject = {message["Subject"]: message for message in parsed}
    first = by_subject[f"[{web_case.reference}] Re: Shirt size"]
    assert first["Message-ID"] == reply.external_id
    assert first["To"] == "anssi@example.com"
    assert "Kept locally." in first.get_body(("plain",)).get_content()
    assert by_subject["Second"].get_content().strip() == "Body two"
