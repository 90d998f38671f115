"""The durable outbox: a reply's Delivery row is written with the message, then worked off by the worker."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tiski.cases.models import CaseEvent, Message
from tiski.cases.services import case_event_record
from tiski.channels.exceptions import ChannelError, DeliveryError, DeliveryPermanentError
from tiski.channels.interface import OutboundAttachment, OutboundMessage, adapter_for
from tiski.channels.models import Delivery

logger = logging.getLogger(__name__)


def stale_claim() -> timedelta:
    """Return how long a delivery may stay "sending" before it is in doubt and sent again (a dead worker's claim)."""
    return timedelta(seconds=settings.TISKI_OUTBOX_STALE_CLAIM_S)


# A reply's key in the provider's status callbacks (Twilio's StatusCallback query, WhatsApp's
# biz_opaque_callback_data): the callback names the message even when the worker died before it stored
# the provider's id, so that the in-doubt delivery is confirmed instead of sent again.
REFERENCE_PREFIX = "tiski-message-"


def outbound_reference(message_id: int) -> str:
    """Return the key an adapter gives the provider for reply MESSAGE_ID, to be echoed in status callbacks."""
    return f"{REFERENCE_PREFIX}{message_id}"


def outbound_reference_parse(reference: str) -> int | None:
    """Return the message id in REFERENCE (see outbound_reference), or None when it is not one of ours."""
    digits = reference.removeprefix(REFERENCE_PREFIX) if reference.startswith(REFERENCE_PREFIX) else ""
    return int(digits) if digits.isdigit() else None


def outbox_enqueue(*, message: Message) -> Delivery:
    """Write the outbox row for MESSAGE and enqueue its first attempt, in the caller's transaction."""
    from tiski.channels.tasks import outbox_deliver

    delivery = Delivery.objects.create(message=message, next_attempt_at=timezone.now())
    outbox_deliver.enqueue(delivery_id=delivery.pk)
    if _delivers_inline(message):
        # A live channel (chat) is attempted right after commit in this process; the task stays as the
        # durable fallback and finds the delivery sent (or retries it when this attempt failed).
        delivery_id = delivery.pk
        transaction.on_commit(lambda: _attempt_inline(delivery_id))
    return delivery


def _delivers_inline(message: Message) -> bool:
    """Return whether MESSAGE's channel adapter asks for delivery at commit (``deliver_inline = True``)."""
    try:
        return adapter_for(message.channel.kind).deliver_inline
    except ChannelError:
        return False


def _attempt_inline(delivery_id: int) -> None:
    try:
        outbox_attempt(delivery_id=delivery_id)
    except Exception:  # the queued task retries; the reply is not lost
        logger.exception("delivery %s: the immediate attempt failed", delivery_id)


def backoff(attempt: int) -> timedelta:
    """Return the wait before retry number ATTEMPT: base × 2^(attempt−1), at most six hours."""
    seconds = settings.TISKI_OUTBOX_BACKOFF_S * 2 ** max(attempt - 1, 0)
    return timedelta(seconds=min(seconds, 6 * 3600))


def _claim(delivery_id: int) -> Delivery | None:
    """Mark the delivery as being sent by this worker, or return None when it is not due."""
    now = timezone.now()
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None or delivery.next_attempt_at > now:
            return None
        stale = delivery.status == Delivery.Status.SENDING and (
            delivery.claimed_at is None or now - delivery.claimed_at > stale_claim()
        )
        if delivery.status != Delivery.Status.PENDING and not stale:
            return None
        delivery.status = Delivery.Status.SENDING
        delivery.claimed_at = now
        delivery.attempts += 1
        delivery.save(update_fields=["status", "claimed_at", "attempts", "updated_at"])
        return delivery


def outbound_from_message(message: Message) -> OutboundMessage:
    """Build the adapter's view of a stored reply."""
    adapter = adapter_for(message.channel.kind)
    case = message.case
    recipients = _recipients(message=message, kinds=adapter.recipient_kinds)
    earlier = list(
        case.messages.exclude(pk=message.pk)
        .exclude(external_id=None)
        .filter(channel__kind=message.channel.kind)
        .values_list("external_id", flat=True)
    )
    earlier_ids = [external_id for external_id in earlier if external_id]
    return OutboundMessage(
        message_id=message.pk,
        channel=message.channel,
        case_reference=case.reference,
        subject=case.subject,
        body_text=message.body_text,
        recipients=recipients,
        sender_name=message.sender_name,
        language=case.customer.language,
        in_reply_to=earlier_ids,
        automatic=message.author == Message.Author.SYSTEM,
        body_html=message.body_html if message.author == Message.Author.SYSTEM else "",
        attachments=[OutboundAttachment(a.filename, a.content_type, a.file.read()) for a in message.attachments.all()],
    )


def _recipients(*, message: Message, kinds: tuple[str, ...]) -> list[str]:
    """Address the customer where they last wrote from; else their first handle of a fitting kind."""
    if (
        message.identity is not None
        and message.identity.kind in kinds
        and message.identity.customer_id == message.case.customer_id
    ):
        return [message.identity.value]
    last_inbound = (
        message.case.messages.filter(
            direction=Message.Direction.IN, identity__kind__in=kinds, identity__customer=message.case.customer_id
        )
        .select_related("identity")
        .order_by("-created_at")
        .first()
    )
    if last_inbound is not None and last_inbound.identity is not None:
        return [last_inbound.identity.value]
    return list(message.case.customer.identities.filter(kind__in=kinds).values_list("value", flat=True)[:1])


def outbox_attempt(*, delivery_id: int) -> str:
    """Try to send one due delivery and record the outcome; return the delivery's new status.

    A failed attempt is retried with exponential backoff up to TISKI_OUTBOX_MAX_ATTEMPTS; a permanent
    refusal fails at once. A crash after the provider took the message but before the result was stored
    leaves the delivery "sending", in doubt: a status callback that names it (outbound_reference) confirms
    it (outbox_confirm); otherwise it is sent again once the claim is stale (TISKI_OUTBOX_STALE_CLAIM_S),
    with the same reference and, for email, the same Message-ID, so the receiving side can drop the copy.
    """
    from tiski.channels.tasks import outbox_deliver

    delivery = _claim(delivery_id)
    if delivery is None:
        return "skipped"
    message = Message.objects.select_related("case__customer", "channel", "identity").get(pk=delivery.message_id)
    try:
        result = adapter_for(message.channel.kind).send(message=outbound_from_message(message))
    except Exception as exc:
        permanent = isinstance(exc, DeliveryPermanentError)
        if not isinstance(exc, DeliveryError):
            logger.exception("delivery %s: unexpected error from the %s adapter", delivery_id, message.channel)
        error = f"{type(exc).__name__}: {exc}"[:2000]
        with transaction.atomic():
            delivery = Delivery.objects.select_for_update().get(pk=delivery_id)
            if delivery.status == Delivery.Status.SENT:
                return delivery.status  # the answer was lost, but the provider's status callback confirmed it
            delivery.last_error = error
            if permanent or delivery.attempts >= settings.TISKI_OUTBOX_MAX_ATTEMPTS:
                delivery.status = Delivery.Status.FAILED
                message.delivery_status = Message.Delivery.FAILED
                case_event_record(
                    case=message.case, kind=CaseEvent.Kind.DELIVERY_FAILED, message_id=message.pk, error=error
                )
            else:
                delivery.status = Delivery.Status.PENDING
                delivery.next_attempt_at = timezone.now() + backoff(delivery.attempts)
                message.delivery_status = Message.Delivery.RETRYING
                outbox_deliver.using(run_after=delivery.next_attempt_at).enqueue(delivery_id=delivery.pk)
            message.delivery_error = error
            delivery.save(update_fields=["status", "next_attempt_at", "last_error", "updated_at"])
            message.save(update_fields=["delivery_status", "delivery_error"])
        logger.warning("delivery %s attempt %s failed: %s", delivery_id, delivery.attempts, error)
        return delivery.status
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().get(pk=delivery_id)
        if delivery.status == Delivery.Status.SENT:
            return delivery.status  # a status callback confirmed it while the provider's answer was on its way
        _sent_record(delivery=delivery, message=message, external_id=result.external_id)
    return delivery.status


def _sent_record(*, delivery: Delivery, message: Message, external_id: str) -> None:
    """Mark DELIVERY and its MESSAGE sent with the provider's EXTERNAL_ID (in the caller's transaction)."""
    delivery.status = Delivery.Status.SENT
    delivery.last_error = ""
    delivery.save(update_fields=["status", "last_error", "updated_at"])
    message.delivery_status = Message.Delivery.SENT
    message.delivery_error = ""
    message.external_id = external_id or None
    message.sent_at = timezone.now()
    message.save(update_fields=["delivery_status", "delivery_error", "external_id", "sent_at"])
    case_event_record(case=message.case, kind=CaseEvent.Kind.REPLY_SENT, message_id=message.pk)


def outbox_confirm(*, reference: str, external_id: str) -> Message | None:
    """Record that the provider took the reply REFERENCE names (outbound_reference) as EXTERNAL_ID, when the
    outbox has not recorded it yet: the worker died between the provider's answer and storing it. Return
    the message when it was confirmed now, else None (unknown reference, or recorded already)."""
    message_id = outbound_reference_parse(reference)
    if message_id is None or not external_id:
        return None
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().filter(message_id=message_id).first()
        if delivery is None or delivery.status not in (Delivery.Status.SENDING, Delivery.Status.PENDING):
            return None
        message = Message.objects.select_related("case").get(pk=message_id)
        if message.external_id:
            return None
        _sent_record(delivery=delivery, message=message, external_id=external_id)
        logger.info("delivery %s: confirmed by the provider's status callback as %s", delivery.pk, external_id)
        return message


def outbox_requeue_stale() -> int:
    """Enqueue an attempt for every unfinished delivery that has none waiting; return how many. Run when a
    worker starts.

    A pending delivery is attempted when due; one a dead worker left "sending" is attempted once its
    claim is stale (TISKI_OUTBOX_STALE_CLAIM_S after it was claimed), however soon the worker came back.
    Extra attempts are harmless: only a due, unclaimed delivery is sent.
    """
    from tiski.channels.tasks import outbox_deliver

    unfinished = Delivery.objects.filter(status__in=[Delivery.Status.PENDING, Delivery.Status.SENDING])
    rows = list(unfinished.values_list("pk", "status", "next_attempt_at", "claimed_at"))
    requeued = 0
    waiting = _waiting_attempts()
    with transaction.atomic():
        for delivery_id, status, next_attempt_at, claimed_at in rows:
            if status == Delivery.Status.PENDING:
                if delivery_id in waiting and waiting[delivery_id] >= next_attempt_at:
                    continue  # its attempt waits in the queue already
                due = next_attempt_at
            else:
                due = (claimed_at or timezone.now()) + stale_claim()
            outbox_deliver.using(run_after=due).enqueue(delivery_id=delivery_id)
            requeued += 1
    return requeued


def _waiting_attempts() -> dict[int, datetime]:
    """Return, per delivery whose attempt waits in the database task queue (not yet taken by a worker), when
    the latest of them runs: a pending delivery with one due when it is needs no second one (else the queue
    would hold every attempt once more after each restart). Empty with another task backend."""
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    from tiski.channels.tasks import outbox_deliver

    if not isinstance(outbox_deliver.get_backend(), DatabaseBackend):
        return {}
    queued = DBTaskResult.objects.filter(status="READY", task_path=outbox_deliver.module_path)
    latest: dict[int, datetime] = {}
    for args_kwargs, run_after in queued.values_list("args_kwargs", "run_after").iterator():
        delivery_id = ((args_kwargs or {}).get("kwargs") or {}).get("delivery_id")
        if isinstance(delivery_id, int) and (delivery_id not in latest or run_after > latest[delivery_id]):
            latest[delivery_id] = run_after
    return latest
