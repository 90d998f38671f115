"""Callback requests: a customer asks to be called back, and an agent does, within the callback's own target.

A request comes from the phone line (the queue's wait was too long and the caller pressed a key, or the
telephony system turned the wait into a callback), from the chat widget when nobody is free, from a missed
call or a voicemail, or from the API. It lives on a case (a new phone case unless one is given) and waits,
*scheduled*, until its time window opens; then it is *queued* as routed work of kind "callback" — offered to a
free agent with the case and the customer's 360° view, due within TISKI_RESPONSE_TARGETS["callback"] minutes
of opening hours (the default business calendar's; round the clock without one).

Each try is an attempt with an outcome (reached, no answer, busy, voicemail, wrong number), recorded by the
agent or, for a call placed from the case, from the call's own events. Not reached: the work ends and the
request is scheduled again after TISKI_CALLBACK_RETRY_MINUTES; when those are used up (or the number is
wrong) the request is *unreachable* and the customer is told by SMS or email. One open request per customer
and number: asking again updates it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tiski.accounts.roles import WORK_CASES
from tiski.cases.exceptions import CaseError
from tiski.cases.models import Case, CaseEvent
from tiski.cases.services import case_create, case_event_record, message_reply, note_add
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.services import written_channel_for
from tiski.channels.voice.models import Call, CallbackAttempt, CallbackRequest
from tiski.customers.exceptions import IdentityInvalidError
from tiski.customers.models import Customer
from tiski.customers.normalize import normalize_phone
from tiski.routing.rules import Contact, classify_contact
from tiski.routing.services import work_acted, work_channel_change, work_enqueue
from tiski.sla.calendar import Calendar, CalendarNeverOpenError
from tiski.sla.models import BusinessCalendar

logger = logging.getLogger(__name__)

KIND = "callback"  # the channel kind of callback work (units, response target, routing rules)
CLOCK_BATCH = 100
Outcome = CallbackAttempt.Outcome
Status = CallbackRequest.Status
NOT_REACHED = frozenset({Outcome.NO_ANSWER, Outcome.BUSY, Outcome.VOICEMAIL})

SUBJECT = gettext_noop("Callback request: %(number)s")
UNREACHABLE_TEXT = gettext_noop(
    "Hello! We tried to call you back at %(number)s but could not reach you. Reply to this message or call "
    "us, and we will help you. Case %(reference)s."
)


class CallbackError(Exception):
    """A callback action that cannot be taken; the message says why."""


def callback_request(
    *,
    customer: Customer,
    number: str,
    source: str,
    case: Case | None = None,
    call: Call | None = None,
    channel: Channel | None = None,
    topic: str = "",
    preferred_time: str = "",
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    queue: str = "",
    actor: User | None = None,
) -> tuple[CallbackRequest, bool]:
    """Record CUSTOMER's request to be called back at NUMBER; return it and whether it is new.

    The request goes on CASE (a new phone case when none is given) and is queued for an agent at once unless
    its window opens later. A customer with an open request for the same number has it updated instead.
    Raise CallbackError when NUMBER is not a phone number or the window is wrong.
    """
    try:
        number = normalize_phone(number)
    except IdentityInvalidError:
        raise CallbackError(_("“%(number)s” is not a phone number.") % {"number": number[:40]}) from None
    if window_start and window_end and window_end <= window_start:
        raise CallbackError(_("The time window ends before it starts."))
    now = timezone.now()
    if window_end and window_end <= now:
        raise CallbackError(_("The time window is already over."))
    topic, preferred_time = topic.strip()[:300], preferred_time.strip()[:100]
    with transaction.atomic():
        Customer.objects.select_for_update().filter(pk=customer.pk).first()  # one open request per number
        existing = (
            CallbackRequest.objects.select_for_update()
            .filter(customer=customer, number=number, status__in=CallbackRequest.OPEN)
            .select_related("case")
            .first()
        )
        if existing is not None:
            _update(existing, topic=topic, preferred_time=preferred_time, call=call, source=source)
            return existing, False
        if case is None:
            with translation.override(settings.LANGUAGE_CODE):  # data, in the company's language
                subject = _(SUBJECT) % {"number": number}
            case = case_create(customer=customer, subject=subject, actor=None, channel=channel or _phone_channel())
        start = max(now, window_start) if window_start else now
        due_at = _due(start)
        request = CallbackRequest.objects.create(
            customer=customer,
            case=case,
            call=call,
            source=source,
            number=number,
            topic=topic,
            preferred_time=preferred_time,
            window_start=window_start,
            window_end=window_end,
            queue=queue[:100],
            next_attempt_at=start,
            due_at=due_at,
        )
        case_event_record(
            case=case,
            kind=CaseEvent.Kind.CALLBACK_REQUESTED,
            actor=actor,
            request_id=request.pk,
            number=number,
            source=source,
            topic=topic,
            preferred_time=preferred_time,
            window_start=window_start.isoformat() if window_start else "",
            window_end=window_end.isoformat() if window_end else "",
            due=request.due_at.isoformat() if request.due_at else "",
        )
        if start <= now:
            _enqueue(request, now=now)
    return request, True


def _update(request: CallbackRequest, *, topic: str, preferred_time: str, call: Call | None, source: str) -> None:
    """The customer asked again while a request is open: keep it, with what it did not know yet."""
    request.topic = request.topic or topic
    request.preferred_time = request.preferred_time or preferred_time
    request.call = request.call or call
    request.save(update_fields=["topic", "preferred_time", "call", "updated_at"])
    case_event_record(
        case=request.case,
        kind=CaseEvent.Kind.CALLBACK_REQUESTED,
        actor=None,
        request_id=request.pk,
        number=request.number,
        source=source,
        again=True,
    )


def max_attempts() -> int:
    """Return how many times a request is tried before it is unreachable (the first try and the retries)."""
    return len(settings.TISKI_CALLBACK_RETRY_MINUTES) + 1


def _due(start: datetime) -> datetime:
    """Return when a callback whose time comes at START is to be made: the callback target counted in the
    default business calendar's opening hours (a request made at night is due the next morning), or round the
    clock without one."""
    calendar = BusinessCalendar.objects.filter(is_default=True).first()
    seconds = _target_minutes() * 60
    try:
        return (Calendar.of(calendar) if calendar else Calendar.always()).add(start, seconds=seconds)
    except CalendarNeverOpenError:
        return start + timedelta(seconds=seconds)


def _target_minutes() -> int:
    return int(settings.TISKI_RESPONSE_TARGETS.get(KIND) or 15)


def _phone_channel() -> Channel | None:
    return Channel.objects.filter(kind=ChannelKind.PHONE, active=True).order_by("pk").first()


def _enqueue(request: CallbackRequest, *, now: datetime) -> None:
    """Make REQUEST routed work on its case now (the caller holds the request's lock, inside a transaction)."""
    case = request.case
    if case.status in (Case.Status.SOLVED, Case.Status.CLOSED):
        _close(request, status=Status.CANCELLED, reason="case_solved", actor=None, now=now)
        return
    customer = request.customer
    found = classify_contact(
        Contact(
            channel_kind=KIND,
            channel_id=case.channel_id,
            subject=case.subject,
            text=request.topic,
            case_type=case.type,
            category_id=case.category_id,
            tier=customer.tier or "",
            language=customer.language or "",
        )
    )
    retry = request.attempts > 0
    item = work_enqueue(
        case=case,
        queue=found.queue,
        channel_kind=KIND,
        language=found.language,
        skills=found.skills,
        priority=max(case.priority, found.priority or 0),
        due_at=request.due_at if not retry else _due(now),
        reason="callback_retry" if retry else "callback",
    )
    if item.channel_kind != KIND:  # the case had work already (an email being answered): it is a callback now
        work_channel_change(case=case, kind=KIND)
    request.status, request.next_attempt_at = Status.QUEUED, None
    request.save(update_fields=["status", "next_attempt_at", "updated_at"])


def callbacks_due(*, now: datetime | None = None) -> int:
    """Queue the scheduled requests whose window opened or whose next attempt is due; return how many.

    The router loop runs this with its other clocks, about once a second; each request is its own transaction.
    """
    now = now or timezone.now()
    due = CallbackRequest.objects.filter(status=Status.SCHEDULED, next_attempt_at__lte=now)
    queued = 0
    for request_id in due.order_by("next_attempt_at").values_list("id", flat=True)[:CLOCK_BATCH]:
        try:
            with transaction.atomic():
                request = (
                    CallbackRequest.objects.select_for_update(skip_locked=True, of=("self",))
                    .select_related("case", "customer")
                    .filter(pk=request_id, status=Status.SCHEDULED)
                    .first()
                )
                if request is not None:
                    _enqueue(request, now=now)
                    queued += 1
        except Exception:
            logger.exception("callback request %s could not be queued", request_id)
    return queued


def _locked(request: CallbackRequest) -> CallbackRequest:
    return CallbackRequest.objects.select_for_update(of=("self",)).select_related("case", "customer").get(pk=request.pk)


def callback_attempt_record(
    *, request: CallbackRequest, actor: User | None, outcome: str, note: str = "", call: Call | None = None
) -> CallbackAttempt:
    """Record one try to call REQUEST's customer back and act on how it went (see the module's docstring).

    ACTOR is the agent who called (None only for a call whose events name no agent). Raise CallbackError when
    the request is closed, the outcome unknown, or ACTOR may not work on cases.
    """
    if actor is not None and not actor.has_perm(WORK_CASES):
        raise CallbackError(_("You do not have permission to work on cases."))
    if outcome not in Outcome.values:
        raise CallbackError(_("Choose how the call went."))
    now = timezone.now()
    with transaction.atomic():
        request = _locked(request)
        if not request.is_open:
            raise CallbackError(_("This callback request is closed already."))
        attempt = CallbackAttempt.objects.create(request=request, agent=actor, call=call, outcome=outcome, note=note)
        request.attempts += 1
        case = request.case
        case_event_record(
            case=case,
            kind=CaseEvent.Kind.CALLBACK_ATTEMPTED,
            actor=actor,
            request_id=request.pk,
            attempt=request.attempts,
            outcome=outcome,
            number=request.number,
            call_id=call.pk if call else None,
        )
        if note.strip() and actor is not None:
            note_add(case=case, actor=actor, body=note)
        if outcome == Outcome.REACHED:
            _close(request, status=Status.DONE, reason="reached", actor=actor, now=now)
        elif outcome == Outcome.WRONG_NUMBER:
            _close(request, status=Status.UNREACHABLE, reason="wrong_number", actor=actor, now=now)
        else:
            retries = settings.TISKI_CALLBACK_RETRY_MINUTES
            if request.attempts <= len(retries):
                request.status = Status.SCHEDULED
                request.next_attempt_at = now + timedelta(minutes=retries[request.attempts - 1])
                request.save(update_fields=["status", "next_attempt_at", "attempts", "updated_at"])
                _work_end(case, actor)
            else:
                _close(request, status=Status.UNREACHABLE, reason="attempts_used", actor=actor, now=now)
    return attempt


def callback_cancel(*, request: CallbackRequest, actor: User, reason: str = "") -> CallbackRequest:
    """ACTOR closes REQUEST without calling (the customer was helped otherwise, or asked to cancel)."""
    if not actor.has_perm(WORK_CASES):
        raise CallbackError(_("You do not have permission to work on cases."))
    with transaction.atomic():
        request = _locked(request)
        if not request.is_open:
            raise CallbackError(_("This callback request is closed already."))
        _close(request, status=Status.CANCELLED, reason=reason.strip()[:200] or "cancelled", actor=actor)
    return request


def _close(
    request: CallbackRequest, *, status: str, reason: str, actor: User | None, now: datetime | None = None
) -> None:
    """Close REQUEST (locked) as STATUS; its work ends, and an unreachable customer is told in writing."""
    was_queued = request.status == Status.QUEUED
    request.status, request.next_attempt_at, request.closed_at = status, None, now or timezone.now()
    told_by = ""
    if status == Status.UNREACHABLE:
        told_by = _tell_unreachable(request, actor=actor, sms=reason != "wrong_number")
        request.customer_told_at = request.closed_at if told_by else None
    request.save()
    case_event_record(
        case=request.case,
        kind=CaseEvent.Kind.CALLBACK_CLOSED,
        actor=actor,
        request_id=request.pk,
        status=status,
        reason=reason,
        attempts=request.attempts,
        told_by=told_by,
    )
    if was_queued and not told_by:  # a message to the customer acts on the work itself
        _work_end(request.case, actor)


def _work_end(case: Case, actor: User | None) -> None:
    """End the callback work on CASE: the attempt was the work (a retry is queued again later)."""
    from tiski.routing.services import work_case_left_open

    if actor is not None:
        work_acted(case=case, agent=actor)
    else:
        work_case_left_open(case=case)


def _tell_unreachable(request: CallbackRequest, *, actor: User | None, sms: bool) -> str:
    """Tell REQUEST's customer in writing that we could not reach them; return the channel kind used, or ""."""
    if actor is None:
        return ""  # nobody to send it as: the case shows the request unreachable, an agent follows up
    channel = written_channel_for(request.customer, sms=sms)
    if channel is None:
        return ""
    language = request.customer.language or settings.LANGUAGE_CODE
    with translation.override(language):
        body = _(UNREACHABLE_TEXT) % {"number": request.number, "reference": request.case.reference}
    try:
        message_reply(case=request.case, actor=actor, body=body, channel=channel, status_after=Case.Status.PENDING)
    except CaseError as error:
        logger.warning("callback %s: customer not told: %s", request.pk, error)
        return ""
    return channel.kind


def callback_from_call(*, call: Call) -> None:
    """CALL was placed from a case with a callback waiting: its end is an attempt (reached or not)."""
    if call.direction != Call.Direction.OUTBOUND or call.case_id is None or call.agent is None:
        return
    request = CallbackRequest.objects.filter(case_id=call.case_id, status=Status.QUEUED).order_by("-pk").first()
    if request is None:
        return
    if call.status == Call.Status.ENDED:
        outcome = Outcome.REACHED
    elif call.status == Call.Status.VOICEMAIL:
        outcome = Outcome.VOICEMAIL
    else:
        outcome = Outcome.BUSY if call.outcome == "busy" else Outcome.NO_ANSWER
    callback_attempt_record(request=request, actor=call.agent, outcome=outcome, call=call)


def open_request_for(case: Case) -> CallbackRequest | None:
    """Return CASE's open callback request, if any (the newest)."""
    return CallbackRequest.objects.filter(case=case, status__in=CallbackRequest.OPEN).order_by("-pk").first()
