"""Automatic replies: a new case's first message is answered at once with its reference and when the customer can
expect a person's answer, which is what the case's first-response target promises (its clock's due time), and,
when customer service is closed, when it opens again.

One service for every written channel (email, web form, SMS, WhatsApp, Messenger, Instagram, chat). Never to
automatic or bulk mail, no-reply senders or Tiski's own addresses, once per case, and at most a few per sender an
hour, so that two auto-responders can never answer each other in a loop. The reply is a system message through
the outbox (marked automatic, so the customer's own autoresponder stays quiet); in a chat it is the widget's notice.

Every time is taken at the moment the message was received: whether the calendar was open then, and the due and
opening times phrased from that day ("by 14:30 today"), in the customer's language and the calendar's time zone.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from string import Template as DollarTemplate
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.template import Context, Template, TemplateSyntaxError
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext, pgettext

from tiski.cases.models import Case, CaseEvent, Message
from tiski.cases.services import case_event_record
from tiski.channels.models import Channel, ChannelKind
from tiski.sla.calendar import Calendar, CalendarNeverOpenError
from tiski.sla.models import WRITTEN_KINDS, AutoReply, SlaClock, SlaPolicy
from tiski.sla.services import Subject, calendar_of, policy_for

logger = logging.getLogger(__name__)

WRITTEN = frozenset(kind for kind, _label in WRITTEN_KINDS)
PER_HOUR = 3  # automatic replies to one sender an hour (a mailbox may set its own)
NO_REPLY = re.compile(r"^(?:no-?reply|do-?not-?reply|mailer-daemon|postmaster|bounce[s]?)[@+.-]", re.I)
MINUTES_AS_MINUTES = 60  # a due time this close is said in minutes ("within 2 minutes")


# --- the moment, for the customer ----------------------------------------------------------------------------


def _weekday(day: int) -> str:
    """Return weekday DAY (Monday 0) as in "by Monday" (Finnish: "maanantaina")."""
    return [
        pgettext("on a weekday", "Monday"),
        pgettext("on a weekday", "Tuesday"),
        pgettext("on a weekday", "Wednesday"),
        pgettext("on a weekday", "Thursday"),
        pgettext("on a weekday", "Friday"),
        pgettext("on a weekday", "Saturday"),
        pgettext("on a weekday", "Sunday"),
    ][day]


def _clock_time(moment: datetime) -> str:
    return pgettext("time of day", "%(hour)d:%(minute)02d") % {"hour": moment.hour, "minute": moment.minute}


def due_phrase(*, due: datetime, at: datetime, zone: ZoneInfo) -> str:
    """Return when an answer is due, said from moment AT in the active language: "within 2 minutes", "by 14:30
    today", "by 10:00 tomorrow", "by Monday 24.11. at 10:00", "by 24.11.2027 at 10:00"."""
    left = (due - at).total_seconds()
    if left <= MINUTES_AS_MINUTES * 60:
        minutes = max(1, math.ceil(left / 60))
        return ngettext("within %(count)d minute", "within %(count)d minutes", minutes) % {"count": minutes}
    local, today = due.astimezone(zone), at.astimezone(zone).date()
    days = (local.date() - today).days
    values = {"time": _clock_time(local), "weekday": _weekday(local.weekday()), "date": f"{local.day}.{local.month}."}
    if days == 0:
        return gettext("by %(time)s today") % values
    if days == 1:
        return gettext("by %(time)s tomorrow") % values
    if days < 7:
        return gettext("by %(weekday)s %(date)s at %(time)s") % values
    return gettext("by %(date)s at %(time)s") % {**values, "date": f"{local.day}.{local.month}.{local.year}"}


def opens_phrase(*, opens: datetime, at: datetime, zone: ZoneInfo) -> str:
    """Return when service opens, said from moment AT in the active language: "today at 8:00", "tomorrow at
    8:00", "on Monday 24.11. at 8:00", "on 7.1.2027 at 8:00"."""
    local, today = opens.astimezone(zone), at.astimezone(zone).date()
    days = (local.date() - today).days
    values = {"time": _clock_time(local), "weekday": _weekday(local.weekday()), "date": f"{local.day}.{local.month}."}
    if days <= 0:
        return gettext("today at %(time)s") % values
    if days == 1:
        return gettext("tomorrow at %(time)s") % values
    if days < 7:
        return gettext("on %(weekday)s %(date)s at %(time)s") % values
    return gettext("on %(date)s at %(time)s") % {**values, "date": f"{local.day}.{local.month}.{local.year}"}


