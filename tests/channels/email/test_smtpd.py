"""The built-in SMTP receiver, in process on a free port: RCPT checks, size limit, 250 only once stored."""

from __future__ import annotations

import smtplib
import ssl
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError

from tests.core.processes import free_port
from tiski.accounts.models import Team
from tiski.cases.models import Message
from tiski.channels.email import smtpd
from tiski.channels.email.smtpd import SmtpdStartError, SmtpReceiver, smtpd_start
from tiski.channels.models import Channel, ChannelKind, QuarantinedMail

pytestmark = pytest.mark.django_db(transaction=True)  # the receiver stores from its own threads


def mail(*, message_id: str | None = None, to: str = "support@pyora.example", body: str = "Missä tilaukseni?") -> bytes:
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = "Anssi Asiakas <anssi@example.com>"
    msg["To"] = to
    msg["Subject"] = "Tilaus 1042"
    msg["Message-ID"] = message_id or make_msgid(domain="example.com")
    msg.set_content(body)
    return msg.as_bytes()


@pytest.fixture
def billing_team(transactional_db: None) -> Team:
    return Team.objects.create(name="Laskutus")


@pytest.fixture
def support(transactional_db: None) -> Channel:
    return Channel.objects.create(
        kind=ChannelKind.EMAIL,
        name="Support",
        address="support@pyora.example",
        config={"aliases": ["tuki@pyora.example"]},
    )


@pytest.fixture
def billing(billing_team: Team) -> Channel:
    return Channel.objects.create(
        kind=ChannelKind.EMAIL, name="Billing", address="billing@pyora.example", team=billing_team
    )


@pytest.fixture
def start() -> Iterator[Callable[..., SmtpReceiver]]:
    started: list[SmtpReceiver] = []

    def run(**options: Any) -> SmtpReceiver:
        receiver = smtpd_start(host="127.0.0.1", port=free_port(), **options)
        started.append(receiver)
        return receiver

    yield run
    for receiver in started:
        receiver.stop(timeout=5)


@pytest.fixture
def receiver(start: Callable[..., SmtpReceiver], support: Channel, billing: Channel) -> SmtpReceiver:
    return start()


def transaction(receiver: SmtpReceiver, raw: bytes, *recipients: str) -> tuple[int, str]:
    """Run one SMTP transaction without the SIZE option; return the reply to the end of DATA."""
    with smtplib.SMTP(receiver.host, receiver.port, timeout=10) as client:
        client.ehlo("client.example")
        client.mail("anssi@example.com")
        for address in recipients:
            client.rcpt(address)
        code, text = client.data(raw)
    return code, text.decode()


def test_mail_to_a_mailbox_is_stored_before_250_and_opens_a_case_for_its_team(receiver, billing, billing_team):
    code, reply = transaction(receiver, mail(message_id="<lasku@example.com>"), "billing@pyora.example")
    message = Message.objects.get(external_id="<lasku@example.com>")
    assert (code, reply) == (250, f"2.0.0 Stored as {message.case.reference}")
    assert message.case.channel == billing
    assert message.case.team == billing_team
    assert message.case.customer.name == "Anssi Asiakas"


def test_mail_to_an_alias_reaches_its_mailbox(receiver, support):
    with smtplib.SMTP(receiver.host, receiver.port, timeout=10) as client:
        assert client.sendmail("anssi@example.com", ["Tuki@Pyora.example"], mail(to="tuki@pyora.example")) == {}
    assert Message.objects.get().case.channel == support


def test_greeting_names_tiski(receiver):
    with smtplib.SMTP(timeout=10) as client:
        code, greeting = client.connect(receiver.host, receiver.port)
    assert code == 220
    assert b"Tiski" in greeting


def test_unknown_recipient_is_refused_at_rcpt_and_nothing_is_stored(receiver):
    with (
        smtplib.SMTP(receiver.host, receiver.port, timeout=10) as client,
        pytest.raises(smtplib.SMTPRecipientsRefused) as refused,
    ):
        client.sendmail("anssi@example.com", ["sales@pyora.example"], mail())
    assert refused.value.recipients == {
        "sales@pyora.example": (550, b"5.1.1 <sales@pyora.example>: no such mailbox here")
    }
    assert not Message.objects.exists()
    assert not QuarantinedMail.objects.exists()


def test_mail_for_a_known_and_an_unknown_recipient_is_stored_for_the_known_one(receiver, support):
    with smtplib.SMTP(receiver.host, receiver.port, timeout=10) as client:
        refused = client.sendmail("anssi@example.com", ["nobody@pyora.example", "support@pyora.example"], mail())
    assert set(refused) == {"nobody@pyora.example"}
    assert Message.objects.get().case.channel == support


def test_mail_for_two_mailboxes_is_stored_in_each_once(receiver, support, billing):
    raw = mail(message_id="<both@example.com>")
    recipients = ["support@pyora.example", "tuki@pyora.example", "billing@pyora.example"]
    code, _reply = transaction(receiver, raw, *recipients)
    assert code == 250
    stored = Message.objects.filter(external_id="<both@example.com>")
    assert sorted(m.case.channel.name for m in stored) == ["Billing", "Support"]


