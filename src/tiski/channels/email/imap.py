"""IMAP polling: fetch a mailbox's new mail, store each through email_receive(), only then mark it processed.

A mailbox polls IMAP when its Channel.config has an "imap" object::

    "imap": {
        "host": "imap.example.com",
        "port": 993,                      # default 993 for "ssl", 143 otherwise
        "security": "ssl",                # "ssl" (IMAPS), "starttls" or "none"
        "username": "support@example.com",
        "password_env": "TISKI_IMAP_PASSWORD_SUPPORT",   # the environment variable holding the password
        "folder": "INBOX",                # where new mail arrives
        "processed_folder": "Archive",    # stored mail is moved here; null: flag it \\Seen and poll UNSEEN
        "ca_file": "/etc/ssl/private-ca.pem",            # optional: trust this CA as well
        "timeout": 30                     # seconds per network operation
    }

Passwords never live in the database: the configuration names the environment variable that holds one.
TLS certificates are always verified, and a failed STARTTLS is an error, never a plain-text fallback.

Restart safety: a message leaves the folder (or becomes \\Seen) only after email_receive() has committed
it. A crash in between leaves it where it was; the next poll fetches it again, email_receive() recognises
the Message-ID and answers DUPLICATE, and the message is then moved. Nothing is lost and nothing is stored
twice.
"""

from __future__ import annotations

import imaplib
import logging
import os
import re
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import DatabaseError
from imap_tools import MailBox, MailBoxStartTls, MailBoxUnencrypted, MailMessage, MailMessageFlags
from imap_tools.errors import ImapToolsError, MailboxLoginError, MailboxStarttlsError
from imap_tools.mailbox import BaseMailBox
from imap_tools.utils import encode_folder

from tiski.channels.email.inbound import Outcome, email_receive
from tiski.channels.models import Channel, ChannelKind

logger = logging.getLogger(__name__)

SECURITY_CHOICES = ("ssl", "starttls", "none")
DEFAULT_PORTS = {"ssl": 993, "starttls": 143, "none": 143}
FETCH_BATCH = 20  # messages per FETCH command: bounded memory, few round trips
_KNOWN_KEYS = {
    "host",
    "port",
    "security",
    "username",
    "password_env",
    "folder",
    "processed_folder",
    "ca_file",
    "timeout",
}
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ImapConfigError(ValueError):
    """A mailbox's IMAP configuration is missing, malformed or names a password that is not set."""


class ImapConnectionError(Exception):
    """The IMAP server could not be reached, refused TLS or the login, or failed a command."""


@dataclass(frozen=True)
class ImapConfig:
    host: str
    port: int
    security: str
    username: str
    password_env: str
    folder: str = "INBOX"
    processed_folder: str | None = "Archive"
    ca_file: str | None = None
    timeout: float = 30.0

    def password(self) -> str:
        return os.environ.get(self.password_env, "")


@dataclass
class PollResult:
    """What one poll of one mailbox did."""

    mailbox: str
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    bounces: int = 0
    failed: int = 0  # left on the server after an unexpected error; tried again next poll
    stopped: bool = False  # the poll was asked to stop before it had worked through every message
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """Return the one-line report of this poll."""
        line = (
            f"{self.mailbox}: fetched {self.fetched}, stored {self.stored}, duplicates {self.duplicates}, "
            f"quarantined {self.quarantined}"
        )
        if self.bounces:
            line += f", bounces {self.bounces}"
        if self.failed:
            line += f", failed {self.failed}"
        if self.stopped:
            line += " (stopped early)"
        return line


