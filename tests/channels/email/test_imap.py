"""IMAP polling against a real Dovecot: stored once, marked only after storing, restart-safe, TLS always."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError

from tests.channels.email.dovecot import Dovecot, dovecot_server  # noqa: F401  (the "dovecot" fixture)
from tiski.cases.models import Message
from tiski.channels.email import imap
from tiski.channels.email.imap import ImapConfigError, ImapConnectionError, imap_config, imap_poll_mailbox
from tiski.channels.email.inbound import Outcome, email_receive
from tiski.channels.models import Channel, ChannelKind, QuarantinedMail

CHATWOOT = "external/chatwoot-mail/spec/fixtures/files"
PASSWORD_ENV = "TISKI_TEST_IMAP_PASSWORD"
SRC = Path(__file__).resolve().parents[3] / "src"


@pytest.fixture(autouse=True)
def _empty_mailbox(dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch) -> None:
    dovecot.empty()
    monkeypatch.setenv(PASSWORD_ENV, dovecot.password)


def imap_settings(server: Dovecot, **overrides: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "host": server.host,
        "port": server.imaps_port,
        "security": "ssl",
        "username": server.user,
        "password_env": PASSWORD_ENV,
        "folder": "INBOX",
        "processed_folder": "Archive",
        "ca_file": str(server.ca_file),
    }
    settings.update(overrides)
    return settings


@pytest.fixture
def mailbox(db: None, dovecot: Dovecot) -> Channel:
    return Channel.objects.create(
        kind=ChannelKind.EMAIL,
        name="Support",
        address="tuki@pyora.example",
        config={"acknowledge": False, "imap": imap_settings(dovecot)},
    )


def mail(
    *,
    subject: str = "Tilaus 1234",
    body: str = "Missä tilaukseni on?",
    sender: str = "Anssi Asiakas <anssi@example.com>",
    message_id: str | None = None,
    attachment: tuple[str, bytes] | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "tuki@pyora.example"
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or make_msgid(domain="example.com")
    msg.set_content(body)
    if attachment is not None:
        name, content = attachment
        msg.add_attachment(content, maintype="application", subtype="pdf", filename=name)
    return msg.as_bytes()


def on_the_wire(raw: bytes) -> bytes:
    """The bytes an IMAP server returns for mail appended with bare LF line ends."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


# --- polling ------------------------------------------------------------------------------------------


def test_each_mail_is_stored_with_its_content_then_archived(dovecot, mailbox, corpus):
    receipt = mail(subject="Kuitti", body="Liitteenä kuitti.", attachment=("kuitti.pdf", b"%PDF-1.4 kuitti"))
    own = [mail(), receipt]
    files = [(corpus / CHATWOOT / name).read_bytes() for name in ("only_html.eml", "non_utf_encoded_mail.eml")]
    files.append((corpus / CHATWOOT / "multiple_attachments.eml").read_bytes())
    dovecot.append_many([*own, *files])

    result = imap_poll_mailbox(mailbox)

    assert (result.fetched, result.stored, result.duplicates, result.quarantined) == (5, 5, 0, 0)
    assert result.summary() == "Support: fetched 5, stored 5, duplicates 0, quarantined 0"
    by_subject = {m.subject.strip(): m for m in Message.objects.select_related("identity")}
    first = by_subject["Tilaus 1234"]
    assert first.body_text == "Missä tilaukseni on?" and first.sender_name == "Anssi Asiakas"
    assert first.identity.value == "anssi@example.com"
    assert bytes(first.raw) == on_the_wire(own[0])  # the server's bytes, not a re-serialisation
    assert [a.filename for a in by_subject["Kuitti"].attachments.all()] == ["kuitti.pdf"]
    assert by_subject["test html only mail"].body_text == "This is html only mail"
    assert by_subject["أهلين عميلنا الكريم"].body_text.startswith("أنظروا، أنا أحتاجها فقط")
    assert by_subject["multiple attachments"].attachments.count() >= 10
    assert bytes(by_subject["multiple attachments"].raw) == on_the_wire(files[2])
    assert dovecot.count("INBOX") == 0
    archived = dovecot.messages("Archive")
    assert len(archived) == 5 and all("\\Seen" in flags for _raw, flags in archived)

    again = imap_poll_mailbox(mailbox)
    assert (again.fetched, again.stored) == (0, 0)
    assert Message.objects.count() == 5


