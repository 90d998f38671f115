"""Mail piped in by the company's own mail server (a Postfix or Exim alias running `tiski ingest-email`).

The exit status is the MTA's instruction (sysexits.h): 0 means "stored, forget it"; 75 (EX_TEMPFAIL) means
"keep it queued and try again later". Every failure that an administrator can fix is reported as 75, not as
a permanent error: a database that is down, and also a mailbox address that names no mailbox or a missing
default mailbox. A misconfigured alias should not bounce the customers' mail; the MTA keeps it queued, and
the message printed to stderr (which the MTA logs) says what to fix. Mail stored before a failure is
recognised as a duplicate when the MTA sends it again, so a retry never stores a mail twice.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from tiski.channels.email.inbound import EmailReceipt, Outcome, email_receive
from tiski.channels.email.mailbox import mailbox_default, mailbox_for_address
from tiski.channels.models import Channel


class ExitCode(enum.IntEnum):
    """The sysexits.h codes the pipe exits with."""

    OK = 0
    USAGE = 64  # EX_USAGE: bad arguments
    NOINPUT = 66  # EX_NOINPUT: a named file cannot be read, or holds no mail
    TEMPFAIL = 75  # EX_TEMPFAIL: not stored; the MTA retries


class PipeError(Exception):
    """The mail cannot be taken now; EXIT_CODE tells the MTA what to do."""

    def __init__(self, message: str, *, exit_code: ExitCode = ExitCode.TEMPFAIL) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class PipeResult:
    """What became of one piped mail: NAME is its file (or "stdin"), DETAIL what it was stored as, or why not."""

    name: str
    exit_code: ExitCode
    detail: str


def pipe_mailbox(address: str | None) -> Channel:
    """Return the mailbox for ADDRESS, or the default mailbox when ADDRESS is None; raise PipeError if none."""
    try:
        mailbox = mailbox_for_address(address) if address is not None else mailbox_default()
    except Exception as exc:  # the database, or a malformed mailbox setting: both fixable, so retried
        raise PipeError(f"cannot look up the mailbox: {exc}") from exc
    if mailbox is not None:
        return mailbox
    if address is not None:
        raise PipeError(
            f"no active mailbox receives mail for {address}: add the address (or an alias) to a mailbox, or fix "
            "--mailbox in the mail server's alias; the mail server keeps the mail and tries again"
        )
    raise PipeError(
        "no mailbox is configured: create an email channel, or name one with --mailbox; the mail server keeps "
        "the mail and tries again"
    )


def _describe(receipt: EmailReceipt) -> str:
    if receipt.receipt is not None:
        verb = "already stored as" if receipt.outcome is Outcome.DUPLICATE else "stored as"
        return f"{verb} {receipt.receipt.case.reference}"
    if receipt.quarantined is not None:
        return f"quarantined as {receipt.quarantined.pk}: {receipt.quarantined.reason}"
    return "stored as a delivery report"


def pipe_ingest(*, name: str, read: Callable[[], bytes], mailbox: Channel) -> PipeResult:
    """Read one mail with READ and store it in MAILBOX; return the result, never raise.

    A mail that is quarantined or was stored before still exits 0: it is kept, and sending it again would not
    change that.
    """
    try:
        raw = read()
    except OSError as exc:
        return PipeResult(name, ExitCode.NOINPUT, f"cannot read it: {exc.strerror or exc}")
    if not raw or raw.isspace():
        return PipeResult(name, ExitCode.NOINPUT, "it holds no mail (it is empty)")
    try:
        receipt = email_receive(raw=raw, mailbox=mailbox, source="pipe")
    except Exception as exc:
        return PipeResult(name, ExitCode.TEMPFAIL, f"not stored, try again later: {type(exc).__name__}: {exc}")
    return PipeResult(name, ExitCode.OK, _describe(receipt))


def pipe_exit_code(results: list[PipeResult]) -> ExitCode:
    """Return the exit status for a run: a temporary failure first (so the MTA retries), then unreadable input."""
    codes = {result.exit_code for result in results}
    for code in (ExitCode.TEMPFAIL, ExitCode.NOINPUT):
        if code in codes:
            return code
    return ExitCode.OK
