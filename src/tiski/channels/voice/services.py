"""Apply call events: keep each call's state, recognise the caller, log the call on a case when it ends.

Events may arrive late, twice or out of order (providers retry; a status callback can overtake another):
each call is one row locked while an event is applied, times are only ever filled in, and a call that has
ended stays ended. A call is logged on its case once, when it reaches its final state: the case the agent
picked during the call, else a new phone case of the caller (a customer is created for an unknown number).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tiski.accounts.roles import ASSIGN_ANY, WORK_CASES
from tiski.cases.models import Case, CaseEvent
from tiski.cases.services import case_create, case_event_record, note_add
from tiski.channels.exceptions import ChannelConfigError
from tiski.channels.interface import CallEvent
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.voice.models import Call, CallbackRequest
from tiski.customers.exceptions import IdentityInvalidError
from tiski.customers.lookup import identity_find
from tiski.customers.models import Customer, Identity
from tiski.customers.normalize import normalize_phone
from tiski.customers.services import Handle, customer_identify
from tiski.routing import push
from tiski.routing.services import capacity_hold, capacity_release, holds_live_work, units_for

logger = logging.getLogger(__name__)


def call_event_apply(*, channel: Channel, event: CallEvent) -> Call:
    """Apply EVENT to its call on CHANNEL (created at its first event) and return the call."""
    at = event.at or timezone.now()
    with transaction.atomic():
        call = _locked_call(channel=channel, event=event)
        was_final = call.status in Call.FINAL
        _fill(call, event)
        _advance(call, event, at)
        _capacity(call)
        call.save()
        if call.agent_id is not None:
            push.send_on_commit([call_changed(call)])  # the screen-pop: it rings, is answered, has ended
        if event.event == "callback_requested":
            _callback_requested(call, event)
        if call.status in Call.FINAL and not was_final:
            call_log(call=call)
        elif event.event == "recording" and was_final and call.case is not None and event.recording_url:
            case_event_record(case=call.case, kind=CaseEvent.Kind.CALL_RECORDED, **_summary(call))
    return call


def _locked_call(*, channel: Channel, event: CallEvent) -> Call:
    try:
        with transaction.atomic():
            Call.objects.get_or_create(
                channel=channel, provider_call_id=event.call_id, defaults={"direction": event.direction}
            )
    except IntegrityError:  # a concurrent first event of the same call created it
        pass
    return Call.objects.select_for_update().get(channel=channel, provider_call_id=event.call_id)


def _fill(call: Call, event: CallEvent) -> None:
    """Fill in what the call does not know yet: the number and its customer, the agent, the queue."""
    if not call.number and event.number:
        try:
            call.number = normalize_phone(event.number)
        except IdentityInvalidError:
            call.number = ""  # withheld or not a number ("anonymous"): the caller is unknown
    if call.customer_id is None and call.number:
        identity = identity_find(kind=Identity.Kind.PHONE, value=call.number)
        call.customer = identity.customer if identity is not None else None
    if not call.line and event.line:
        call.line = event.line[:64]
    if not call.queue and event.queue:
        call.queue = event.queue[:100]
    if call.agent_id is None and event.agent:
        call.agent = agent_by_name(event.agent)


def _capacity(call: Call) -> None:
    """An answered call holds its agent's capacity while it lasts (unless the agent's work on the call's case
    holds it already: a callback, a chat escalated to a call); the end gives it back."""
    if call.status == Call.Status.ANSWERED and call.agent_id is not None and call.units == 0:
        if not holds_live_work(case_id=call.case_id, user_id=call.agent_id):
            call.units = units_for("phone")
            capacity_hold(user_id=call.agent_id, units=call.units)
    elif call.status in Call.FINAL and call.units and call.agent_id is not None:
        capacity_release(user_id=call.agent_id, units=call.units)
        call.units = 0


STALE_AFTER = timedelta(hours=4)  # an answered call with no end reported this long after gives its capacity back


def calls_stale_release(*, now: datetime | None = None) -> int:
    """Give back the capacity of answered calls whose end was never reported (a lost event must not keep an
    agent out of routing for good); return how many. The calls keep their state: a late end still logs them."""
    now = now or timezone.now()
    released = 0
    stale = Call.objects.filter(units__gt=0, answered_at__lt=now - STALE_AFTER).values_list("id", flat=True)[:100]
    for call_id in stale:
        with transaction.atomic():
            call = Call.objects.select_for_update(skip_locked=True).filter(pk=call_id, units__gt=0).first()
            if call is None or call.agent_id is None:
                continue
            capacity_release(user_id=call.agent_id, units=call.units)
            call.units = 0
            call.save(update_fields=["units", "updated_at"])
            logger.warning("call %s: no end reported for %s; the agent's capacity is given back", call.pk, STALE_AFTER)
            released += 1
    return released


def _callback_requested(call: Call, event: CallEvent) -> None:
    """The caller asked to be called back instead of waiting: the request goes on a case of its own, and the
    call is logged there when it ends (it ends unanswered, but is no missed call to call back again)."""
    from tiski.channels.voice.callbacks import CallbackError, callback_request

    if not call.number:
        logger.warning("call %s: a callback was requested from a withheld number; nothing to call back", call.pk)
        return
    source = CallbackRequest.Source.CONGESTION if event.reason == "congestion" else CallbackRequest.Source.KEYPRESS
    try:
        request, _new = callback_request(
            customer=call.customer or _caller(call),
            number=call.number,
            source=source,
            case=call.case,
            call=call,
            channel=call.channel,
            topic=event.topic,
            window_start=event.window_start,
            window_end=event.window_end,
            queue=call.queue,
        )
    except CallbackError as error:
        logger.warning("call %s: callback not recorded: %s", call.pk, error)
        return
    call.customer, call.case = request.customer, call.case or request.case
    call.save(update_fields=["customer", "case", "updated_at"])


def agent_by_name(name: str) -> User | None:
    """Return the active user whose username or email is NAME, or None (the event names someone unknown)."""
    users = get_user_model().objects.filter(is_active=True)
    return users.filter(Q(username=name) | Q(email__iexact=name)).order_by("pk").first()


def _advance(call: Call, event: CallEvent, at: datetime) -> None:
    final = call.status in Call.FINAL
    if call.rang_at is None:
        call.rang_at = at  # the first event known of the call (ringing, unless that report was lost)
    if event.event == "answered":
        call.answered_at = call.answered_at or at
        if not final:
            call.status = Call.Status.ANSWERED
    elif event.event == "ended":
        call.ended_at = call.ended_at or at
        if event.talk_s is not None and call.answered_at is not None:
            call.talk_s = event.talk_s
        elif call.answered_at is not None and call.talk_s is None:
            call.talk_s = max(int((call.ended_at - call.answered_at).total_seconds()), 0)
        if not final:
            # Completed without an agent answering: the caller hung up waiting (or in the IVR).
            call.status = Call.Status.ENDED if call.answered_at is not None else Call.Status.MISSED
            call.outcome = event.outcome or ("completed" if call.answered_at is not None else "abandoned")
    elif event.event in ("missed", "voicemail"):
        call.ended_at = call.ended_at or at
        if not final:
            call.status = Call.Status.VOICEMAIL if event.event == "voicemail" else Call.Status.MISSED
            call.outcome = event.outcome or event.event
    if event.recording_url:
        call.recording_url = event.recording_url
        if (
            event.event == "recording"
            and call.answered_at is None
            and call.status
            in (
                Call.Status.RINGING,
                Call.Status.MISSED,
            )
        ):
            call.status = Call.Status.VOICEMAIL  # a recording of a call nobody answered is a voicemail
            call.ended_at = call.ended_at or at
            call.outcome = "voicemail"


SUBJECTS = {  # (outbound, answered) → the subject of the case a call opens
    (False, True): gettext_noop("Call from %(number)s"),
    (True, True): gettext_noop("Call to %(number)s"),
    (False, False): gettext_noop("Missed call from %(number)s"),
    (True, False): gettext_noop("Call to %(number)s not answered"),
}


def call_log(*, call: Call) -> CaseEvent:
    """Log CALL, which has ended, on its case (a new phone case of the caller when none was picked)."""
    if call.customer is None:
        call.customer = _caller(call)
    case = call.case
    if case is None:
        outbound, answered = call.direction == Call.Direction.OUTBOUND, call.status == Call.Status.ENDED
        subject = SUBJECTS[(outbound, answered)]
        with translation.override(settings.LANGUAGE_CODE):  # data, in the company's language
            subject = _(subject) % {"number": call.number or _("an unknown number")}
        case = case_create(customer=call.customer, subject=subject, actor=None, channel=call.channel)
        call.case = case
    call.save(update_fields=["customer", "case", "updated_at"])
    kind = CaseEvent.Kind.CALL_ENDED if call.status == Call.Status.ENDED else CaseEvent.Kind.CALL_MISSED
    Case.objects.filter(pk=case.pk).update(updated_at=timezone.now())
    logged = case_event_record(case=case, kind=kind, actor=call.agent, **_summary(call))
    _callback_follow(call)
    return logged


def _callback_follow(call: Call) -> None:
    """A missed call or a voicemail asks for a callback (unless the channel says not to, or the caller already
    left one); a call placed from a case with a callback waiting is an attempt at it."""
    from tiski.channels.voice.callbacks import CallbackError, callback_from_call, callback_request

    if call.direction == Call.Direction.OUTBOUND:
        callback_from_call(call=call)
        return
    if call.status not in (Call.Status.MISSED, Call.Status.VOICEMAIL) or not call.number or call.customer is None:
        return
    if (call.channel.config or {}).get("missed_call_callback") is False or call.callback_requests.exists():
        return
    missed = call.status == Call.Status.MISSED
    try:
        callback_request(
            customer=call.customer,
            number=call.number,
            source=CallbackRequest.Source.MISSED_CALL if missed else CallbackRequest.Source.VOICEMAIL,
            case=call.case,
            call=call,
            channel=call.channel,
            queue=call.queue,
        )
    except CallbackError as error:
        logger.warning("call %s: no callback for the missed call: %s", call.pk, error)


def _caller(call: Call) -> Customer:
    if call.number:
        return customer_identify(handles=[Handle(Identity.Kind.PHONE, call.number)], source="channel:phone").customer
    with translation.override(settings.LANGUAGE_CODE):
        name = _("Unknown caller")
    return Customer.objects.create(name=name, provisional=True)


def _summary(call: Call) -> dict[str, Any]:
    """The call as its timeline event keeps it (the number, who, where, how long, how it ended)."""
    return {
        "call_id": call.pk,
        "direction": call.direction,
        "number": call.number,
        "agent": (call.agent.get_full_name() or call.agent.get_username()) if call.agent else "",
        "queue": call.queue,
        "started_at": call.rang_at.isoformat() if call.rang_at else "",
        "wait_s": call.wait_s,
        "duration_s": call.talk_s,
        "outcome": call.outcome,
        "recording_url": call.recording_url,
    }


# --- the agent's side: pick the case, wrap up ---------------------------------------------------------------


class CallError(Exception):
    """A call action the agent cannot take; the message says why."""


def _require_own(call: Call, actor: User) -> None:
    if call.agent_id != actor.pk and not actor.has_perm(ASSIGN_ANY):
        raise CallError(_("This call is connected to someone else."))


def call_case_pick(*, call: Call, case: Case, actor: User) -> Call:
    """Log CALL on CASE (one the agent picked in the screen-pop) instead of a new phone case."""
    _require_own(call, actor)
    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call.pk)
        if call.status in Call.FINAL and call.case_id is not None and call.case_id != case.pk:
            logged = call.case.reference if call.case is not None else ""
            raise CallError(_("The call is logged on %(reference)s already.") % {"reference": logged})
        call.case = case
        if call.customer is None:
            call.customer = case.customer
        call.save(update_fields=["case", "customer", "updated_at"])
    push.send_on_commit([call_changed(call)])
    return call


def call_wrap_up(*, call: Call, actor: User, note: str, reason_code: str) -> Call:
    """Record the agent's wrap-up of CALL (which has ended): the reason code, and the note on its case."""
    _require_own(call, actor)
    with transaction.atomic():
        call = Call.objects.select_for_update(of=("self",)).select_related("case").get(pk=call.pk)
        if call.status not in Call.FINAL:
            raise CallError(_("Wrap up the call when it has ended."))
        call.wrap_up_note, call.reason_code = note.strip()[:5000], reason_code.strip()[:50]
        call.wrapped_up_at = timezone.now()
        call.save(update_fields=["wrap_up_note", "reason_code", "wrapped_up_at", "updated_at"])
        if call.case is not None and (call.wrap_up_note or call.reason_code):
            body = call.wrap_up_note
            if call.reason_code:
                body = _("Call wrap-up (%(reason)s)") % {"reason": call.reason_code} + ("\n\n" + body if body else "")
            note_add(case=call.case, actor=actor, body=body)
    push.send_on_commit([call_changed(call)])
    return call


