"""The built-in SMTP receiver: mail for Tiski's mailboxes, acknowledged only once it is stored.

A recipient is accepted when it is the address or an alias of an active mailbox and refused at RCPT time
otherwise. The message is answered 250 only after email_receive() has committed it for every mailbox among
the recipients; when the database fails the answer is 451, so the sending server keeps the mail and tries
again. A crash before the 250 has the same effect, and a mail stored just before a crash is recognised as a
duplicate when it comes again: nothing is lost and nothing is stored twice.

The bytes are stored exactly as received, without a Received: header of our own: a mail without a
Message-ID is deduplicated by a digest of its bytes, which a per-delivery header would change.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.db import close_old_connections

from tiski.channels.email.inbound import EmailReceipt, Outcome, email_receive
from tiski.channels.email.mailbox import mailbox_for_address, mailbox_policy
from tiski.channels.models import Channel, ChannelKind

if TYPE_CHECKING:
    from collections.abc import Iterable

logger = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_HOST = os.environ.get("TISKI_SMTPD_HOST", "127.0.0.1")
DEFAULT_PORT = int(os.environ.get("TISKI_SMTPD_PORT", "2525"))
DEFAULT_TLS_CERT = os.environ.get("TISKI_SMTPD_TLS_CERT", "")
DEFAULT_TLS_KEY = os.environ.get("TISKI_SMTPD_TLS_KEY", "")
BANNER = "Tiski"
SIZE_LIMIT_WITHOUT_MAILBOXES = 25 * 1024 * 1024
STOP_TIMEOUT_S = 30.0

TEMPORARY_FAILURE = "451 4.3.0 temporary failure, try again later"


class SmtpdStartError(Exception):
    """The receiver could not start: the address is in use, or the TLS certificate cannot be loaded."""


def smtpd_size_limit() -> int:
    """Return the largest mail every active mailbox accepts: the smallest of their max_bytes."""
    limits = [
        mailbox_policy(channel).max_bytes for channel in Channel.objects.filter(kind=ChannelKind.EMAIL, active=True)
    ]
    return min(limits, default=SIZE_LIMIT_WITHOUT_MAILBOXES)


def _in_fresh_connection(func: Callable[[], T]) -> T:
    """Run FUNC with a database connection that is neither stale nor kept past its lifetime (in a worker thread)."""
    close_old_connections()
    try:
        return func()
    finally:
        close_old_connections()


@dataclass(frozen=True)
class _Lookup:
    mailbox: Channel | None
    size_limit: int


def _lookup(address: str) -> _Lookup:
    return _Lookup(mailbox=mailbox_for_address(address), size_limit=smtpd_size_limit())


def _describe(receipt: EmailReceipt) -> str:
    if receipt.receipt is not None:
        return receipt.receipt.case.reference
    if receipt.quarantined is not None:
        return f"quarantined mail {receipt.quarantined.pk}"
    return "delivery report" if receipt.outcome is Outcome.BOUNCE else receipt.outcome.value


def _deliver(raw: bytes, recipients: Iterable[str]) -> list[str]:
    """Store RAW once for each distinct mailbox among RECIPIENTS; return what it was stored as.

    Raise LookupError when a recipient accepted at RCPT time no longer has a mailbox (it was just removed):
    the mail is then answered with a temporary failure, and the retry is refused at RCPT for that recipient.
    """
    mailboxes: dict[int, Channel] = {}
    for address in recipients:
        mailbox = mailbox_for_address(address)
        if mailbox is None:
            raise LookupError(f"{address} has no mailbox any more")
        mailboxes.setdefault(mailbox.pk, mailbox)
    return [_describe(email_receive(raw=raw, mailbox=mailbox, source="smtp")) for mailbox in mailboxes.values()]


class InboundHandler:
    """aiosmtpd handler: RCPT consults the mailboxes, DATA stores the mail before it is acknowledged.

    The ORM is synchronous, so each lookup and each store runs in a worker thread: the event loop keeps
    serving other connections meanwhile.
    """

    def __init__(self, *, size_limit: int) -> None:
        self.size_limit = size_limit  # the latest limit seen, announced to the next connections
        self.busy = 0  # stores in progress, so that a stop can wait for them

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        try:
            found = await asyncio.to_thread(_in_fresh_connection, lambda: _lookup(address))
        except Exception:
            logger.exception("smtpd: could not look up the mailbox of <%s>", address)
            return TEMPORARY_FAILURE
        if found.mailbox is None:
            logger.info("smtpd: refused mail from <%s> to <%s>: no such mailbox", envelope.mail_from, address)
            return f"550 5.1.1 <{address}>: no such mailbox here"
        self.size_limit = server.data_size_limit = found.size_limit
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        recipients = list(envelope.rcpt_tos)
        self.busy += 1
        try:
            stored = await asyncio.to_thread(_in_fresh_connection, lambda: _deliver(raw, recipients))
        except Exception:
            logger.exception(
                "smtpd: could not store mail from <%s> to %s; answered 451", envelope.mail_from, recipients
            )
            return TEMPORARY_FAILURE
        finally:
            self.busy -= 1
        logger.info(
            "smtpd: accepted mail from <%s> to %s (%d bytes) as %s",
            envelope.mail_from,
            recipients,
            len(raw),
            ", ".join(stored),
        )
        return f"250 2.0.0 Stored as {', '.join(stored)}"


def _tls_context(cert: str, key: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise SmtpdStartError(f"cannot load the TLS certificate {cert} and key {key}: {exc}") from exc
    return context


def _ensure_free(host: str, port: int) -> None:
    """Raise SmtpdStartError at once when HOST:PORT cannot be bound (aiosmtpd would wait for its timeout first)."""
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        raise SmtpdStartError(f"cannot listen on {host} port {port}: {exc.strerror or exc}") from exc


class _LenientSMTP(SMTP):
    """aiosmtpd's SMTP, taking lines longer than RFC 5321's 1,000 octets as real senders send them.

    HTML mail from many clients and CRMs comes with very long lines; refusing it with aiosmtpd's permanent
    "500 Line too long" would bounce legitimate mail. The message size limit still applies.
    """

    line_length_limit = 1024 * 1024


class _Controller(Controller):
    """aiosmtpd's Controller, announcing the mailboxes' current size limit to each new connection."""

    handler: InboundHandler

    def factory(self) -> SMTP:
        return _LenientSMTP(self.handler, **{**self.SMTP_kwargs, "data_size_limit": self.handler.size_limit})


class SmtpReceiver:
    """A running SMTP receiver (aiosmtpd's Controller: its own thread and event loop)."""

    def __init__(self, *, host: str, port: int, tls_context: ssl.SSLContext | None, size_limit: int) -> None:
        self.host = host
        self.port = port
        self.handler = InboundHandler(size_limit=size_limit)
        self.controller = _Controller(
            self.handler,
            hostname=host,
            port=port,
            server_hostname=os.environ.get("TISKI_SMTPD_HOSTNAME") or socket.getfqdn(),
            ident=BANNER,
            tls_context=tls_context,
            require_starttls=False,
        )

    def stop(self, *, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop accepting connections, let stores in progress finish (up to TIMEOUT seconds), then stop.

        A store cut off by the timeout is not lost: its sender got no 250 and sends it again.
        """
        server = self.controller.server
        if server is not None:
            self.controller.loop.call_soon_threadsafe(server.close)
        deadline = time.monotonic() + timeout
        while self.handler.busy and time.monotonic() < deadline:
            time.sleep(0.05)
        self.controller.stop(no_assert=True)
        logger.info("smtpd: stopped listening on %s port %d", self.host, self.port)


def smtpd_start(
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    tls_cert: str = DEFAULT_TLS_CERT,
    tls_key: str = DEFAULT_TLS_KEY,
) -> SmtpReceiver:
    """Start receiving mail on HOST:PORT in a background thread and return the receiver; call .stop() to end.

    STARTTLS is offered when TLS_CERT and TLS_KEY (PEM files) are given. Raise SmtpdStartError when the
    address is in use or the certificate cannot be loaded.
    """
    if bool(tls_cert) != bool(tls_key):
        raise SmtpdStartError("STARTTLS needs both a certificate and a key (TISKI_SMTPD_TLS_CERT, TISKI_SMTPD_TLS_KEY)")
    context = _tls_context(tls_cert, tls_key) if tls_cert else None
    _ensure_free(host, port)
    aiosmtpd_log = logging.getLogger("mail.log")
    if aiosmtpd_log.level == logging.NOTSET:  # it logs every SMTP command at INFO; Tiski logs one line per mail
        aiosmtpd_log.setLevel(logging.WARNING)
    size_limit = smtpd_size_limit()
    receiver = SmtpReceiver(host=host, port=port, tls_context=context, size_limit=size_limit)
    try:
        receiver.controller.start()
    except (OSError, RuntimeError, TimeoutError) as exc:
        receiver.controller.stop(no_assert=True)
        raise SmtpdStartError(f"cannot listen on {host} port {port}: {exc}") from exc
    logger.info(
        "smtpd: listening on %s port %d%s, mail up to %d bytes",
        host,
        port,
        " with STARTTLS" if context else "",
        size_limit,
    )
    return receiver