def test_without_a_processed_folder_mail_is_flagged_seen_and_seen_mail_is_left_alone(dovecot, mailbox):
    mailbox.config["imap"] = imap_settings(dovecot, processed_folder=None, security="starttls", port=dovecot.imap_port)
    mailbox.save()
    dovecot.append(mail(subject="Uusi"))
    dovecot.append(mail(subject="Jo luettu"), seen=True)  # read by a person in a mail client: not ours

    result = imap_poll_mailbox(mailbox)

    assert (result.fetched, result.stored) == (1, 1)
    assert list(Message.objects.values_list("subject", flat=True)) == ["Uusi"]
    assert dovecot.count("Archive") == 0
    assert all("\\Seen" in flags for _raw, flags in dovecot.messages("INBOX"))
    assert imap_poll_mailbox(mailbox).fetched == 0


def test_unreadable_or_oversized_mail_is_quarantined_and_does_not_block_the_rest(dovecot, mailbox):
    mailbox.config["max_bytes"] = 4000
    mailbox.save()
    dovecot.append_many([mail(subject="Iso", body="x" * 5000), mail(subject="Pieni")])

    result = imap_poll_mailbox(mailbox)

    assert (result.stored, result.quarantined) == (1, 1)
    assert QuarantinedMail.objects.get().source == "imap"
    assert dovecot.count("INBOX") == 0 and dovecot.count("Archive") == 2


def test_an_unexpected_error_with_one_message_leaves_it_on_the_server_and_the_rest_are_stored(
    dovecot, mailbox, monkeypatch
):
    real = imap.email_receive

    def failing(*, raw: bytes, mailbox: Channel, source: str) -> Any:
        if b"Rikki" in raw:
            raise RuntimeError("parser bug")
        return real(raw=raw, mailbox=mailbox, source=source)

    monkeypatch.setattr(imap, "email_receive", failing)
    dovecot.append_many([mail(subject="Rikki"), mail(subject="Ehjä")])

    result = imap_poll_mailbox(mailbox)

    assert (result.stored, result.failed) == (1, 1) and "parser bug" in result.errors[0]
    [(raw, flags)] = dovecot.messages("INBOX")
    assert b"Rikki" in raw and "\\Seen" not in flags


def test_a_database_error_stops_the_poll_and_leaves_the_message_unmarked(dovecot, mailbox, monkeypatch):
    real = imap.email_receive
    calls = []

    def database_down(*, raw: bytes, mailbox: Channel, source: str) -> Any:
        calls.append(raw)
        if len(calls) == 2:
            raise DatabaseError("disk I/O error")
        return real(raw=raw, mailbox=mailbox, source=source)

    monkeypatch.setattr(imap, "email_receive", database_down)
    dovecot.append_many([mail(subject="1"), mail(subject="2"), mail(subject="3")])

    with pytest.raises(DatabaseError):
        imap_poll_mailbox(mailbox)

    assert len(calls) == 2 and Message.objects.count() == 1
    assert dovecot.count("Archive") == 1 and dovecot.count("INBOX") == 2
    monkeypatch.setattr(imap, "email_receive", real)
    assert imap_poll_mailbox(mailbox).stored == 2


