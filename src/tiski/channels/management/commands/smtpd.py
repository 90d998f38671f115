"""`tiski smtpd`: receive mail for Tiski's mailboxes over SMTP until SIGTERM or Ctrl-C."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tiski.channels.email.smtpd import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_TLS_CERT,
    DEFAULT_TLS_KEY,
    SmtpdStartError,
    smtpd_start,
)
from tiski.core.management.commands.serve import migrations_pending


class Command(BaseCommand):
    help = (
        "Receive mail over SMTP for the configured mailboxes: refuse unknown recipients, acknowledge a mail "
        "only once it is stored."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=DEFAULT_HOST, help="default: $TISKI_SMTPD_HOST, else 127.0.0.1")
        parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="default: $TISKI_SMTPD_PORT, else 2525")
        parser.add_argument(
            "--tls-cert", default=DEFAULT_TLS_CERT, help="PEM certificate for STARTTLS (default: $TISKI_SMTPD_TLS_CERT)"
        )
        parser.add_argument(
            "--tls-key", default=DEFAULT_TLS_KEY, help="PEM private key for STARTTLS (default: $TISKI_SMTPD_TLS_KEY)"
        )

    def handle(self, *args: Any, host: str, port: int, tls_cert: str, tls_key: str, **options: Any) -> None:
        if migrations_pending():
            raise CommandError("The database is not up to date: run `tiski migrate` first.")
        stop = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        try:
            receiver = smtpd_start(host=host, port=port, tls_cert=tls_cert, tls_key=tls_key)
        except SmtpdStartError as exc:
            raise CommandError(str(exc)) from None
        if options["verbosity"]:
            self.stdout.write(f"Receiving mail on {host} port {port}. Stop with Ctrl-C.")
        try:
            while not stop.wait(1.0):
                pass
        finally:
            receiver.stop()
        if options["verbosity"]:
            self.stdout.write("Stopped.")
