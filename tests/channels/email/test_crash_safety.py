"""kill -9 of a receiver mid-run, then a restart: every mail is stored exactly once.

The senders behave as real ones do: a mail not answered 250 (SMTP) or not exited 0 with (the pipe) is sent
again. Mail stored just before the kill comes again and is recognised as a duplicate; mail not yet stored is
still with its sender. Both run the real commands in subprocesses against a file SQLite database.
"""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.channels.email.test_pipe import mail, migrated_data_dir, stored_message_ids
from tests.core.processes import free_port, tiski_command, tiski_env, wait_for

pytestmark = pytest.mark.slow

MAILS = 40
STARTUP_TIMEOUT_S = 30
RESEND_TIMEOUT_S = 30


def smtpd_process(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """Start `tiski smtpd` on PORT and return once it answers with its greeting."""
    with log.open("ab") as output:
        proc = subprocess.Popen(
            tiski_command("--data-dir", str(data_dir), "smtpd", "--host", "127.0.0.1", "--port", str(port)),
            env=tiski_env(),
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def greets() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"tiski smtpd exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=5):
                return True
        except OSError:
            return False

    wait_for(greets, timeout=STARTUP_TIMEOUT_S, what="tiski smtpd to greet")
    return proc


def send(port: int, raw: bytes) -> bool:
    """Send RAW like an MTA: return True only when the server answered 250 at the end of DATA."""
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            return client.sendmail("anssi@example.com", ["support@pyora.example"], raw) == {}
    except (OSError, smtplib.SMTPException):
        return False


def test_smtpd_killed_mid_run_and_restarted_loses_no_mail_and_stores_none_twice(tmp_path):
    data_dir = migrated_data_dir(tmp_path / "data")
    log = tmp_path / "smtpd.log"
    port = free_port()
    mails = {f"<smtp-{i}@example.com>": mail(message_id=f"<smtp-{i}@example.com>") for i in range(MAILS)}
    acknowledged: list[str] = []
    server = smtpd_process(data_dir, port, log)

    def kill_halfway() -> None:
        while len(acknowledged) < MAILS // 2:
            time.sleep(0.001)
        os.kill(server.pid, signal.SIGKILL)  # while the sender is already on its next mail

    killer = threading.Thread(target=kill_halfway, daemon=True)
    killer.start()
    for message_id, raw in mails.items():
        if send(port, raw):
            acknowledged.append(message_id)
    killer.join(timeout=10)
    assert server.wait(timeout=10) == -signal.SIGKILL
    queued = [message_id for message_id in mails if message_id not in acknowledged]
    assert MAILS // 2 <= len(acknowledged) < MAILS, "the kill did not interrupt the run"
    assert set(acknowledged) <= set(stored_message_ids(data_dir)), "a mail answered 250 was not stored"

    server = smtpd_process(data_dir, port, log)
    deadline = time.monotonic() + RESEND_TIMEOUT_S
    while queued and time.monotonic() < deadline:
        queued = [message_id for message_id in queued if not send(port, mails[message_id])]
    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=10) == 0, log.read_text()

    assert queued == []
    assert sorted(stored_message_ids(data_dir)) == sorted(mails)


def test_pipe_killed_mid_run_and_run_again_loses_no_mail_and_stores_none_twice(tmp_path):
    data_dir = migrated_data_dir(tmp_path / "data")
    files = []
    for i in range(MAILS):
        files.append(tmp_path / f"{i:02}.eml")
        files[-1].write_bytes(mail(message_id=f"<pipe-{i}@example.com>"))
    command = tiski_command("--data-dir", str(data_dir), "ingest-email", "--mailbox", "support@pyora.example")
    command += [str(path) for path in files]

    first = subprocess.Popen(command, env=tiski_env(), stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert first.stdout is not None
    reported = [first.stdout.readline() for _ in range(MAILS // 2)]
    first.kill()
    assert first.wait(timeout=10) == -signal.SIGKILL
    first.stdout.close()
    assert all(b": stored as TSK-" in line for line in reported)
    stored = stored_message_ids(data_dir)
    assert MAILS // 2 <= len(stored) < MAILS, "the kill did not interrupt the run"

    again = subprocess.run(command, env=tiski_env(), capture_output=True, timeout=60)
    assert again.returncode == 0, again.stderr.decode()
    assert again.stdout.decode().count(": already stored as TSK-") >= MAILS // 2
    assert sorted(stored_message_ids(data_dir)) == sorted(f"<pipe-{i}@example.com>" for i in range(MAILS))