def test_a_crash_between_storing_and_moving_loses_nothing_and_stores_nothing_twice(dovecot, mailbox, monkeypatch):
    real = imap._mark_processed
    marked = []

    def crash_on_second(client: Any, config: Any, uid: str) -> None:
        if len(marked) == 1:
            raise OSError("connection reset by peer")
        marked.append(uid)
        real(client, config, uid)

    monkeypatch.setattr(imap, "_mark_processed", crash_on_second)
    dovecot.append_many([mail(subject=f"Viesti {n}") for n in range(4)])

    with pytest.raises(ImapConnectionError, match="Support"):
        imap_poll_mailbox(mailbox)
    assert Message.objects.count() == 2 and dovecot.count("INBOX") == 3  # the second is stored, not moved

    monkeypatch.setattr(imap, "_mark_processed", real)
    result = imap_poll_mailbox(mailbox)

    assert (result.fetched, result.stored, result.duplicates) == (3, 2, 1)
    assert Message.objects.count() == 4
    assert dovecot.count("INBOX") == 0 and dovecot.count("Archive") == 4


def test_the_same_message_id_by_imap_and_by_webhook_is_stored_once(dovecot, mailbox):
    raw = mail(message_id="<kahdesti@example.com>")
    dovecot.append(raw)
    assert imap_poll_mailbox(mailbox).stored == 1
    assert email_receive(raw=raw, mailbox=mailbox, source="webhook").outcome is Outcome.DUPLICATE

    later = mail(message_id="<webhook-first@example.com>")
    assert email_receive(raw=later, mailbox=mailbox, source="webhook").outcome is Outcome.STORED
    dovecot.append(later)
    result = imap_poll_mailbox(mailbox)

    assert (result.stored, result.duplicates) == (0, 1)
    assert Message.objects.filter(external_id="<kahdesti@example.com>").count() == 1
    assert Message.objects.filter(external_id="<webhook-first@example.com>").count() == 1
    assert dovecot.count("INBOX") == 0  # a duplicate is marked processed too


def test_a_stop_request_is_honoured_between_messages(dovecot, mailbox):
    dovecot.append_many([mail(subject=f"Viesti {n}") for n in range(3)])

    result = imap_poll_mailbox(mailbox, should_stop=lambda: Message.objects.exists())

    assert (result.fetched, result.stored, result.stopped) == (1, 1, True)
    assert dovecot.count("Archive") == 1 and dovecot.count("INBOX") == 2
    assert "(stopped early)" in result.summary()


# --- TLS, credentials, settings ----------------------------------------------------------------------


def test_starttls_and_imaps_both_verify_the_servers_certificate(dovecot, mailbox):
    dovecot.append(mail(subject="TLS"))
    mailbox.config["imap"] = imap_settings(dovecot, security="starttls", port=dovecot.imap_port)
    assert imap_poll_mailbox(mailbox).stored == 1

    for security, port in (("ssl", dovecot.imaps_port), ("starttls", dovecot.imap_port)):
        mailbox.config["imap"] = imap_settings(dovecot, security=security, port=port, ca_file=None)
        with pytest.raises(ImapConnectionError, match="certificate is not trusted"):
            imap_poll_mailbox(mailbox)


def test_a_server_without_starttls_is_an_error_never_a_plain_text_login(mailbox):
    received: list[bytes] = []
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]

        def serve() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.sendall(b"* OK fake IMAP ready\r\n")
                for line in conn.makefile("rb"):
                    received.append(line)
                    tag = line.split(b" ", 1)[0]
                    if b"CAPABILITY" in line.upper():
                        conn.sendall(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + tag + b" OK done\r\n")
                    else:
                        conn.sendall(tag + b" BAD no\r\n")

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        mailbox.config["imap"]["security"] = "starttls"
        mailbox.config["imap"]["port"] = port
        with pytest.raises(ImapConnectionError, match="not continuing without TLS"):
            imap_poll_mailbox(mailbox)
    thread.join(timeout=5)
    assert not any(b"LOGIN" in line.upper() for line in received)