def imap_config(mailbox: Channel) -> ImapConfig:
    """Return MAILBOX's validated IMAP settings; raise ImapConfigError naming the mailbox and the key."""
    if mailbox.kind != ChannelKind.EMAIL:
        raise ImapConfigError(f"channel {mailbox.name} is not a mailbox")
    raw = (mailbox.config or {}).get("imap")
    if not isinstance(raw, dict):
        raise ImapConfigError(f"mailbox {mailbox.name}: settings 'imap' must be an object with host, username, …")

    def fail(key: str, problem: str) -> ImapConfigError:
        return ImapConfigError(f"mailbox {mailbox.name}: imap.{key} {problem}")

    if "password" in raw:
        raise fail(
            "password",
            "is not allowed: passwords are never stored in the database; put it in an environment variable "
            "and name that variable in imap.password_env",
        )
    unknown = sorted(set(raw) - _KNOWN_KEYS)
    if unknown:
        raise fail(unknown[0], f"is not a known setting (known: {', '.join(sorted(_KNOWN_KEYS))})")

    def text(key: str, *, required: bool, default: str | None = None) -> str | None:
        value = raw.get(key, default)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            raise fail(key, "must be a non-empty string" if value is not None else "is required")
        return value.strip()

    security = text("security", required=True, default="ssl")
    if security not in SECURITY_CHOICES:
        raise fail("security", f"must be one of {', '.join(SECURITY_CHOICES)}, not {security!r}")
    port = raw.get("port", DEFAULT_PORTS[security])
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise fail("port", f"must be a port number from 1 to 65535, not {port!r}")
    if security == "starttls" and port == 993:
        raise fail("port", "993 is the IMAPS port: use security 'ssl' there, or port 143 for STARTTLS")
    password_env = text("password_env", required=True)
    assert password_env is not None
    if not _ENV_NAME.match(password_env):
        raise fail("password_env", f"must be the name of an environment variable, not {password_env!r}")
    if not os.environ.get(password_env):
        raise fail("password_env", f"names the environment variable {password_env}, which is not set")
    ca_file = text("ca_file", required=False)
    if ca_file is not None and not Path(ca_file).is_file():
        raise fail("ca_file", f"names {ca_file}, which is not a readable file")
    timeout = raw.get("timeout", 30)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise fail("timeout", f"must be a positive number of seconds, not {timeout!r}")
    folder = text("folder", required=True, default="INBOX")
    processed_folder = text("processed_folder", required=False, default="Archive")
    if processed_folder is not None and processed_folder == folder:
        raise fail("processed_folder", "must differ from imap.folder (or be null to flag mail as seen instead)")
    host, username = text("host", required=True), text("username", required=True)
    assert host is not None and username is not None and folder is not None
    return ImapConfig(
        host=host,
        port=port,
        security=security,
        username=username,
        password_env=password_env,
        folder=folder,
        processed_folder=processed_folder,
        ca_file=ca_file,
        timeout=float(timeout),
    )


def imap_mailboxes() -> list[Channel]:
    """Return every active mailbox that has IMAP settings, in a stable order."""
    mailboxes = Channel.objects.filter(kind=ChannelKind.EMAIL, active=True).order_by("pk")
    return [m for m in mailboxes if isinstance((m.config or {}).get("imap"), dict)]


class _RawMessage(MailMessage):
    """A fetched message that keeps the exact bytes the server sent, unparsed.

    imap_tools' MailMessage parses the body into an email.message.Message and drops the bytes;
    `obj.as_bytes()` would re-serialise it (re-folded headers, changed line endings and encodings). The
    stored raw source must be what the server holds, so this class keeps the literal instead.
    """

    def __init__(self, fetch_data: list[Any]) -> None:
        self.raw, self._raw_uid_data, self._raw_flag_data = self._get_message_data_parts(fetch_data)


def _connect(config: ImapConfig, mailbox: Channel) -> BaseMailBox:
    """Return a logged-in connection; raise ImapConnectionError with a message an administrator can act on."""
    where = f"mailbox {mailbox.name}: IMAP server {config.host}:{config.port}"
    client: BaseMailBox
    try:
        # Verifies the certificate chain and the host name; there is no switch to turn that off.
        context = ssl.create_default_context(cafile=config.ca_file)
    except (ssl.SSLError, OSError) as exc:
        raise ImapConfigError(
            f"mailbox {mailbox.name}: imap.ca_file {config.ca_file} cannot be loaded ({exc})"
        ) from exc
    try:
        if config.security == "ssl":
            client = MailBox(config.host, config.port, timeout=config.timeout, ssl_context=context)
        elif config.security == "starttls":
            client = MailBoxStartTls(config.host, config.port, timeout=config.timeout, ssl_context=context)
        else:
            client = MailBoxUnencrypted(config.host, config.port, timeout=config.timeout)
    except ssl.SSLCertVerificationError as exc:
        raise ImapConnectionError(f"{where}: its TLS certificate is not trusted ({exc.verify_message})") from exc
    except (ssl.SSLError, MailboxStarttlsError, imaplib.IMAP4.error) as exc:
        if config.security == "none":
            raise ImapConnectionError(f"{where}: {exc}") from exc
        raise ImapConnectionError(f"{where}: TLS failed ({exc}); not continuing without TLS") from exc
    except (OSError, EOFError) as exc:
        raise ImapConnectionError(f"{where}: cannot connect ({exc})") from exc
    try:
        try:
            client.login(config.username, config.password(), initial_folder=None)
        except MailboxLoginError as exc:
            raise ImapConnectionError(f"{where}: login as {config.username} failed ({_server_text(exc)})") from exc
        # imaplib keeps the capabilities it saw before login; servers announce MOVE and UIDPLUS after it.
        typ, data = client.client.capability()
        if typ == "OK" and data and data[-1]:
            client.client.capabilities = tuple(data[-1].decode().upper().split())
        if config.processed_folder is not None and not client.folder.exists(config.processed_folder):
            raise ImapConnectionError(
                f"{where}: the folder {config.processed_folder!r} (imap.processed_folder) does not exist"
            )
        client.folder.set(config.folder)
    except ImapConnectionError:
        _logout(client)
        raise
    except (ImapToolsError, imaplib.IMAP4.error, OSError, EOFError) as exc:
        _logout(client)
        raise ImapConnectionError(f"{where}: {exc}") from exc
    return client


