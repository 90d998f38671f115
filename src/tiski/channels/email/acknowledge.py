"""Acknowledge every new case that arrives by email: its reference and when to expect an answer.

Never to automatic mail, bounces, no-reply senders or Tiski's own addresses, and at most a few per
sender an hour, so that two auto-responders can never mail each other in a loop.
"""

from __future__ import annotations

import re
from datetime import timedelta
from string import Template

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from tiski.cases.models import Case, CaseEvent, Message
from tiski.cases.services import case_event_record
from tiski.channels.email.mailbox import mailbox_policy, our_addresses
from tiski.channels.models import ChannelKind
from tiski.channels.outbox import outbox_enqueue

_NO_REPLY = re.compile(r"^(?:no-?reply|do-?not-?reply|mailer-daemon|postmaster|bounce[s]?)[@+.-]", re.I)


def acknowledgement_send(*, message_id: int, case_created: bool) -> str:
    """Queue the acknowledgement of an inbound email that opened a case; return what was done and why."""
    if not case_created:
        return "skipped: not a new case"
    message = Message.objects.select_related("channel", "case__customer", "identity").filter(pk=message_id).first()
    if message is None or message.channel.kind != ChannelKind.EMAIL or message.direction != Message.Direction.IN:
        return "skipped: not an inbound email"
    policy = mailbox_policy(message.channel)
    sender = message.identity.value if message.identity else ""
    reason = (
        "acknowledgements are off for this mailbox"
        if not policy.acknowledge
        else "automatic mail"
        if message.auto_submitted
        else "no sender address"
        if not sender
        else "a no-reply sender"
        if _NO_REPLY.match(sender)
        else "Tiski's own address"
        if sender in our_addresses()
        else ""
    )
    if reason:
        return f"skipped: {reason}"
    since = timezone.now() - timedelta(hours=1)
    recent = Message.objects.filter(
        author=Message.Author.SYSTEM, direction=Message.Direction.OUT, identity=message.identity, created_at__gte=since
    ).count()
    if recent >= policy.acknowledgements_per_hour:
        return "skipped: the sender got enough acknowledgements this hour"
    hours = policy.response_hours.get(_priority_name(message.case), 24)
    return _queue(message=message, body=_text(case=message.case, hours=hours, custom=policy.acknowledgement_texts))


def _priority_name(case: Case) -> str:
    return Case.Priority(case.priority).name.lower()


def _text(*, case: Case, hours: int, custom: dict[str, str]) -> str:
    """Return the acknowledgement in the customer's language: the mailbox's own text, else the built-in one."""
    language = case.customer.language or settings.LANGUAGE_CODE
    own = custom.get(language) or custom.get(language.split("-")[0])
    if own:
        values = {"name": case.customer.name, "reference": case.reference, "hours": hours, "subject": case.subject}
        return Template(own).safe_substitute(values).strip()
    with translation.override(language):
        return render_to_string(
            "channels/email/acknowledgement.txt",
            {"case": case, "reference": case.reference, "hours": hours, "customer": case.customer},
        ).strip()


@transaction.atomic
def _queue(*, message: Message, body: str) -> str:
    case = message.case
    ack = Message.objects.create(
        case=case,
        channel=message.channel,
        direction=Message.Direction.OUT,
        author=Message.Author.SYSTEM,
        identity=message.identity,
        subject=case.subject,
        body_text=body,
        delivery_status=Message.Delivery.QUEUED,
    )
    case_event_record(case=case, kind=CaseEvent.Kind.REPLY_QUEUED, message_id=ack.pk, automatic=True)
    outbox_enqueue(message=ack)
    return "queued"