def test_a_wrong_password_is_a_clear_error_and_stores_nothing(dovecot, mailbox, monkeypatch):
    dovecot.append(mail())
    monkeypatch.setenv(PASSWORD_ENV, "wrong")

    with pytest.raises(ImapConnectionError, match=r"mailbox Support: .* login as alice failed \(.*uthentication"):
        imap_poll_mailbox(mailbox)

    assert Message.objects.count() == 0
    [(_raw, flags)] = dovecot.messages("INBOX")
    assert "\\Seen" not in flags


def test_a_ca_file_that_is_not_a_certificate_is_a_settings_error(dovecot, mailbox, tmp_path):
    junk = tmp_path / "ca.pem"
    junk.write_text("not a certificate")
    mailbox.config["imap"]["ca_file"] = str(junk)
    with pytest.raises(ImapConfigError, match=r"^mailbox Support: imap.ca_file .* cannot be loaded"):
        imap_poll_mailbox(mailbox)


def test_a_missing_processed_folder_is_named_in_the_error(dovecot, mailbox):
    mailbox.config["imap"]["processed_folder"] = "Arkisto"
    with pytest.raises(ImapConnectionError, match=r"'Arkisto' \(imap.processed_folder\) does not exist"):
        imap_poll_mailbox(mailbox)


@pytest.mark.parametrize(
    "change, error",
    [
        ({"host": ""}, "imap.host must be a non-empty string"),
        ({"username": None}, "imap.username is required"),
        ({"security": "tls"}, "imap.security must be one of ssl, starttls, none"),
        ({"port": "993"}, "imap.port must be a port number"),
        ({"security": "starttls", "port": 993}, "imap.port 993 is the IMAPS port"),
        ({"password": "hunter2"}, "imap.password is not allowed: passwords are never stored in the database"),
        (
            {"password_env": "NOT_SET_ANYWHERE"},
            "imap.password_env names the environment variable NOT_SET_ANYWHERE, which is not set",
        ),
        ({"password_env": "my password"}, "imap.password_env must be the name of an environment variable"),
        ({"processed_folder": "INBOX"}, "imap.processed_folder must differ from imap.folder"),
        ({"ca_file": "/nonexistent/ca.pem"}, "imap.ca_file names /nonexistent/ca.pem"),
        ({"hots": "x"}, "imap.hots is not a known setting"),
    ],
)
def test_invalid_settings_are_rejected_naming_the_mailbox_and_the_key(dovecot, change, error):
    mailbox = Channel(kind=ChannelKind.EMAIL, name="Myynti", config={"imap": {**imap_settings(dovecot), **change}})
    with pytest.raises(ImapConfigError, match=f"^mailbox Myynti: {error}"):
        imap_config(mailbox)


def test_settings_default_to_imaps_on_993_and_the_archive_folder():
    config = imap_config(
        Channel(
            kind=ChannelKind.EMAIL,
            name="M",
            config={"imap": {"host": "h", "username": "u", "password_env": PASSWORD_ENV}},
        )
    )
    assert (config.security, config.port, config.folder, config.processed_folder) == ("ssl", 993, "INBOX", "Archive")


# --- the command ----------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the command closes its connection between polls
def test_the_command_polls_once_and_prints_a_summary_per_mailbox(dovecot, mailbox, capsys):
    dovecot.append(mail())
    call_command("imap_poll", "--once", "--mailbox", "TUKI@pyora.example")
    assert capsys.readouterr().out.strip() == "Support: fetched 1, stored 1, duplicates 0, quarantined 0"

    with pytest.raises(CommandError, match="no active mailbox with IMAP settings"):
        call_command("imap_poll", "--once", "--mailbox", "nobody@example.com")


@pytest.mark.django_db(transaction=True)  # the command closes its connection between polls
def test_the_command_reports_a_failing_mailbox_by_name_and_still_polls_the_others(dovecot, mailbox, capsys):
    Channel.objects.create(
        kind=ChannelKind.EMAIL,
        name="Broken",
        address="broken@pyora.example",
        config={"imap": imap_settings(dovecot, port=closed_port())},
    )
    dovecot.append(mail())
    with pytest.raises(CommandError, match="1 mailbox"):
        call_command("imap_poll", "--once")
    out, err = capsys.readouterr()
    assert "mailbox Broken: IMAP server 127.0.0.1" in err and "cannot connect" in err
    assert "Support: fetched 1, stored 1" in out


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- real processes: kill -9 and the endless loop -----------------------------------------------------------