# --- the decision --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expectation:
    """What the case's service level promises, seen at the moment the message arrived."""

    open: bool
    due: datetime | None
    opens: datetime | None
    zone: ZoneInfo


def expectation_for(*, case: Case, at: datetime) -> Expectation:
    """Return whether CASE's calendar is open at AT, when its first response is due and when service next opens.

    The calendar is that of the policy that started the case's first-response clock, else of the policy its
    conditions pick (a case without a first-response target is still told whether service is open).
    """
    clock = (
        SlaClock.objects.filter(case=case, metric=SlaClock.Metric.FIRST_RESPONSE, status__in=SlaClock.LIVE)
        .select_related("policy__calendar")
        .first()
    )
    policy: SlaPolicy | None = clock.policy if clock is not None else None
    if policy is None:
        policy = policy_for(
            Subject(
                channel_kind=case.channel.kind if case.channel else "",
                priority=case.priority,
                tier=case.customer.tier,
                case_type=case.type,
                queue_id=None,
            )
        )
    calendar: Calendar = calendar_of(policy)
    zone = ZoneInfo(policy.calendar.time_zone) if policy and policy.calendar else ZoneInfo(settings.TIME_ZONE)
    is_open = calendar.is_open(at)
    try:
        opens = None if is_open else calendar.next_open(at)
    except CalendarNeverOpenError:
        opens = None
    due = clock.due_at if clock is not None else None
    return Expectation(open=is_open, due=due, opens=opens, zone=zone)


def autoreply_for(*, channel: Channel, language: str) -> AutoReply | None:
    """Return the automatic reply of CHANNEL in LANGUAGE: the channel's own before its kind's, the language (or its
    base, fi for fi-FI) before the company language's. None when there is none."""
    rows = list(AutoReply.objects.filter(Q(channel=None) | Q(channel=channel), channel_kind=channel.kind))
    wanted = [language, language.split("-")[0], settings.LANGUAGE_CODE, settings.LANGUAGE_CODE.split("-")[0]]
    for code in wanted:
        for own in (True, False):
            for row in rows:
                if row.language.lower() == code.lower() and (row.channel_id is not None) == own:
                    return row
    return None


def _customer_first_name(name: str) -> str:
    return name.split()[0] if name.strip() else ""


def autoreply_render(*, text: str, case: Case, expectation: Expectation, at: datetime) -> str:
    """Return TEXT (an automatic reply with {{ placeholders }}) filled in for CASE, in the active language.

    Raise TemplateSyntaxError when the text cannot be read."""
    if expectation.due is not None:
        due = due_phrase(due=expectation.due, at=at, zone=expectation.zone)
    else:
        due = gettext("as soon as possible")
    opens = opens_phrase(opens=expectation.opens, at=at, zone=expectation.zone) if expectation.opens else ""
    context = {
        # Plain values only: an administrator's text must not reach the models' methods.
        "customer": {"name": case.customer.name, "first_name": _customer_first_name(case.customer.name)},
        "case": {"reference": case.reference, "subject": case.subject},
        "due": due,
        "opens": opens,
    }
    return Template(text).render(Context(context, autoescape=False)).strip()


def _mailbox_text(*, custom: dict[str, str], language: str, case: Case, hours: int, due: str, opens: str) -> str:
    """Return the mailbox's own text in LANGUAGE ($name, $reference, $hours, $subject, $due, $opens), or ""."""
    own = custom.get(language) or custom.get(language.split("-")[0])
    if not own:
        return ""
    values = {
        "name": case.customer.name,
        "reference": case.reference,
        "hours": hours,
        "subject": case.subject,
        "due": due,
        "opens": opens,
    }
    return DollarTemplate(own).safe_substitute(values).strip()


def _skip_reason(*, message: Message, acknowledge: bool) -> str:
    sender = message.identity.value if message.identity else ""
    if not acknowledge:
        return "acknowledgements are off for this mailbox"
    if message.auto_submitted:
        return "automatic mail"
    if not sender:
        return "no sender address"
    if message.identity is not None and message.identity.kind == "email":
        from tiski.channels.email.mailbox import our_addresses

        if NO_REPLY.match(sender):
            return "a no-reply sender"
        if sender.lower() in our_addresses():
            return "Tiski's own address"
    return ""


