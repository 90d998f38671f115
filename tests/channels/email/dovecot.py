"""A private Dovecot IMAP server for tests (docs/TESTING-RECIPES.md section 1).

Use it in a test module with ``from channels.email.dovecot import dovecot_server  # noqa: F401`` and ask
for the ``dovecot`` fixture: one instance per module, with IMAP (plain and STARTTLS) and IMAPS listeners, a
self-signed certificate for 127.0.0.1 and the user ``alice``.
"""

from __future__ import annotations

import imaplib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from imap_tools import MailBoxUnencrypted

DOVECOT = Path("/usr/sbin/dovecot")
USER, PASSWORD = "alice", "dovecot-test-secret"
READY_TIMEOUT = 10.0


def dovecot_required() -> bool:
    return os.environ.get("TISKI_REQUIRE_DOVECOT", "") not in ("", "0")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Dovecot:
    base: Path
    imap_port: int
    imaps_port: int
    process: subprocess.Popen[bytes]
    host: str = "127.0.0.1"
    user: str = USER
    password: str = PASSWORD

    @property
    def ca_file(self) -> Path:
        return self.base / "cert.pem"

    @property
    def log(self) -> str:
        path = self.base / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def connect(self) -> MailBoxUnencrypted:
        return MailBoxUnencrypted(self.host, self.imap_port).login(self.user, self.password, initial_folder=None)

    def append(self, raw: bytes, folder: str = "INBOX", *, seen: bool = False) -> None:
        """APPEND RAW to FOLDER (in one short connection)."""
        self.append_many([raw], folder, seen=seen)

    def append_many(self, raws: list[bytes], folder: str = "INBOX", *, seen: bool = False) -> None:
        with self.connect() as mb:
            for raw in raws:
                typ, data = mb.client.append(
                    folder, r"(\Seen)" if seen else None, imaplib.Time2Internaldate(time.time()), raw
                )
                assert typ == "OK", data

    def messages(self, folder: str) -> list[tuple[bytes, tuple[str, ...]]]:
        """Return (raw bytes, flags) of every message in FOLDER, without changing any flag."""
        with self.connect() as mb:
            mb.folder.set(folder)
            return [(m.obj.as_bytes(), m.flags) for m in mb.fetch(mark_seen=False, bulk=100)]

    def count(self, folder: str) -> int:
        with self.connect() as mb:
            mb.folder.set(folder)
            return len(mb.uids("ALL"))

    def empty(self) -> None:
        """Delete every message in INBOX and Archive (each test starts with an empty mailbox)."""
        with self.connect() as mb:
            for folder in ("INBOX", "Archive"):
                mb.folder.set(folder)
                uids = mb.uids("ALL")
                if uids:
                    mb.delete(uids)


def _config(base: Path, imap_port: int, imaps_port: int) -> str:
    return f"""\
protocols = imap
listen = 127.0.0.1
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
instance_name = dovecot-test
auth_mechanisms = plain login
disable_plaintext_auth = no
auth_failure_delay = 0
ssl = yes
ssl_cert = <{base}/cert.pem
ssl_key = <{base}/key.pem
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/passwd
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={base}/mail/%u
}}
mail_location = maildir:~/Maildir
mail_fsync = never  # a throwaway test server: no fsync per APPEND/MOVE (15 ms each)
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Archive {{
    auto = create
    special_use = \\Archive
  }}
}}
service imap-login {{
  inet_listener imap {{
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = {imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


def _greets(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            return s.recv(200).startswith(b"* OK")
    except OSError:
        return False


def _prepare(base: Path) -> tuple[int, int]:
    base.chmod(0o755)  # the mail processes (nobody) must traverse it
    for sub in ("run", "state", "mail"):
        (base / sub).mkdir()
    shutil.chown(base / "mail", "nobody", "nogroup")
    (base / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", str(base / "key.pem"), "-out", str(base / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    imap_port, imaps_port = _free_port(), _free_port()
    while imaps_port == imap_port:
        imaps_port = _free_port()
    (base / "dovecot.conf").write_text(_config(base, imap_port, imaps_port))
    return imap_port, imaps_port


@pytest.fixture(scope="module", name="dovecot")
def dovecot_server() -> Iterator[Dovecot]:
    """Start a private Dovecot for this test module; stop it (SIGTERM) afterwards."""
    if not DOVECOT.exists():
        message = f"{DOVECOT} is missing: apt-get install dovecot-imapd"
        if dovecot_required():
            pytest.fail(message + " (TISKI_REQUIRE_DOVECOT is set)")
        pytest.skip(message)
    base = Path(tempfile.mkdtemp(prefix="dc-"))  # short: unix socket paths are limited to 108 bytes
    imap_port, imaps_port = _prepare(base)
    process = subprocess.Popen(
        [str(DOVECOT), "-F", "-c", str(base / "dovecot.conf")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    server = Dovecot(base=base, imap_port=imap_port, imaps_port=imaps_port, process=process)
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while not (_greets(imap_port) and process.poll() is None):
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read().decode(errors="replace") if process.stdout else ""
                pytest.fail(f"Dovecot did not start (exit {process.poll()}): {output}\n{server.log}")
            time.sleep(0.02)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout:
            process.stdout.close()
        shutil.rmtree(base, ignore_errors=True)


def tls_context(server: Dovecot) -> ssl.SSLContext:
    """Return a client context that trusts the server's self-signed certificate."""
    return ssl.create_default_context(cafile=str(server.ca_file))
