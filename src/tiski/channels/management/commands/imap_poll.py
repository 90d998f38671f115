"""`tiski imap-poll`: poll every mailbox that has IMAP settings, once or until stopped."""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, close_old_connections, connections

from tiski.channels.email.imap import ImapConfigError, ImapConnectionError, imap_mailboxes, imap_poll_mailbox
from tiski.channels.models import Channel

DEFAULT_INTERVAL = 60.0
MAX_BACKOFF = 15 * 60.0  # a failing mailbox is retried at least this often


@dataclass
class _Backoff:
    failures: int = 0
    next_try: float = 0.0


class Command(BaseCommand):
    help = (
        "Fetch new mail from every active mailbox with IMAP settings and store it; mail is moved to the "
        "processed folder (or flagged seen) only after it is stored. Runs until SIGTERM/SIGINT unless --once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Poll every mailbox once, then exit.")
        parser.add_argument(
            "--interval",
            type=float,
            default=None,
            help=f"Seconds between polls (default: $TISKI_IMAP_INTERVAL or {DEFAULT_INTERVAL:g}).",
        )
        parser.add_argument("--mailbox", default=None, help="Poll only the mailbox with this address (or name).")

    def handle(self, *args: Any, **options: Any) -> None:
        self._verbosity = int(options["verbosity"])
        interval = self._interval(options["interval"])
        stop = threading.Event()
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        for sig in previous:
            signal.signal(sig, request_stop)
        backoff: dict[int, _Backoff] = {}
        try:
            while True:
                failed = self._cycle(options["mailbox"], interval, backoff, stop, once=options["once"])
                if options["once"]:
                    if failed:
                        raise CommandError(f"{failed} mailbox(es) could not be polled; see the messages above")
                    return
                if stop.wait(interval):
                    return
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _interval(self, value: float | None) -> float:
        if value is None:
            configured = os.environ.get("TISKI_IMAP_INTERVAL", "")
            try:
                value = float(configured) if configured else DEFAULT_INTERVAL
            except ValueError:
                raise CommandError(f"TISKI_IMAP_INTERVAL must be a number of seconds, not {configured!r}") from None
        if value <= 0:
            raise CommandError(f"the interval must be a positive number of seconds, not {value:g}")
        return value

    def _mailboxes(self, wanted: str | None) -> list[Channel]:
        mailboxes = imap_mailboxes()
        if wanted is None:
            return mailboxes
        key = wanted.strip().lower()
        chosen = [m for m in mailboxes if m.address.strip().lower() == key or m.name.lower() == key]
        if not chosen:
            raise CommandError(f"no active mailbox with IMAP settings has the address or name {wanted!r}")
        return chosen

    def _cycle(
        self, wanted: str | None, interval: float, backoff: dict[int, _Backoff], stop: threading.Event, *, once: bool
    ) -> int:
        """Poll each due mailbox once; return how many failed."""
        close_old_connections()
        failed = 0
        for mailbox in self._mailboxes(wanted):
            if stop.is_set():
                break
            state = backoff.setdefault(mailbox.pk, _Backoff())
            if not once and time.monotonic() < state.next_try:
                continue
            try:
                result = imap_poll_mailbox(mailbox, should_stop=stop.is_set)
            except (ImapConfigError, ImapConnectionError) as exc:
                error = str(exc)
            except DatabaseError as exc:
                connections.close_all()
                error = f"mailbox {mailbox.name}: database error, poll stopped ({exc})"
            else:
                backoff.pop(mailbox.pk, None)
                if self._verbosity:
                    self.stdout.write(result.summary())
                continue
            failed += 1
            state.failures += 1
            delay = min(interval * 2 ** (state.failures - 1), max(MAX_BACKOFF, interval))
            state.next_try = time.monotonic() + delay
            retry = "" if once else f"; retrying in {delay:g} s"
            self.stderr.write(f"{error}{retry}")
        return failed