class Site:
    """A migrated SQLite data directory for `python -m django imap_poll` subprocesses."""

    def __init__(self, server: Dovecot) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="tiski-imap-"))
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tiski.settings",
            "TISKI_DATA_DIR": str(self.dir),
            "TISKI_SECRET_KEY": "imap-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
            "PYTHONPATH": str(SRC),
            PASSWORD_ENV: server.password,
        }
        self.env.pop("DATABASE_URL", None)
        setup = (
            "import django, json, sys; django.setup()\n"
            "from django.core.management import call_command\n"
            "from tiski.channels.models import Channel\n"
            "call_command('migrate', verbosity=0)\n"
            "for name, address, imap in json.loads(sys.argv[1]):\n"
            "    Channel.objects.create(kind='email', name=name, address=address,"
            " config={'acknowledge': False, 'imap': imap})\n"
        )
        mailboxes = [  # Broken first: each cycle has tried it by the time Support's mail is stored
            ["Broken", "broken@pyora.example", imap_settings(server, port=closed_port())],
            ["Support", "tuki@pyora.example", imap_settings(server)],
        ]
        subprocess.run([sys.executable, "-c", setup, json.dumps(mailboxes)], env=self.env, check=True, timeout=60)

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "django", "imap_poll", *args]

    def stored_ids(self) -> list[str]:
        with sqlite3.connect(self.dir / "tiski.sqlite3", timeout=20) as db:
            return [row[0] for row in db.execute("SELECT external_id FROM cases_message")]


@pytest.fixture(scope="module")
def site(dovecot: Dovecot) -> Iterator[Site]:
    made = Site(dovecot)
    yield made
    shutil.rmtree(made.dir, ignore_errors=True)


@pytest.mark.slow
def test_kill_9_mid_run_then_restart_loses_no_mail_and_stores_none_twice(dovecot, site):
    ids = [f"<kill-{n}@example.com>" for n in range(200)]
    dovecot.append_many([mail(subject=f"Viesti {n}", message_id=mid) for n, mid in enumerate(ids)])

    first = subprocess.Popen(site.command("--once", "--mailbox", "tuki@pyora.example"), env=site.env)
    deadline = time.monotonic() + 30
    while len(site.stored_ids()) < 40 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    assert first.wait(timeout=10) == -signal.SIGKILL
    assert 0 < len(site.stored_ids()) < 200, "the kill must land mid-run"

    again = subprocess.run(
        site.command("--once", "--mailbox", "tuki@pyora.example"), env=site.env, capture_output=True, text=True
    )

    assert again.returncode == 0, again.stderr
    assert "Support: fetched" in again.stdout
    stored = [mid for mid in site.stored_ids() if mid.startswith("<kill-")]
    assert sorted(stored) == sorted(ids)  # every Message-ID exactly once
    assert dovecot.count("INBOX") == 0 and dovecot.count("Archive") == 200


@pytest.mark.slow
def test_the_poll_loop_survives_a_failing_mailbox_and_stops_cleanly_on_sigterm(dovecot, site):
    proc = subprocess.Popen(
        site.command("--interval", "0.2"), env=site.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        time.sleep(0.5)
        dovecot.append(mail(message_id="<loop@example.com>"))
        deadline = time.monotonic() + 15
        while "<loop@example.com>" not in site.stored_ids() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert "<loop@example.com>" in site.stored_ids()
    assert "mailbox Broken: IMAP server 127.0.0.1" in err and "retrying in" in err, (out, err)
    assert "Support: fetched 1, stored 1" in out
