"""`tiski ingest-email`: store raw mail piped in by the company's mail server, with sysexits exit codes.

    tiski ingest-email [--mailbox ADDRESS] [FILE ...]

Reads each FILE, or standard input when there is none (or for "-"), as one RFC 822 mail. Exits 0 only when
every mail is stored (a quarantined or already stored mail counts as stored), 75 (EX_TEMPFAIL) when one
could not be stored now or the mailbox is not configured (the mail server keeps the mail and retries; see
tiski.channels.email.pipe), 66 (EX_NOINPUT) when a FILE cannot be read and 64 (EX_USAGE) for bad arguments.
In Postfix's aliases: support: "|/opt/tiski/bin/tiski ingest-email --mailbox support@example.com"
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tiski.channels.email.pipe import ExitCode, PipeError, PipeResult, pipe_exit_code, pipe_ingest, pipe_mailbox

ARGPARSE_USAGE_ERROR = 2


def _read_stdin() -> bytes:
    return sys.stdin.buffer.read()


class Command(BaseCommand):
    help = "Store raw mail from FILEs or standard input (a mail server's alias pipe); exit 75 to make it retry."
    requires_system_checks: list[str] = []  # a pipe runs once per mail: no checks that could fail it

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--mailbox", metavar="ADDRESS", help="the mailbox's address or alias (default: the default mailbox)"
        )
        parser.add_argument("files", nargs="*", metavar="FILE", help="a file with one raw mail (default: stdin)")

    def run_from_argv(self, argv: list[str]) -> None:
        """Run the command with exit codes from sysexits.h, never Django's 1 or argparse's 2."""
        try:
            super().run_from_argv(argv)
        except SystemExit as exc:
            if exc.code == ARGPARSE_USAGE_ERROR:
                raise SystemExit(ExitCode.USAGE) from None
            raise
        except Exception as exc:
            sys.stderr.write(f"tiski ingest-email: not stored, try again later: {type(exc).__name__}: {exc}\n")
            raise SystemExit(ExitCode.TEMPFAIL) from None

    def handle(self, *args: Any, mailbox: str | None, files: list[str], **options: Any) -> None:
        try:
            channel = pipe_mailbox(mailbox)
        except PipeError as exc:
            self.stderr.write(f"tiski ingest-email: {exc}")
            raise SystemExit(exc.exit_code) from None
        results: list[PipeResult] = []
        for name in files or ["-"]:
            read = _read_stdin if name == "-" else partial(Path(name).read_bytes)
            result = pipe_ingest(name="stdin" if name == "-" else name, read=read, mailbox=channel)
            results.append(result)
            if result.exit_code is ExitCode.OK:
                if options["verbosity"]:
                    self.stdout.write(f"{result.name}: {result.detail}")
            else:
                self.stderr.write(f"tiski ingest-email: {result.name}: {result.detail}")
        code = pipe_exit_code(results)
        if code is not ExitCode.OK:
            raise SystemExit(code)
