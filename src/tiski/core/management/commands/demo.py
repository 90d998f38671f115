"""`tiski demo`: the whole product on 127.0.0.1 with demo data, in one process tree.

Migrates the database, loads the demo company once, starts `tiski worker` as a child process and the SMTP
receiver in a thread, and serves the web app with uvicorn in the foreground until Ctrl-C or SIGTERM, which
also stop the worker and the receiver.
Run it through the `tiski` command: it sets the local mailbox backend and the data directory before the
settings load, so the worker child gets the same configuration.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tiski.accounts.models import ApiToken
from tiski.accounts.services import api_token_issue, api_token_revoke
from tiski.accounts.token_scopes import ALL_SCOPES
from tiski.channels.email.mailbox import mailbox_default
from tiski.channels.email.smtpd import SmtpdStartError, SmtpReceiver, smtpd_start
from tiski.core.demo import COMPANY, DEMO_PASSWORD, DEMO_USERS, PARTNER_NAME, PARTNER_USER, READ_ONLY_USER, demo_load
from tiski.core.management.commands.serve import quiet_static_file_warning
from tiski.simulators.demo import Providers, providers_start

TOKEN_NAME = "tiski demo"  # noqa: S105  (a token's label)
WORKER_STOP_TIMEOUT_S = 10


class _Stop(Exception):
    """Ctrl-C or SIGTERM arrived: leave the server loop and stop the worker."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


def listening_socket(host: str, port: int) -> socket.socket:
    """Return a socket bound and listening on HOST:PORT; raise CommandError when the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise CommandError(
                f"Port {port} on {host} is in use by another program. Stop it, or choose another port: "
                f"tiski demo --port {port + 1}"
            ) from None
        raise CommandError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(2048)
    sock.set_inheritable(False)
    return sock


def _die_with_parent() -> None:
    """In the worker child (Linux): receive SIGTERM when the demo process dies, even by SIGKILL."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return


