"""The one inbound pipeline every contact goes through: dedupe, identify, thread, store, publish."""

from __future__ import annotations

import contextvars
import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from tiski import events
from tiski.cases.html import sanitize_html
from tiski.cases.models import Case, CaseEvent, Message
from tiski.cases.references import case_pk_from_reference
from tiski.cases.services import FileIn, attachment_store, case_event_record, message_delivery_report
from tiski.channels.exceptions import InboundInvalidError
from tiski.channels.interface import InboundMessage, StatusUpdate, Threading
from tiski.channels.models import Channel, ChannelKind
from tiski.customers.models import Customer, Identity
from tiski.customers.services import customer_identify

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Receipt:
    """What happened to one inbound message."""

    message: Message
    case: Case
    case_created: bool
    duplicate: bool


def message_receive(*, inbound: InboundMessage) -> Receipt:
    """Store INBOUND exactly once on the right case of the right customer and publish MessageReceived.

    A message whose (channel, external id) is stored already is not stored again: the earlier receipt
    is returned with duplicate=True, also when two deliveries race.

    No lookup runs first: the unique constraint on (channel, external id) decides, and the message row is
    written before any attachment file, so a duplicate rolls back having left nothing behind. A first
    contact that loses a race for a new handle to a concurrent one is stored again, as that customer's.
    """
    if not inbound.handles:
        raise InboundInvalidError("An inbound message needs the sender's handle (address, number or id).")
    if not (inbound.body_text.strip() or inbound.body_html.strip() or inbound.attachments):
        raise InboundInvalidError("An inbound message needs a text, an HTML body or an attachment.")
    for attempt in range(1, STORE_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                return _store(inbound)
        except IntegrityError:
            existing = _stored(inbound) if inbound.external_id else None
            if existing is not None:
                return existing
            if attempt == STORE_ATTEMPTS:
                raise
    raise AssertionError("unreachable")  # the loop returns or raises


STORE_ATTEMPTS = 3


def _stored(inbound: InboundMessage) -> Receipt | None:
    message = (
        Message.objects.select_related("case").filter(channel=inbound.channel, external_id=inbound.external_id).first()
    )
    if message is None:
        return None
    return Receipt(message=message, case=message.case, case_created=False, duplicate=True)


_receiving: contextvars.ContextVar[bool] = contextvars.ContextVar("receiving", default=False)


_received: contextvars.ContextVar[Message | None] = contextvars.ContextVar("received", default=None)


def just_received(message_id: int) -> Message | None:
    """Return message MESSAGE_ID as the pipeline stored it (with its case and customer) while its MessageReceived
    is being published in this call stack, else None: subscribers inside the transaction read it without a query."""
    message = _received.get()
    return message if message is not None and message.pk == message_id else None


def receiving() -> bool:
    """Return whether the inbound pipeline is storing a message now (its MessageReceived is still to come)."""
    return _receiving.get()


def _store(inbound: InboundMessage) -> Receipt:
    token, received = _receiving.set(True), _received.set(None)
    try:
        return _store_receiving(inbound)
    finally:
        _receiving.reset(token)
        _received.reset(received)


def _store_receiving(inbound: InboundMessage) -> Receipt:
    identification = customer_identify(
        handles=inbound.handles,
        name=inbound.sender_name,
        language=inbound.language,
        source=f"channel:{inbound.channel.kind}",
    )
    customer = identification.customer
    previous = _thread(inbound=inbound, customer=customer)
    case_created = previous is None or not _continues(inbound=inbound, case=previous)
    if case_created:
        case = _case_open(inbound=inbound, customer=customer, follows=previous)
    else:
        assert previous is not None
        case = previous
        _case_touch(case)
    message = Message.objects.create(
        case=case,
        channel=inbound.channel,
        direction=Message.Direction.IN,
        author=Message.Author.CUSTOMER,
        identity=identification.identity,
        sender_name=inbound.sender_name[:200],
        subject=inbound.subject[:300],
        body_text=inbound.body_text,
        body_html=sanitize_html(inbound.body_html),
        full_text=inbound.full_text if inbound.full_text.strip() != inbound.body_text.strip() else "",
        auto_submitted=inbound.auto_submitted,
        external_id=inbound.external_id or None,
        raw=inbound.raw,
    )
    for attachment in inbound.attachments:
        attachment_store(
            message=message,
            file=FileIn(attachment.filename, attachment.content_type, attachment.content),
            content_id=attachment.content_id,
        )
    _receiving.set(False)  # the subscribers of MessageReceived see an ordinary transaction
    message.case = case  # as stored, for the subscribers that read it (just_received)
    _received.set(message)
    events.publish(
        events.MessageReceived(
            message_id=message.pk,
            case_id=case.pk,
            case_created=case_created,
            channel_kind=inbound.channel.kind,
            customer_id=customer.pk,
            customer_created=identification.created,
        )
    )
    return Receipt(message=message, case=case, case_created=case_created, duplicate=False)


def _thread(*, inbound: InboundMessage, customer: Customer) -> Case | None:
    """Return the case INBOUND continues, or None for a new topic."""
    if inbound.in_reply_to:
        answered = (
            Message.objects.select_related("case")
            # Any channel: a customer answers by email what was sent from a web-form case, too.
            .filter(external_id__in=list(inbound.in_reply_to))
            .order_by("-created_at")
            .first()
        )
        if answered is not None:
            return answered.case
    pks = [pk for token in inbound.case_reference.split() if (pk := case_pk_from_reference(token))]
    if pks:
        # Only the case's own customer continues it by reference; a guessed token opens a new case. Of
        # several tokens (a forwarded thread), the first that is the customer's own wins.
        own = {case.pk: case for case in Case.objects.filter(pk__in=pks, customer=customer)}
        referenced = next((own[pk] for pk in pks if pk in own), None)
        if referenced is not None:
            return referenced
    if inbound.threading is Threading.CONVERSATION:
        # A case of another channel that we wrote to on this one (a phone case continued by SMS) is the
        # conversation too; the newest open one wins.
        return (
            Case.objects.filter(customer=customer, status__in=Case.OPEN_STATUSES)
            .filter(
                Q(channel=inbound.channel)
                | Exists(
                    Message.objects.filter(
                        case=OuterRef("pk"), channel=inbound.channel, direction=Message.Direction.OUT
                    )
                )
            )
            .order_by("-updated_at")
            .first()
        )
    return None


def written_channel_for(customer: Customer, *, sms: bool = True) -> Channel | None:
    """Return the channel to write to CUSTOMER on when a call cannot (a phone case continued in writing): an
    active SMS channel when they have a phone number (and SMS is wanted), else an email channel when they have
    an email address; None when there is no way."""
    kinds = set(customer.identities.values_list("kind", flat=True))
    if sms and Identity.Kind.PHONE in kinds:
        channel = Channel.objects.filter(kind=ChannelKind.SMS, active=True).order_by("pk").first()
        if channel is not None:
            return channel
    if Identity.Kind.EMAIL in kinds:
        return Channel.objects.filter(kind=ChannelKind.EMAIL, active=True).order_by("pk").first()
    return None


def _continues(*, inbound: InboundMessage, case: Case) -> bool:
    """Return whether INBOUND goes onto CASE: never a closed case, nor one solved longer ago than allowed."""
    if case.status == Case.Status.CLOSED:
        return False
    if case.status == Case.Status.SOLVED and inbound.reopen_within is not None and case.solved_at is not None:
        return timezone.now() - case.solved_at <= inbound.reopen_within
    return True


def _case_open(*, inbound: InboundMessage, customer: Customer, follows: Case | None) -> Case:
    from tiski.cases.models import Category

    category = Category.objects.filter(pk=inbound.category_id).first() if inbound.category_id else None
    subject = inbound.subject.strip() or _subject_from_text(inbound.body_text)
    case = Case.objects.create(
        subject=subject[:300],
        customer=customer,
        channel=inbound.channel,
        category=category,
        team=(category.team if category else None) or inbound.channel.team,
    )
    case_event_record(case=case, kind=CaseEvent.Kind.CREATED, channel=inbound.channel.kind)
    if follows is not None:
        case.related.add(follows)
        case_event_record(case=follows, kind=CaseEvent.Kind.UPDATED, field="follow_up", new=case.reference)
    return case


def _case_touch(case: Case) -> None:
    """Reopen a case that waited on the customer or was solved, now that the customer wrote."""
    if case.status in (Case.Status.PENDING, Case.Status.SOLVED):
        old = case.status
        case.status = Case.Status.OPEN
        case.solved_at = None
        case.save(update_fields=["status", "solved_at", "updated_at"])
        case_event_record(case=case, kind=CaseEvent.Kind.REOPENED, old=old, new=case.status)
    else:
        case.save(update_fields=["updated_at"])


def _subject_from_text(text: str) -> str:
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if not first_line:
        return "(no subject)"
    return first_line if len(first_line) <= 80 else first_line[:77].rstrip() + "…"


# A provider reports a message's progress in any order (a "delivered" may arrive after the "read"); the
# message only moves forward. A failure is recorded whenever it comes, unless the customer has read it.
DELIVERY_RANK: dict[str, int] = {
    Message.Delivery.SENT: 1,
    Message.Delivery.DELIVERED: 2,
    Message.Delivery.READ: 3,
}


def delivery_status_apply(*, kind: str, update: StatusUpdate) -> Message | None:
    """Record a provider's delivery report on the outbound message it names (by the provider's id, on a
    channel of KIND); return the message, or None when no such message is stored (logged, nothing done).

    A report that carries the reply's reference confirms a delivery the outbox left in doubt (outbox_confirm)
    before it is applied: the provider's id is stored, and the reply is not sent again."""
    if update.reference:
        from tiski.channels.outbox import outbox_confirm

        outbox_confirm(reference=update.reference, external_id=update.external_id)
    message = (
        Message.objects.filter(channel__kind=kind, external_id=update.external_id, direction=Message.Direction.OUT)
        .order_by("-pk")
        .first()
    )
    if message is None:
        logger.info("delivery report for unknown %s message %s: ignored", kind, update.external_id)
        return None
    current = message.delivery_status
    if update.status == Message.Delivery.FAILED:
        if current == Message.Delivery.READ or (
            current == Message.Delivery.FAILED and message.delivery_error == update.error
        ):
            return message
    elif update.status == Message.Delivery.SENT or DELIVERY_RANK.get(update.status, 0) <= DELIVERY_RANK.get(current, 0):
        return message  # nothing new (a "sent" only confirms what the outbox recorded)
    if current not in (*DELIVERY_RANK, Message.Delivery.FAILED):
        # the provider took it and reports before the outbox recorded "sent" (it found the provider's id)
        Message.objects.filter(pk=message.pk).update(delivery_status=Message.Delivery.SENT)
    return message_delivery_report(message=message, status=update.status, actor=None, error=update.error)