def test_mail_over_the_smallest_mailbox_limit_is_refused_with_552(start, support, billing):
    billing.config = {"max_bytes": 2000}
    billing.save()
    receiver = start()
    big = mail(body="Tilasin sinisen paidan, sain punaisen.\n" * 80)
    with (
        smtplib.SMTP(receiver.host, receiver.port, timeout=10) as client,
        pytest.raises(smtplib.SMTPSenderRefused) as refused,  # refused at MAIL FROM by its SIZE= option
    ):
        client.sendmail("anssi@example.com", ["support@pyora.example"], big)
    assert refused.value.smtp_code == 552
    assert transaction(receiver, big, "support@pyora.example")[0] == 552  # and at DATA without SIZE=
    assert transaction(receiver, mail(), "support@pyora.example")[0] == 250
    assert Message.objects.count() == 1
    assert not QuarantinedMail.objects.exists()


def test_unreadable_mail_is_still_acknowledged_because_it_is_quarantined(receiver, support):
    raw = b"Subject: no sender at all\r\n\r\nhello\r\n"
    code, reply = transaction(receiver, raw, "support@pyora.example")
    item = QuarantinedMail.objects.get()
    assert (code, reply) == (250, f"2.0.0 Stored as quarantined mail {item.pk}")
    assert item.channel == support
    assert item.source == "smtp"
    assert bytes(item.raw) == raw


def test_database_failure_answers_451_and_the_retry_is_stored_once(receiver, monkeypatch):
    def database_down(**kwargs: Any) -> None:
        raise OperationalError("database is locked")

    raw = mail(message_id="<retry@example.com>")
    with (
        monkeypatch.context() as patch,
        smtplib.SMTP(receiver.host, receiver.port, timeout=10) as client,
        pytest.raises(smtplib.SMTPDataError) as failed,
    ):
        patch.setattr(smtpd, "email_receive", database_down)
        client.sendmail("anssi@example.com", ["support@pyora.example"], raw)
    assert (failed.value.smtp_code, failed.value.smtp_error) == (451, b"4.3.0 temporary failure, try again later")
    assert not Message.objects.exists()
    assert transaction(receiver, raw, "support@pyora.example")[0] == 250
    assert transaction(receiver, raw, "support@pyora.example")[0] == 250  # a second retry is a duplicate
    assert Message.objects.filter(external_id="<retry@example.com>").count() == 1


def test_database_failure_at_rcpt_answers_451(receiver, monkeypatch):
    def database_down(address: str) -> None:
        raise OperationalError("no such table")

    monkeypatch.setattr(smtpd, "mailbox_for_address", database_down)
    with (
        smtplib.SMTP(receiver.host, receiver.port, timeout=10) as client,
        pytest.raises(smtplib.SMTPRecipientsRefused) as refused,
    ):
        client.sendmail("anssi@example.com", ["support@pyora.example"], mail())
    assert refused.value.recipients["support@pyora.example"][0] == 451


@pytest.fixture(scope="module")
def certificate() -> tuple[str, str]:
    folder = Path(tempfile.mkdtemp(prefix="tiski-smtpd-tls-"))
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


def test_starttls_is_offered_and_mail_over_it_is_stored(start, support, certificate):
    cert, key = certificate
    receiver = start(tls_cert=cert, tls_key=key)
    with smtplib.SMTP(receiver.host, receiver.port, timeout=10) as client:
        client.ehlo("client.example")
        assert client.has_extn("starttls")
        client.starttls(context=ssl.create_default_context(cafile=cert))
        assert client.sendmail("anssi@example.com", ["support@pyora.example"], mail()) == {}
    assert Message.objects.get().case.channel == support


def test_start_refuses_a_certificate_without_its_key_and_a_port_in_use(start, support, certificate):
    with pytest.raises(SmtpdStartError, match="both a certificate and a key"):
        smtpd_start(host="127.0.0.1", port=free_port(), tls_cert=certificate[0])
    running = start()
    with pytest.raises(SmtpdStartError, match=f"cannot listen on 127.0.0.1 port {running.port}"):
        smtpd_start(host="127.0.0.1", port=running.port)


def test_mail_with_lines_over_1000_characters_is_accepted(receiver, support):
    """Real HTML mail often has very long lines; refusing it would bounce legitimate mail."""
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"] = "anssi@example.com"
    msg["To"] = "tuki@pyora.example"
    msg["Subject"] = "Long line"
    msg.set_content("<p>" + "pitkä rivi " * 400 + "</p>", subtype="html", cte="8bit")
    raw = msg.as_bytes()
    assert max(len(line) for line in raw.split(b"\n")) > 2000
    with smtplib.SMTP(receiver.host, receiver.port, timeout=10) as smtp:
        assert smtp.sendmail("anssi@example.com", ["tuki@pyora.example"], raw) == {}
    assert Message.objects.get().subject == "Long line"