class Command(BaseCommand):
    help = "Run Tiski with demo data on 127.0.0.1: database, demo company, background worker and web server."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000, help="default: 8000")
        parser.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1 (this machine only)")
        parser.add_argument(
            "--data-dir",
            help="where the demo keeps its database and mail (default: ~/.local/share/tiski-demo); "
            "set by the `tiski` command before the settings load",
        )
        parser.add_argument("--no-worker", action="store_true", help="do not start the background worker")
        parser.add_argument(
            "--smtp-port", type=int, default=2525, help="port of the SMTP receiver for inbound mail (default: 2525)"
        )
        parser.add_argument("--no-smtp", action="store_true", help="do not start the SMTP receiver")

    def handle(
        self,
        *args: Any,
        port: int,
        host: str,
        data_dir: str | None,
        no_worker: bool,
        smtp_port: int,
        no_smtp: bool,
        **options: Any,
    ) -> None:
        if data_dir and Path(data_dir).expanduser().resolve() != Path(settings.DATA_DIR):
            raise CommandError("Give --data-dir to the `tiski` command: tiski demo --data-dir DIR")
        sock = listening_socket(host, port)
        os.environ.setdefault("TISKI_COMPANY_NAME", COMPANY)  # the public form's heading, here and in the worker
        previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        worker: subprocess.Popen[bytes] | None = None
        receiver: SmtpReceiver | None = None
        providers: Providers | None = None
        try:
            self._prepare()
            token = self._token()
            if settings.TISKI_SIMULATORS:
                providers = self._providers_start()
            if not no_smtp:
                receiver = self._smtp_start(host, smtp_port)
            if not no_worker:
                worker = self._worker_start()
            self._banner(token=token, worker=worker, receiver=receiver)
            self._serve(sock)
        except _Stop:
            pass
        finally:
            sock.close()
            if receiver is not None:
                receiver.stop()
            if providers is not None:
                providers.stop()
            if worker is not None:
                self._worker_stop(worker)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write("Tiski demo stopped.")

    def _prepare(self) -> None:
        self.stdout.write(f"Tiski demo: data in {settings.DATA_DIR}")
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # WhiteNoise warns when it is missing
        call_command("migrate", interactive=False, verbosity=0)
        result = demo_load()
        if result.created:
            self.stdout.write(
                f"Loaded the demo company {COMPANY}: {result.customers} customers, {result.cases} cases "
                f"({result.seconds:.1f} s)."
            )

    def _providers_start(self) -> Providers:
        try:
            return providers_start()
        except OSError as exc:
            raise CommandError(
                f"The provider simulators cannot listen on {settings.TISKI_TWILIO_API_URL} and "
                f"{settings.TISKI_META_GRAPH_URL} ({exc.strerror or exc}): choose another port: tiski demo --port N"
            ) from None

    def _token(self) -> str:
        admin = User.objects.get(username=DEMO_USERS[0].username)
        for old in ApiToken.objects.filter(user=admin, name=TOKEN_NAME, revoked_at=None):
            api_token_revoke(token=old)
        return api_token_issue(user=admin, name=TOKEN_NAME, scopes=ALL_SCOPES).raw

    def _smtp_start(self, host: str, port: int) -> SmtpReceiver:
        try:
            return smtpd_start(host=host, port=port)
        except SmtpdStartError as exc:
            raise CommandError(f"{exc} Choose another port: tiski demo --smtp-port {port + 1}, or --no-smtp") from None

    def _worker_start(self) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "tiski.cli", "worker", "--no-startup-delay", "--interval", "0.5"]
        env = {**os.environ, "TISKI_DATA_DIR": str(settings.DATA_DIR)}
        return subprocess.Popen(command, env=env, preexec_fn=_die_with_parent)  # noqa: S603

    def _worker_stop(self, worker: subprocess.Popen[bytes]) -> None:
        if worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(timeout=WORKER_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()

    def _banner(self, *, token: str, worker: subprocess.Popen[bytes] | None, receiver: SmtpReceiver | None) -> None:
        url = settings.TISKI_BASE_URL
        width = max(len(u.username) for u in (*DEMO_USERS, PARTNER_USER, READ_ONLY_USER))
        logins = "\n".join(f"    {u.username:<{width}}  {DEMO_PASSWORD}   {u.full_name} ({u.role})" for u in DEMO_USERS)
        for extra, what in ((PARTNER_USER, f"{PARTNER_NAME}, partner agent"), (READ_ONLY_USER, "read-only")):
            logins += f"\n    {extra.username:<{width}}  {DEMO_PASSWORD}   {extra.full_name} ({what})"
        worker_line = f"running (pid {worker.pid})" if worker else "not started (--no-worker)"
        mailbox = mailbox_default()
        smtp_line = (
            f"SMTP {receiver.host}:{receiver.port} takes mail for {mailbox.address if mailbox else 'the mailboxes'}"
            if receiver
            else "not started (--no-smtp)"
        )
        self.stdout.write(
            f"\n  Tiski is running: {url}/\n\n"
            f"  Log in (username, password):\n{logins}\n\n"
            f"  Contact form:       {url}/contact/   (suggests help-centre articles as you type)\n"
            f"  Help centre:        {url}/help/\n"
            f"  Chat widget:        {url}/chat/demo/   (a sample web shop with the chat)\n"
            f"  SMS, WhatsApp, Messenger, Instagram, phone line:  {url}/simulator/   (write or call as a customer;\n"
            f"      wait in the phone queue and press 1 for a callback)\n"
            f"  Sent mail:          {url}/console/sent-mail/   (replies go to {settings.TISKI_LOCAL_MAIL_DIR})\n"
            f"  API docs:           {url}/api/v1/docs\n"
            f"  API token (admin):  {token}\n"
            f"      curl -H 'Authorization: Bearer {token}' {url}/api/v1/cases\n"
            f"  Inbound email:      {smtp_line}\n"
            f"      or: tiski --data-dir {settings.DATA_DIR} ingest-email < message.eml\n"
            f"  Background worker:  {worker_line}\n\n"
            "  Press Ctrl-C to stop.\n"
        )
        self.stdout.flush()

    def _serve(self, sock: socket.socket) -> None:
        import uvicorn

        quiet_static_file_warning()
        config = uvicorn.Config(
            "tiski.asgi:application",
            lifespan="on",
            server_header=False,
            log_level=os.environ.get("TISKI_LOG_LEVEL", "info").lower(),
        )
        uvicorn.Server(config).run(sockets=[sock])
