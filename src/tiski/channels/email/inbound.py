"""Every way mail arrives (SMTP, IMAP, provider webhooks, the MTA pipe) ends here: one function, one outcome.

Mail that cannot be stored as a message is never dropped: it is quarantined with its raw bytes and the
reason, for an administrator to see and re-process.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import re
from dataclasses import dataclass
from email.utils import parseaddr

from django.db import DataError, transaction
from django.utils import timezone

from tiski.cases.models import CaseEvent, Message
from tiski.cases.references import reference_tokens_find
from tiski.cases.services import case_event_record
from tiski.channels.email.mailbox import MailboxPolicy, mailbox_policy, our_addresses
from tiski.channels.email.parsing import EmailParseError, ParsedEmail, email_parse
from tiski.channels.exceptions import InboundInvalidError
from tiski.channels.interface import InboundAttachment, InboundMessage
from tiski.channels.models import Channel, ChannelKind, QuarantinedMail
from tiski.channels.services import Receipt, message_receive
from tiski.customers.exceptions import IdentityInvalidError
from tiski.customers.services import Handle

logger = logging.getLogger(__name__)


class Outcome(enum.Enum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    BOUNCE = "bounce"
    QUARANTINED = "quarantined"


@dataclass(frozen=True)
class EmailReceipt:
    outcome: Outcome
    receipt: Receipt | None = None
    quarantined: QuarantinedMail | None = None


def email_receive(*, raw: bytes, mailbox: Channel, source: str = "") -> EmailReceipt:
    """Store one raw mail that arrived at MAILBOX, exactly once, and return what became of it.

    Returns only after the mail is committed to the database (as a message, a recorded bounce or a
    quarantined mail), so a caller may then acknowledge it to the sender, delete it from the server or
    exit 0 to the MTA. Raises only when the database itself fails.
    """
    if mailbox.kind != ChannelKind.EMAIL:
        raise ValueError(f"{mailbox} is not a mailbox")
    policy = mailbox_policy(mailbox)
    if len(raw) > policy.max_bytes:
        return _quarantine(mailbox, raw, f"the mail is {len(raw)} bytes, over the limit of {policy.max_bytes}", source)
    try:
        parsed = email_parse(raw)
    except EmailParseError as exc:
        return _quarantine(mailbox, raw, f"the mail could not be read: {exc}", source)
    if parsed.bounce:
        return _bounce_record(mailbox=mailbox, parsed=parsed, raw=raw, source=source)
    if parsed.from_address in our_addresses():
        return _quarantine(mailbox, raw, f"mail from Tiski's own address {parsed.from_address} (a loop?)", source)
    try:
        inbound = _inbound(mailbox=mailbox, policy=policy, parsed=parsed, raw=raw)
        receipt = message_receive(inbound=inbound)
    except (InboundInvalidError, IdentityInvalidError, DataError) as exc:
        # DataError: the database refused a value of this mail (it is the mail, not the database: keep it).
        return _quarantine(mailbox, raw, f"the mail could not be stored: {exc}", source)
    return EmailReceipt(Outcome.DUPLICATE if receipt.duplicate else Outcome.STORED, receipt=receipt)


MAX_EXTERNAL_ID = 500  # Message.external_id's length


def _external_id(parsed: ParsedEmail, raw: bytes) -> str:
    """The Message-ID, or a digest of the bytes when a mail has none or an absurd one (same bytes, same mail)."""
    if parsed.message_id and len(parsed.message_id) <= MAX_EXTERNAL_ID:
        return parsed.message_id
    return f"<sha256-{hashlib.sha256(raw).hexdigest()}@tiski.invalid>"


def _inbound(*, mailbox: Channel, policy: MailboxPolicy, parsed: ParsedEmail, raw: bytes) -> InboundMessage:
    sender_address, sender_name = parsed.from_address, parsed.from_name
    forwarded = (
        _forwarded_original(parsed)
        if policy.forwards_from_agents and _looks_forwarded(parsed) and _from_agent(sender_address)
        else None
    )
    if forwarded is not None:
        sender_name, sender_address = forwarded
    text = parsed.visible_text if forwarded is None else parsed.text
    return InboundMessage(
        channel=mailbox,
        handles=[Handle("email", sender_address)],
        sender_name=sender_name,
        subject=_strip_reply_prefixes(parsed.subject) if forwarded else parsed.subject,
        body_text=text,
        full_text=parsed.text,
        body_html=parsed.html,
        attachments=[a for a in parsed.attachments if isinstance(a, InboundAttachment)],
        raw=raw,
        external_id=_external_id(parsed, raw),
        in_reply_to=[*parsed.in_reply_to, *reversed(parsed.references)],
        case_reference=" ".join(reference_tokens_find(parsed.subject)),
        auto_submitted=parsed.auto_submitted,
        reopen_within=policy.reopen_within,
    )


_FORWARD_FROM = re.compile(
    r"^[>\s*]*(?:From|Lähettäjä|Från|Von|De)\s*:\s*\**(?P<value>[^\n]+?@[^\n]+?)\**\s*$", re.I | re.M
)
_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|fw|fwd|vs|vl|sv|vb|wg|aw|tr)\s*:\s*)+", re.I)


_FORWARD_SUBJECT = re.compile(r"^\s*(?:(?:re|vs|sv|aw)\s*:\s*)*(?:fw|fwd|vl|vb|wg|tr)\s*:", re.I)


def _looks_forwarded(parsed: ParsedEmail) -> bool:
    """Return whether PARSED is a forward (by its subject or an attached message): cheap, before any query."""
    return bool(_FORWARD_SUBJECT.match(parsed.subject)) or any(
        a.content_type == "message/rfc822" for a in parsed.attachments
    )


def _strip_reply_prefixes(subject: str) -> str:
    return _REPLY_PREFIX.sub("", subject).strip() or subject


def _from_agent(address: str) -> bool:
    from django.contrib.auth.models import User

    return User.objects.filter(email__iexact=address, is_active=True, groups__isnull=False).exists()


def _forwarded_original(parsed: ParsedEmail) -> tuple[str, str] | None:
    """Return (name, address) of the original sender of an agent's forward, or None if none is found."""
    for attachment in parsed.attachments:
        if attachment.content_type == "message/rfc822":
            try:
                inner = email_parse(attachment.content)
            except EmailParseError:
                continue
            return inner.from_name, inner.from_address
    match = _FORWARD_FROM.search(parsed.text)
    if match is None:
        return None
    name, address = parseaddr(match.group("value").replace("mailto:", ""))
    return (name, address.lower()) if "@" in address else None


