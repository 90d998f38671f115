"""The `tiski` command line: argument handling in-process, and real subprocesses for the worker and tokens."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.core.processes import tiski_command, tiski_env, wait_for
from tiski.cases.models import Message
from tiski.cases.services import message_reply
from tiski.channels.models import Delivery
from tiski.cli import _pop_option, main

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.mark.parametrize(
    ("args", "value", "rest"),
    [
        (["--data-dir", "/x", "demo"], "/x", ["demo"]),
        (["demo", "--data-dir=/x", "--port", "1"], "/x", ["demo", "--port", "1"]),
        (["migrate"], None, ["migrate"]),
        (["shell", "--", "--data-dir", "/x"], None, ["shell", "--", "--data-dir", "/x"]),
    ],
)
def test_global_data_dir_option_is_taken_out_anywhere(args: list[str], value: str | None, rest: list[str]) -> None:
    assert _pop_option(args, "--data-dir") == (value, rest)


@pytest.mark.django_db(transaction=True)  # the worker closes its connection between tasks
def test_worker_command_requeues_a_stalled_delivery_and_sends_it(
    receive, agent, settings, tmp_path, mailoutbox
) -> None:  # type: ignore[no-untyped-def]
    receipt = receive()
    reply = message_reply(case=receipt.case, actor=agent, body="Size M fits you.")
    DBTaskResult.objects.all().delete()  # the worker that had the task died
    Delivery.objects.filter(message=reply).update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    call_command("worker", batch=True, startup_delay=False, interval=0, verbosity=0)
    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.SENT
    assert len(mailoutbox) == 1


def test_tiski_alone_shows_the_overview_and_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    main([])
    out = capsys.readouterr().out
    assert out.startswith("Usage: tiski [--data-dir DIR] COMMAND")
    for command in ("demo", "serve", "worker", "create-token", "load_demo", "seed_cases", "create_token", "migrate"):
        assert command in out


def test_dashed_command_names_run_the_management_command(db, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    main(["seed-cases", "--count", "3"])
    assert "Created 3 cases" in capsys.readouterr().out


@pytest.mark.slow
def test_worker_process_sends_a_queued_reply_to_the_local_mailbox(tiski: Run, data_dir: Path) -> None:
    tiski("migrate", "--verbosity", "0")
    queued = tiski(
        "shell",
        "-c",
        "\n".join(
            [
                "from tiski.accounts.services import agent_create, roles_ensure",
                "from tiski.cases.services import message_reply",
                "from tiski.channels.interface import InboundMessage",
                "from tiski.channels.models import Channel",
                "from tiski.channels.services import message_receive",
                "from tiski.customers.services import Handle",
                "roles_ensure()",
                "maija = agent_create(username='maija', password='pw-123456', role='agent')",
                "channel = Channel.objects.create(kind='webform', name='Form', address='support@shop.example')",
                "receipt = message_receive(inbound=InboundMessage(channel=channel, "
                "handles=[Handle('email', 'anssi@example.com')], body_text='Which size?', subject='Shirt size'))",
                "print(message_reply(case=receipt.case, actor=maija, body='Size M.').pk)",
            ]
        ),
    ).stdout
    message_id = int(queued.split()[-1])
    worker = subprocess.Popen(
        tiski_command("--data-dir", str(data_dir), "worker", "--no-startup-delay", "--interval", "0.2"),
        env=tiski_env(TISKI_EMAIL_BACKEND="tiski.core.mail.LocalMailboxBackend"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def status() -> str:
            with sqlite3.connect(data_dir / "tiski.sqlite3", timeout=5) as db:
                row = db.execute("SELECT delivery_status FROM cases_message WHERE id = ?", (message_id,)).fetchone()
            return str(row[0])

        wait_for(lambda: status() == "sent", timeout=30, what="the worker to send the reply")
    finally:
        worker.terminate()
        _out, err = worker.communicate(timeout=15)
    assert worker.returncode == 0, err
    mails = list((data_dir / "sent-mail").glob("*.eml"))
    assert len(mails) == 1
    mail = mails[0].read_text()
    assert "anssi@example.com" in mail
    assert "Size M." in mail
