"""`tiski ingest-email`: mail piped in by an MTA, stored before it exits 0, retried on 75.

The exit codes are checked on the real command in a subprocess against a file SQLite database, the way
Postfix runs it; the decisions behind them are checked in process.
"""

from __future__ import annotations

import functools
import io
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import OperationalError

from tests.core.processes import tiski_command, tiski_env
from tiski.cases.models import Message
from tiski.channels.email import pipe
from tiski.channels.email.pipe import ExitCode, PipeError, PipeResult, pipe_exit_code, pipe_ingest, pipe_mailbox
from tiski.channels.models import Channel, ChannelKind, QuarantinedMail

DATABASE = "tiski.sqlite3"
MAILBOXES = """
from tiski.channels.models import Channel
Channel.objects.create(
    kind="email", name="Support", address="support@pyora.example", config={"aliases": ["tuki@pyora.example"]}
)
Channel.objects.create(kind="email", name="Billing", address="billing@pyora.example")
"""


def mail(*, message_id: str | None = None, body: str = "Missä tilaukseni on?") -> bytes:
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = "Anssi Asiakas <anssi@example.com>"
    msg["To"] = "support@pyora.example"
    msg["Subject"] = "Tilaus 1042"
    msg["Message-ID"] = message_id or make_msgid(domain="example.com")
    msg.set_content(body)
    return msg.as_bytes()


def tiski(data_dir: Path, *args: str, **options: Any) -> subprocess.CompletedProcess[bytes]:
    """Run `tiski --data-dir DATA_DIR ARGS` and return its result (stdout and stderr captured)."""
    return subprocess.run(
        tiski_command("--data-dir", str(data_dir), *args), env=tiski_env(), capture_output=True, timeout=60, **options
    )


@functools.cache
def _template() -> Path:
    """Return a data directory migrated once per test run, with the mailboxes Support and Billing."""
    folder = Path(settings.DATA_DIR) / "email-transport-template"
    for step in (("migrate", "--verbosity", "0"), ("shell", "--no-imports", "--command", MAILBOXES)):
        result = tiski(folder, *step)
        assert result.returncode == 0, result.stderr.decode()
    return folder


def migrated_data_dir(target: Path) -> Path:
    """Return TARGET as a fresh data directory with a migrated database and two mailboxes (a copy, in ms)."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(_template() / DATABASE, target / DATABASE)
    return target


def stored_message_ids(data_dir: Path) -> list[str]:
    """Return the Message-ID of every inbound message in DATA_DIR's database, once per stored row."""
    with sqlite3.connect(data_dir / DATABASE) as db:
        rows = db.execute(
            f"SELECT external_id FROM {Message._meta.db_table} WHERE direction = ?",  # noqa: S608  (model names)
            [Message.Direction.IN],
        ).fetchall()
    return [row[0] for row in rows]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return migrated_data_dir(tmp_path / "data")


slow = pytest.mark.slow


@slow
def test_mail_from_stdin_is_stored_and_exits_0_and_a_second_delivery_is_not_stored_again(data_dir):
    raw = mail(message_id="<putki@example.com>")
    first = tiski(data_dir, "ingest-email", "--mailbox", "tuki@pyora.example", input=raw)
    again = tiski(data_dir, "ingest-email", "--mailbox", "tuki@pyora.example", input=raw)
    assert (first.returncode, again.returncode) == (0, 0), first.stderr + again.stderr
    assert first.stdout.decode() == "stdin: stored as TSK-1001\n"
    assert again.stdout.decode() == "stdin: already stored as TSK-1001\n"
    assert stored_message_ids(data_dir) == ["<putki@example.com>"]


@slow
def test_without_mailbox_mail_goes_to_the_default_and_without_an_active_one_it_exits_75(data_dir, tmp_path):
    (tmp_path / "a.eml").write_bytes(mail(message_id="<oletus@example.com>"))
    assert tiski(data_dir, "ingest-email", str(tmp_path / "a.eml")).returncode == 0
    with sqlite3.connect(data_dir / DATABASE) as db:
        db.execute(f"UPDATE {Channel._meta.db_table} SET active = 0")  # noqa: S608  (a model's table)
    result = tiski(data_dir, "ingest-email", str(tmp_path / "a.eml"))
    assert result.returncode == ExitCode.TEMPFAIL
    assert "no mailbox is configured" in result.stderr.decode()


@slow
def test_an_address_without_a_mailbox_exits_75_so_the_mail_waits_for_the_fix(data_dir):
    result = tiski(data_dir, "ingest-email", "--mailbox", "sales@pyora.example", input=mail())
    assert result.returncode == ExitCode.TEMPFAIL
    assert "no active mailbox receives mail for sales@pyora.example" in result.stderr.decode()
    assert stored_message_ids(data_dir) == []