def _server_text(exc: MailboxLoginError) -> str:
    """Return the server's words from a failed command (e.g. "[AUTHENTICATIONFAILED] Authentication failed.")."""
    _typ, data = exc.command_result
    words = [part.decode(errors="replace") for part in data or [] if isinstance(part, bytes)]
    return " ".join(words) or str(exc)


def _logout(client: BaseMailBox) -> None:
    try:
        client.logout()
    except (ImapToolsError, imaplib.IMAP4.error, OSError, EOFError):
        logger.debug("IMAP logout failed", exc_info=True)


def _command(client: BaseMailBox, *args: str) -> None:
    typ, data = client.client.uid(*args)
    if typ != "OK":
        raise imaplib.IMAP4.error(f"UID {args[0]} failed: {data!r}")


def _mark_processed(client: BaseMailBox, config: ImapConfig, uid: str) -> None:
    """Flag UID \\Seen and, with a processed folder, move it there (MOVE, else COPY + delete that UID)."""
    _command(client, "STORE", uid, "+FLAGS", f"({MailMessageFlags.SEEN})")
    if config.processed_folder is None:
        return
    target = encode_folder(config.processed_folder).decode("ascii")  # modified UTF-7, quoted
    capabilities = client.client.capabilities
    if "MOVE" in capabilities:
        _command(client, "MOVE", uid, target)
        return
    _command(client, "COPY", uid, target)
    _command(client, "STORE", uid, "+FLAGS", f"({MailMessageFlags.DELETED})")
    if "UIDPLUS" in capabilities:
        _command(client, "EXPUNGE", uid)  # only this message, never others a person marked deleted
    # Without UIDPLUS it stays flagged \Deleted: the poll skips deleted mail, the server expunges it later.


def _pending_uids(client: BaseMailBox, config: ImapConfig) -> list[str]:
    criteria = "UNDELETED" if config.processed_folder is not None else "UNSEEN UNDELETED"
    return client.uids(criteria)


def _fetch(client: BaseMailBox, uids: list[str]) -> Iterator[_RawMessage]:
    if not uids:
        return  # imap_tools would read an empty uid_list as "no list" and fetch the whole folder
    client.email_message_class = _RawMessage
    for message in client.fetch(uid_list=uids, mark_seen=False, bulk=FETCH_BATCH):
        assert isinstance(message, _RawMessage)
        yield message


def imap_poll_mailbox(mailbox: Channel, *, should_stop: Callable[[], bool] | None = None) -> PollResult:
    """Store every unprocessed message in MAILBOX's IMAP folder and mark each processed after it is stored.

    Raise ImapConfigError for bad settings and ImapConnectionError when the server cannot be used; the
    messages already stored stay stored and marked. A database error stops the poll (it is re-raised, the
    message stays unmarked on the server). Any other error with one message is logged and the message is
    left for the next poll, so one bad message never blocks the rest. SHOULD_STOP is asked between messages.
    """
    config = imap_config(mailbox)
    result = PollResult(mailbox=mailbox.name)
    client = _connect(config, mailbox)
    try:
        uids = _pending_uids(client, config)
        for message in _fetch(client, uids):
            if should_stop is not None and should_stop():
                result.stopped = True
                break
            if message.uid is None:
                continue
            result.fetched += 1
            try:
                receipt = email_receive(raw=message.raw, mailbox=mailbox, source="imap")
            except DatabaseError:
                logger.exception(
                    "mailbox %s: database error storing IMAP message %s; poll stopped", mailbox, message.uid
                )
                result.failed += 1
                raise
            except Exception as exc:
                logger.exception(
                    "mailbox %s: IMAP message %s could not be stored; left on the server", mailbox, message.uid
                )
                result.failed += 1
                result.errors.append(f"message {message.uid}: {exc}")
                continue
            _mark_processed(client, config, message.uid)
            _count(result, receipt.outcome)
    except (ImapToolsError, imaplib.IMAP4.error, OSError, EOFError) as exc:
        raise ImapConnectionError(f"mailbox {mailbox.name}: IMAP server {config.host}:{config.port}: {exc}") from exc
    finally:
        _logout(client)
    return result


def _count(result: PollResult, outcome: Outcome) -> None:
    if outcome is Outcome.STORED:
        result.stored += 1
    elif outcome is Outcome.DUPLICATE:
        result.duplicates += 1
    elif outcome is Outcome.QUARANTINED:
        result.quarantined += 1
    else:
        result.bounces += 1