def call_changed(call: Call) -> push.Push:
    """The push telling the agent's console to redraw the screen-pop of their calls."""
    assert call.agent_id is not None
    return push.agent_group(call.agent_id), {"type": "call.changed", "call_id": call.pk}


# --- click-to-call ----------------------------------------------------------------------------------------------


def phone_channel_for_dialling() -> Channel | None:
    """Return the phone channel outbound calls go through: the first active one whose provider can place calls."""
    for channel in Channel.objects.filter(kind=ChannelKind.PHONE, active=True).order_by("pk"):
        config = channel.config or {}
        if config.get("provider") == "twilio" or (config.get("provider") == "generic" and config.get("dial_url")):
            return channel
    return None


def call_start(*, case: Case, actor: User, number: str) -> Call:
    """Have the telephony system call NUMBER for ACTOR from CASE; the call is logged on CASE as it goes.

    Raise CallError when the number is not a phone number, no phone channel can place calls, or the telephony
    system refuses the call.
    """
    from tiski.channels.voice.client import DialError, dial

    if not actor.has_perm(WORK_CASES):
        raise CallError(_("You do not have permission to work on cases."))
    try:
        e164 = normalize_phone(number)
    except IdentityInvalidError:
        raise CallError(_("“%(number)s” is not a phone number.") % {"number": number}) from None
    channel = phone_channel_for_dialling()
    if channel is None:
        raise CallError(_("No phone channel can place calls: an administrator sets one up (Channels, kind Phone)."))
    try:
        call_id = dial(channel=channel, number=e164, agent_username=actor.get_username(), case_reference=case.reference)
    except (DialError, ChannelConfigError) as error:
        raise CallError(str(error)) from None
    with transaction.atomic():
        call = _locked_call(channel=channel, event=CallEvent(call_id=call_id, event="ringing", direction="outbound"))
        call.direction, call.number = Call.Direction.OUTBOUND, call.number or e164
        call.case, call.agent = call.case or case, call.agent or actor
        call.customer = call.customer or case.customer
        call.line = call.line or channel.address
        call.rang_at = call.rang_at or timezone.now()
        call.save()
        push.send_on_commit([call_changed(call)])
    return call