@transaction.atomic
def _quarantine(mailbox: Channel, raw: bytes, reason: str, source: str) -> EmailReceipt:
    logger.warning("mailbox %s: quarantined a mail: %s", mailbox, reason)
    item = QuarantinedMail.objects.create(channel=mailbox, raw=raw, reason=reason, source=source)
    return EmailReceipt(Outcome.QUARANTINED, quarantined=item)


@transaction.atomic
def _bounce_record(*, mailbox: Channel, parsed: ParsedEmail, raw: bytes, source: str) -> EmailReceipt:
    """Mark the outbound message that bounced; a report about a mail we never sent is quarantined."""
    bounced = (
        Message.objects.select_for_update(of=("self",))
        .filter(direction=Message.Direction.OUT, external_id=parsed.bounced_message_id)
        .select_related("case")
        .first()
        if parsed.bounced_message_id
        else None
    )
    if bounced is None:
        return _quarantine(mailbox, raw, "a delivery failure report about a mail Tiski did not send", source)
    reason = (parsed.visible_text or parsed.subject)[:2000]
    bounced.delivery_status = Message.Delivery.BOUNCED
    bounced.delivery_error = reason
    bounced.save(update_fields=["delivery_status", "delivery_error"])
    case_event_record(
        case=bounced.case, kind=CaseEvent.Kind.DELIVERY_FAILED, message_id=bounced.pk, error=reason, bounce=True
    )
    QuarantinedMail.objects.create(
        channel=mailbox,
        raw=raw,
        reason="delivery failure report",
        source=source,
        resolved_at=timezone.now(),
        message=bounced,
    )
    return EmailReceipt(Outcome.BOUNCE)


def quarantine_reprocess(*, item: QuarantinedMail) -> EmailReceipt:
    """Run a quarantined mail through the pipeline again (after a fix); mark it resolved when stored."""
    result = email_receive(raw=bytes(item.raw), mailbox=item.channel, source=item.source or "reprocess")
    if result.outcome in (Outcome.STORED, Outcome.DUPLICATE, Outcome.BOUNCE):
        item.resolved_at = timezone.now()
        item.message = result.receipt.message if result.receipt else item.message
        item.save(update_fields=["resolved_at", "message"])
    elif result.quarantined is not None and result.quarantined.pk != item.pk:
        result.quarantined.delete()  # still failing: keep the original entry, with the newest reason
        item.reason = result.quarantined.reason
        item.save(update_fields=["reason"])
    return result


class QuarantineResolvedError(Exception):
    """The quarantined mail was already stored or dismissed."""


@transaction.atomic
def quarantine_dismiss(*, item: QuarantinedMail) -> QuarantinedMail:
    """Mark ITEM resolved without storing it (spam, a test, a duplicate); its raw source is kept.

    Raise QuarantineResolvedError when it was already resolved.
    """
    item = QuarantinedMail.objects.select_for_update().get(pk=item.pk)
    if item.resolved_at is not None:
        raise QuarantineResolvedError("This mail was already handled.")
    item.resolved_at = timezone.now()
    item.save(update_fields=["resolved_at"])
    return item