@slow
def test_bad_arguments_exit_64_and_an_unreadable_file_66_after_storing_the_others(data_dir, tmp_path):
    assert tiski(data_dir, "ingest-email", "--no-such-option").returncode == ExitCode.USAGE
    (tmp_path / "good.eml").write_bytes(mail(message_id="<hyva@example.com>"))
    result = tiski(data_dir, "ingest-email", str(tmp_path / "missing.eml"), str(tmp_path / "good.eml"))
    assert result.returncode == ExitCode.NOINPUT
    assert "missing.eml: cannot read it: No such file or directory" in result.stderr.decode()
    assert stored_message_ids(data_dir) == ["<hyva@example.com>"]


@slow
def test_a_database_that_fails_exits_75_not_1(tmp_path):
    unmigrated = tmp_path / "empty"
    unmigrated.mkdir()
    result = tiski(unmigrated, "ingest-email", input=mail())
    assert result.returncode == ExitCode.TEMPFAIL
    assert "cannot look up the mailbox" in result.stderr.decode()
    assert "Traceback" not in result.stderr.decode()


@pytest.fixture
def support(db: None) -> Channel:
    return Channel.objects.create(
        kind=ChannelKind.EMAIL,
        name="Support",
        address="support@pyora.example",
        config={"aliases": ["tuki@pyora.example"]},
    )


def reader(raw: bytes) -> Callable[[], bytes]:
    return lambda: raw


def test_mailbox_is_found_by_address_or_alias_and_else_the_default(support):
    billing = Channel.objects.create(kind=ChannelKind.EMAIL, name="Billing", address="billing@pyora.example")
    assert pipe_mailbox("TUKI@pyora.example") == support
    assert pipe_mailbox("billing@pyora.example") == billing
    assert pipe_mailbox(None) == support
    billing.config = {"default": True}
    billing.save()
    assert pipe_mailbox(None) == billing


@pytest.mark.django_db
def test_no_mailbox_is_a_temporary_failure_with_advice():
    with pytest.raises(PipeError, match="no mailbox is configured") as none:
        pipe_mailbox(None)
    with pytest.raises(PipeError, match="add the address") as unknown:
        pipe_mailbox("sales@pyora.example")
    assert none.value.exit_code is unknown.value.exit_code is ExitCode.TEMPFAIL


def test_stored_duplicate_and_quarantined_mail_all_exit_0(support):
    raw = mail(message_id="<kerran@example.com>")
    first = pipe_ingest(name="a", read=reader(raw), mailbox=support)
    again = pipe_ingest(name="a", read=reader(raw), mailbox=support)
    unreadable = pipe_ingest(name="b", read=reader(b"Subject: no sender\r\n\r\nhi\r\n"), mailbox=support)
    case = Message.objects.get().case
    assert first == PipeResult("a", ExitCode.OK, f"stored as {case.reference}")
    assert again == PipeResult("a", ExitCode.OK, f"already stored as {case.reference}")
    assert unreadable.exit_code is ExitCode.OK
    assert QuarantinedMail.objects.get().source == "pipe"


def test_empty_or_unreadable_input_is_no_input(support, tmp_path):
    assert pipe_ingest(name="-", read=reader(b"\r\n"), mailbox=support).exit_code is ExitCode.NOINPUT
    missing = pipe_ingest(name="x", read=(tmp_path / "x").read_bytes, mailbox=support)
    assert missing.exit_code is ExitCode.NOINPUT
    assert not Message.objects.exists()
    assert not QuarantinedMail.objects.exists()


def test_a_database_error_while_storing_is_a_temporary_failure(support, monkeypatch):
    def database_down(**kwargs: Any) -> None:
        raise OperationalError("disk I/O error")

    monkeypatch.setattr(pipe, "email_receive", database_down)
    result = pipe_ingest(name="stdin", read=reader(mail()), mailbox=support)
    assert result == PipeResult(
        "stdin", ExitCode.TEMPFAIL, "not stored, try again later: OperationalError: disk I/O error"
    )


def test_a_temporary_failure_outranks_unreadable_input():
    ok, noinput, tempfail = (PipeResult("f", code, "") for code in (ExitCode.OK, ExitCode.NOINPUT, ExitCode.TEMPFAIL))
    assert pipe_exit_code([ok, ok]) is ExitCode.OK
    assert pipe_exit_code([ok, noinput]) is ExitCode.NOINPUT
    assert pipe_exit_code([noinput, tempfail, ok]) is ExitCode.TEMPFAIL


def test_the_command_reads_several_files_in_order(support, tmp_path):
    for name in ("1", "2"):
        (tmp_path / f"{name}.eml").write_bytes(mail(message_id=f"<{name}@example.com>"))
    out = io.StringIO()
    call_command(
        "ingest_email", str(tmp_path / "1.eml"), str(tmp_path / "2.eml"), mailbox="tuki@pyora.example", stdout=out
    )
    assert [m.external_id for m in Message.objects.order_by("pk")] == ["<1@example.com>", "<2@example.com>"]
    assert out.getvalue().count("stored as TSK-") == 2