def autoreply_send(*, message_id: int, case_created: bool, language: str = "") -> str:
    """Send the automatic reply to inbound message MESSAGE_ID that opened a case; return what was done and why
    ("queued", "sent" for a chat notice, or "skipped: …").

    LANGUAGE (a chat widget's) wins over the customer's language; the company language is the last resort.
    """
    if not case_created:
        return "skipped: not a new case"
    message = (
        Message.objects.select_related("channel", "case__customer", "case__channel", "identity")
        .filter(pk=message_id)
        .first()
    )
    if message is None or message.direction != Message.Direction.IN or message.channel.kind not in WRITTEN:
        return "skipped: not a customer's written message"
    case = message.case
    kind = message.channel.kind
    per_hour, acknowledge, custom, hours = PER_HOUR, True, {}, 24
    if kind == ChannelKind.EMAIL:
        from tiski.channels.email.mailbox import mailbox_policy

        mailbox = mailbox_policy(message.channel)
        per_hour, acknowledge, custom = (
            mailbox.acknowledgements_per_hour,
            mailbox.acknowledge,
            mailbox.acknowledgement_texts,
        )
        hours = mailbox.response_hours.get(Case.Priority(case.priority).name.lower(), 24)
    reason = _skip_reason(message=message, acknowledge=acknowledge)
    if reason:
        return f"skipped: {reason}"
    language = language or case.customer.language or settings.LANGUAGE_CODE
    reply = autoreply_for(channel=message.channel, language=language)
    if reply is None:
        return "skipped: no automatic reply for this channel"
    if not reply.enabled:
        return "skipped: the automatic reply is off"
    since = timezone.now() - timedelta(hours=1)
    recent = Message.objects.filter(
        author=Message.Author.SYSTEM, direction=Message.Direction.OUT, identity=message.identity, created_at__gte=since
    ).count()
    if recent >= per_hour:
        return "skipped: the sender got enough automatic replies this hour"
    at = message.created_at
    expectation = expectation_for(case=case, at=at)
    with translation.override(language):
        text = reply.text_open if expectation.open or not reply.text_closed.strip() else reply.text_closed
        if kind == ChannelKind.CHAT and expectation.open and not _someone_online(message.channel):
            from tiski.channels.chat.services import chat_nobody_online_text

            body = chat_nobody_online_text()
        else:
            try:
                body = autoreply_render(text=text, case=case, expectation=expectation, at=at)
            except TemplateSyntaxError as error:
                logger.error("automatic reply %s cannot be read: %s", reply, error)
                return "skipped: the automatic reply's text cannot be read"
        if custom:
            due = due_phrase(due=expectation.due, at=at, zone=expectation.zone) if expectation.due else ""
            opens = opens_phrase(opens=expectation.opens, at=at, zone=expectation.zone) if expectation.opens else ""
            body = _mailbox_text(custom=custom, language=language, case=case, hours=hours, due=due, opens=opens) or body
    if not body:
        return "skipped: the automatic reply is empty"
    return _deliver(message=message, body=body)


def _someone_online(channel: Channel) -> bool:
    from tiski.channels.chat.selectors import chat_agents_online

    return chat_agents_online(channel=channel)


@transaction.atomic
def _deliver(*, message: Message, body: str) -> str:
    """Write the reply on the case (once: a task run twice finds the first) and send it; record it as automatic."""
    case = Case.objects.select_for_update().get(pk=message.case_id)
    answered = CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.REPLY_QUEUED, data__autoreply=True)
    if answered.exists():
        return "skipped: the case has its automatic reply"
    if case.first_response_at is not None:
        return "skipped: an agent has answered already"
    if message.channel.kind == ChannelKind.CHAT:
        from tiski.channels.chat.services import chat_notice

        reply = chat_notice(case=case, text=body, channel=message.channel)
        Message.objects.filter(pk=reply.pk).update(identity=message.identity)  # counted for the sender's limit
        outcome = "sent"
    else:
        reply = Message.objects.create(
            case=case,
            channel=message.channel,
            direction=Message.Direction.OUT,
            author=Message.Author.SYSTEM,
            identity=message.identity,
            subject=case.subject,
            body_text=body,
            delivery_status=Message.Delivery.QUEUED,
        )
        outcome = "queued"
    case_event_record(case=case, kind=CaseEvent.Kind.REPLY_QUEUED, message_id=reply.pk, automatic=True, autoreply=True)
    if outcome == "queued":
        from tiski.channels.outbox import outbox_enqueue

        outbox_enqueue(message=reply)
    return outcome
