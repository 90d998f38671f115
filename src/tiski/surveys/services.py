"""Writes of surveys: schedule a survey when a case is solved, send it when due, take the answer, import answers.

**When.** A case becoming solved schedules one invitation per enabled kind (subscribers.py: a durable task after
the solve commits), due the kind's delay later; a chat's is due at once (its end card is only useful while the
customer may still have the chat open). The router loop's clock (surveys_clock) sends what is due.

**Whether.** Everything is decided again when the survey is due, so a change in between counts: the kind is
still on; the case is still solved or closed (a reopened case is not surveyed; solving it again schedules it
again); the case's channel is one the kind sends on; the customer is not erased; the case is in the sample (a
deterministic hash of the case and kind, so a retry decides the same); the customer had no survey of this kind
within the throttle period; and the customer can be reached. Each "no" is stored on the invitation as its reason.

**How.** On the case's own channel, in the customer's language: email and web form by email (with one-click score
buttons in its HTML), SMS, WhatsApp, Messenger and Instagram as a short text with the link, a phone case by SMS
(else email), a chat as an end card in the chat widget while it is open (else by email, when the address is
known). The message is a system message through the durable outbox, written directly on the case like the
automatic replies: it never changes the case's status, owner or first response (cases.services.message_reply
would refuse a closed case and reopen nothing, but records a reply; a survey is no reply).

**Answers.** Through the signed link (links.py) or the chat card; the customer may change the answer until the
link expires (the last answer wins). An answer updates the customer's "last survey" fields (the "Negative last
survey" signal), is recorded on the case's timeline and publishes SurveyAnswered after commit (automation's
"survey answered" trigger: out of the box, a low score makes a follow-up task for the team lead).
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from tiski import events
from tiski.cases.models import Case, CaseEvent, Message
from tiski.cases.references import case_pk_from_reference
from tiski.cases.services import case_event_record
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.webform.services import company_name
from tiski.customers.models import Customer, Identity
from tiski.surveys.links import SurveyLinkError, survey_token_open, survey_url
from tiski.surveys.models import (
    SCALE,
    SURVEY_CHANNEL_KINDS,
    Kind,
    SurveyInvitation,
    SurveyResponse,
    SurveySettings,
    is_negative,
    score_error,
)

logger = logging.getLogger(__name__)

Status = SurveyInvitation.Status
Skip = SurveyInvitation.Skip
EVERY_S = 30.0  # the clock looks for due surveys at most this often per process
BATCH = 200
MAX_COMMENT = 5000
SHORT_KINDS = frozenset({ChannelKind.SMS, ChannelKind.WHATSAPP, ChannelKind.MESSENGER, ChannelKind.INSTAGRAM})
EMAIL_KINDS = frozenset({ChannelKind.EMAIL, ChannelKind.WEBFORM})
DEFAULTS: dict[str, dict[str, Any]] = {
    Kind.CSAT: {
        "enabled": False,
        "delay_minutes": 60,
        "sample_percent": 100,
        "throttle_days": 7,
        "link_valid_days": 14,
        "channel_kinds": list(SURVEY_CHANNEL_KINDS),
    },
    Kind.NPS: {
        "enabled": False,
        "delay_minutes": 24 * 60,
        "sample_percent": 25,
        "throttle_days": 90,
        "link_valid_days": 14,
        "channel_kinds": ["email", "webform", "chat"],
    },
}


class SurveyError(Exception):
    """A survey action that cannot be taken; the message says why."""


class SurveyInvalidError(SurveyError):
    """The answer or the import is not usable (score out of range, unknown kind …)."""


class SurveyCaseUnknownError(SurveyError):
    """An imported answer names a case that does not exist."""


# ── settings ──────────────────────────────────────────────────────────────────────────────────────────────────


def survey_settings_get(kind: str) -> SurveySettings:
    """Return the settings of KIND (created with the defaults when missing)."""
    found, _created = SurveySettings.objects.get_or_create(kind=kind, defaults=DEFAULTS[kind])
    return found


def survey_settings_all() -> list[SurveySettings]:
    return [survey_settings_get(kind) for kind in Kind.values]


def survey_settings_update(*, kind: str, data: dict[str, Any], actor: Any) -> SurveySettings:
    """Change the settings of KIND from DATA (model fields); raise django ValidationError saying what is wrong."""
    row = survey_settings_get(kind)
    for name in SurveySettings.EDITABLE:
        if name in data:
            setattr(row, name, data[name])
    row.channel_kinds = sorted(set(row.channel_kinds or []))
    row.updated_by = actor if getattr(actor, "pk", None) else None
    row.full_clean()
    row.save()
    return row


# ── scheduling ────────────────────────────────────────────────────────────────────────────────────────────────


def surveys_schedule(*, case_id: int, now: datetime | None = None) -> list[SurveyInvitation]:
    """Schedule the survey of each enabled kind for solved case CASE_ID; return the invitations now scheduled.

    One invitation per case and kind: a case solved again after a reopening is scheduled again (its invitation
    skipped as reopened, or still waiting, is moved); one already sent or answered is left alone.
    """
    now = now or timezone.now()
    case = Case.objects.select_related("channel").filter(pk=case_id).first()
    if case is None or case.status != Case.Status.SOLVED:
        return []
    solved_at = case.solved_at or now
    scheduled: list[SurveyInvitation] = []
    for row in survey_settings_all():
        if not row.enabled:
            continue
        channel_kind = case.channel.kind if case.channel else ""
        delay = timedelta(0) if channel_kind == ChannelKind.CHAT else timedelta(minutes=row.delay_minutes)
        fields = {
            "customer_id": case.customer_id,
            "agent_id": case.owner_id,
            "team_id": case.team_id,
            "channel_kind": channel_kind,
            "solved_at": solved_at,
            "due_at": solved_at + delay,
            "status": Status.SCHEDULED,
            "skip_reason": "",
        }
        with transaction.atomic():
            existing = SurveyInvitation.objects.select_for_update().filter(case=case, kind=row.kind).first()
            if existing is None:
                try:
                    with transaction.atomic():
                        invitation = SurveyInvitation.objects.create(case=case, kind=row.kind, **fields)
                except IntegrityError:  # scheduled by another worker at the same moment
                    continue
            elif existing.status == Status.SCHEDULED or (
                existing.status == Status.SKIPPED and existing.skip_reason == Skip.REOPENED
            ):
                for name, value in fields.items():
                    setattr(existing, name, value)
                existing.save(update_fields=[*fields])
                invitation = existing
            else:
                continue
        scheduled.append(invitation)
    return scheduled


def sampled(*, case_id: int, kind: str, percent: int) -> bool:
    """Return whether case CASE_ID is in KIND's sample of PERCENT %: the same answer every time it is asked."""
    if percent >= 100:
        return True
    if percent <= 0:
        return False
    digest = hashlib.sha256(f"tiski.surveys:{kind}:{case_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100 < percent


def throttled(*, customer_id: int, kind: str, days: int, now: datetime, exclude: int | None = None) -> bool:
    """Return whether the customer was sent a survey of KIND in the DAYS before NOW."""
    if days <= 0:
        return False
    sent = SurveyInvitation.objects.filter(
        customer_id=customer_id, kind=kind, sent_at__gt=now - timedelta(days=days), sent_at__lte=now
    )
    return (sent.exclude(pk=exclude) if exclude is not None else sent).exists()


# ── sending ───────────────────────────────────────────────────────────────────────────────────────────────────

_next_check = 0.0


def surveys_clock(*, now: datetime | None = None) -> int:
    """Send the surveys that are due and expire old links (a router-loop clock: at most every EVERY_S per
    process); return how many were sent."""
    global _next_check
    if time.monotonic() < _next_check:
        return 0
    _next_check = time.monotonic() + EVERY_S
    return surveys_due_run(now=now)


def surveys_due_run(*, now: datetime | None = None) -> int:
    """Send every survey due by NOW (at most BATCH) and mark expired links; return how many were sent."""
    now = now or timezone.now()
    sent = 0
    due = SurveyInvitation.objects.filter(status=Status.SCHEDULED, due_at__lte=now).order_by("due_at", "pk")
    for invitation_id in list(due.values_list("pk", flat=True)[:BATCH]):
        try:
            sent += survey_send(invitation_id=invitation_id, now=now) == Status.SENT
        except Exception:
            logger.exception("survey invitation %s could not be sent", invitation_id)
    SurveyInvitation.objects.filter(status=Status.SENT, expires_at__lte=now).update(status=Status.EXPIRED)
    return sent


@dataclass(frozen=True)
class _Route:
    """How a survey reaches the customer: on CHANNEL to IDENTITY, as VIA ("email", "sms", "chat" …)."""

    via: str
    channel: Channel | None = None
    identity: Identity | None = None


def survey_send(*, invitation_id: int, now: datetime | None = None) -> str:
    """Decide and send one due survey; return the invitation's new status ("sent" or "skipped"), or its status
    unchanged when it was not waiting (another clock took it)."""
    now = now or timezone.now()
    with transaction.atomic():
        invitation = SurveyInvitation.objects.select_for_update().filter(pk=invitation_id).first()
        if invitation is None or invitation.status != Status.SCHEDULED:
            return invitation.status if invitation else ""
        case = Case.objects.select_related("channel", "customer").get(pk=invitation.case_id)
        row = survey_settings_get(invitation.kind)
        reason = _skip_reason(invitation=invitation, case=case, row=row, now=now)
        route: _Route | None = None
        if not reason:
            invitation.language = _language(case)
            route, reason = _route(case)
        if reason or route is None:
            invitation.status = Status.SKIPPED
            invitation.skip_reason = reason or Skip.NO_ADDRESS
            invitation.save(update_fields=["status", "skip_reason", "language"])
            return invitation.status
        invitation.status = Status.SENT
        invitation.sent_at = now
        invitation.expires_at = now + timedelta(days=row.link_valid_days)
        invitation.via = route.via
        invitation.channel = route.channel
        message = _deliver(invitation=invitation, case=case, route=route)
        invitation.message = message
        invitation.save(
            update_fields=["status", "sent_at", "expires_at", "via", "channel", "message", "language", "skip_reason"]
        )
        case_event_record(
            case=case,
            kind=CaseEvent.Kind.SURVEY_SENT,
            survey=invitation.kind,
            via=route.via,
            invitation_id=invitation.pk,
            message_id=message.pk if message else None,
            anonymous=row.anonymous,
        )
    return Status.SENT


def _skip_reason(*, invitation: SurveyInvitation, case: Case, row: SurveySettings, now: datetime) -> str:
    if not row.enabled:
        return Skip.DISABLED
    if case.status not in (Case.Status.SOLVED, Case.Status.CLOSED):
        return Skip.REOPENED
    if case.customer.erased_at is not None:
        return Skip.ERASED
    kind = case.channel.kind if case.channel else ""
    if kind not in (row.channel_kinds or []):
        return Skip.CHANNEL
    if not sampled(case_id=case.pk, kind=invitation.kind, percent=row.sample_percent):
        return Skip.SAMPLING
    if throttled(
        customer_id=case.customer_id, kind=invitation.kind, days=row.throttle_days, now=now, exclude=invitation.pk
    ):
        return Skip.THROTTLED
    return ""


def _language(case: Case) -> str:
    """Return the language to survey CASE's customer in: the chat's, the customer's, else the company's."""
    language = ""
    if case.channel is not None and case.channel.kind == ChannelKind.CHAT:
        from tiski.channels.chat.selectors import chat_session_for_case

        session = chat_session_for_case(case=case)
        language = session.language if session is not None else ""
    language = (language or case.customer.language or settings.LANGUAGE_CODE).split("-")[0].lower()
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def _identity(case: Case, kinds: tuple[str, ...]) -> Identity | None:
    """The customer's handle of KINDS: the one they last wrote from in this case, else their first."""
    last = (
        Message.objects.filter(
            case=case, direction=Message.Direction.IN, identity__kind__in=kinds, identity__customer=case.customer_id
        )
        .select_related("identity")
        .order_by("-created_at", "-pk")
        .first()
    )
    if last is not None and last.identity is not None:
        return last.identity
    return Identity.objects.filter(customer_id=case.customer_id, kind__in=kinds).order_by("-verified", "pk").first()


def _email_route(case: Case, channel: Channel | None = None) -> _Route | None:
    identity = _identity(case, (Identity.Kind.EMAIL,))
    if identity is None:
        return None
    if channel is None or channel.kind not in EMAIL_KINDS or not channel.active:
        channel = Channel.objects.filter(kind=ChannelKind.EMAIL, active=True).order_by("pk").first()
    if channel is None:
        return None
    return _Route(via="email", channel=channel, identity=identity)


def _widget_open(case: Case) -> bool:
    """Return whether the customer of chat CASE still has the chat widget open (ended or not)."""
    from tiski.channels.chat.models import ChatSession
    from tiski.channels.chat.selectors import LIVE_WITHIN

    return ChatSession.objects.filter(
        case_id=case.pk, connections__gt=0, last_seen_at__gte=timezone.now() - LIVE_WITHIN
    ).exists()


def _route(case: Case) -> tuple[_Route | None, str]:
    """Return how CASE's survey reaches its customer on the case's own channel, or why it cannot."""
    from tiski.cases.exceptions import CaseReplyError
    from tiski.channels.interface import adapter_for

    channel = case.channel
    kind = channel.kind if channel is not None else ""
    if channel is None:
        return None, Skip.NO_ADDRESS
    if kind in EMAIL_KINDS:
        route = _email_route(case, channel)
        return route, "" if route else Skip.NO_ADDRESS
    if kind == ChannelKind.CHAT:
        if _widget_open(case):
            return _Route(via="chat", channel=channel), ""
        route = _email_route(case)  # the visitor left: by email, when the address is known
        return route, "" if route else Skip.NO_ADDRESS
    if kind == ChannelKind.PHONE:
        sms = Channel.objects.filter(kind=ChannelKind.SMS, active=True).order_by("pk").first()
        phone = _identity(case, (Identity.Kind.PHONE,))
        if sms is not None and phone is not None:
            return _Route(via="sms", channel=sms, identity=phone), ""
        route = _email_route(case)
        return route, "" if route else Skip.NO_ADDRESS
    if kind in SHORT_KINDS:
        adapter = adapter_for(kind)
        identity = _identity(case, tuple(adapter.recipient_kinds))
        if identity is None:
            route = _email_route(case)
            return route, "" if route else Skip.NO_ADDRESS
        try:
            adapter.reply_check(case=case)
        except CaseReplyError:
            return None, Skip.WINDOW
        return _Route(via=kind, channel=channel, identity=identity), ""
    return None, Skip.NO_ADDRESS


def question_text(kind: str, *, reference: str) -> str:
    """Return the survey's question in the active language."""
    if kind == Kind.NPS:
        return _("How likely are you to recommend %(company)s to a friend or colleague?") % {"company": company_name()}
    return _("How satisfied are you with the service you received in case %(reference)s?") % {"reference": reference}


def scale_labels(kind: str) -> tuple[str, str]:
    """Return what the low and the high end of KIND's scale mean, in the active language."""
    if kind == Kind.NPS:
        return _("Not at all likely"), _("Extremely likely")
    return _("Very dissatisfied"), _("Very satisfied")


def _deliver(*, invitation: SurveyInvitation, case: Case, route: _Route) -> Message | None:
    """Write the survey on the case and hand it to the outbox (or push the chat's end card after commit)."""
    from tiski.channels.outbox import outbox_enqueue

    with translation.override(invitation.language or settings.LANGUAGE_CODE):
        if route.via == "chat":
            frame = chat_card(invitation=invitation, case=case)
            transaction.on_commit(lambda: _push_card(case.pk, frame))
            return None
        assert route.channel is not None
        values = _values(invitation=invitation, case=case)
        if route.via == "email":
            text: str = render_to_string("surveys/email.txt", values).strip()
            html: str = render_to_string("surveys/email.html", values)  # Tiski's own template, autoescaped
        else:
            text = _("%(company)s: how did we do with your case %(reference)s? Please tell us: %(url)s") % values
            html = ""
    message = Message.objects.create(
        case=case,
        channel=route.channel,
        direction=Message.Direction.OUT,
        author=Message.Author.SYSTEM,
        identity=route.identity,
        subject=case.subject,
        body_text=text,
        body_html=html,
        auto_submitted=True,
        delivery_status=Message.Delivery.QUEUED,
    )
    outbox_enqueue(message=message)
    return message


def _values(*, invitation: SurveyInvitation, case: Case) -> dict[str, Any]:
    low, high = SCALE[invitation.kind]
    low_label, high_label = scale_labels(invitation.kind)
    assert invitation.expires_at is not None
    return {
        "company": company_name(),
        "name": (case.customer.name or "").split(" ")[0],
        "reference": case.reference,
        "subject": case.subject,
        "question": question_text(invitation.kind, reference=case.reference),
        "url": survey_url(invitation),
        "scores": [{"score": n, "url": survey_url(invitation, score=n)} for n in range(low, high + 1)],
        "low_label": low_label,
        "high_label": high_label,
        "nps": invitation.kind == Kind.NPS,
        "until": formats.date_format(timezone.localtime(invitation.expires_at), "DATE_FORMAT"),
    }


def chat_card(*, invitation: SurveyInvitation, case: Case) -> dict[str, Any]:
    """Return the chat widget's ``survey`` frame: the question, the scale and the signed token to answer with."""
    from tiski.surveys.links import survey_token

    low, high = SCALE[invitation.kind]
    low_label, high_label = scale_labels(invitation.kind)
    return {
        "type": "survey",
        "token": survey_token(invitation),
        "kind": invitation.kind,
        "question": question_text(invitation.kind, reference=case.reference),
        "low": low,
        "high": high,
        "low_label": low_label,
        "high_label": high_label,
        "comment_label": _("Anything you would like to tell us? (optional)"),
        "send": _("Send"),
        "thanks": _("Thank you for your feedback!"),
        "url": survey_url(invitation),
    }


def survey_chat_text(what: str) -> str:
    """Return the chat widget's line after a survey answer (active language): "thanks", "expired" or "invalid"."""
    if what == "thanks":
        return _("Thank you for your feedback!")
    if what == "expired":
        return _("This survey has closed.")
    return _("This survey link does not work.")


def _push_card(case_id: int, frame: dict[str, Any]) -> None:
    from tiski.channels.chat.services import _group_send as group_send
    from tiski.channels.chat.services import widget_group

    group_send(widget_group(case_id), {"type": "chat.survey", "survey": frame})


# ── answers ───────────────────────────────────────────────────────────────────────────────────────────────────


def _clean(kind: str, score: Any, comment: str) -> tuple[int, str]:
    if isinstance(score, str) and score.strip().lstrip("-").isdigit():
        score = int(score.strip())
    problem = score_error(kind, score)
    if problem:
        raise SurveyInvalidError(problem)
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise SurveyInvalidError(_("The comment is too long (at most %(max)d characters).") % {"max": MAX_COMMENT})
    return int(score), comment


def _anonymous_key(invitation: SurveyInvitation) -> str:
    return salted_hmac("tiski.surveys.anonymous", str(invitation.pk), algorithm="sha256").hexdigest()


def survey_answer_by_token(*, token: str, score: Any, comment: str = "", source: str = "link") -> SurveyResponse:
    """Store the answer given through a survey link or chat card TOKEN; raise SurveyLinkError, SurveyInvalidError."""
    invitation = survey_token_open(token)
    return survey_answer(invitation=invitation, score=score, comment=comment, source=source)


def survey_answer(
    *,
    invitation: SurveyInvitation,
    score: Any,
    comment: str = "",
    source: str = SurveyResponse.Source.LINK,
    now: datetime | None = None,
) -> SurveyResponse:
    """Store (or change: the last answer wins) the customer's answer to INVITATION and return it.

    Raise SurveyInvalidError for a score outside the kind's scale, SurveyLinkError("expired") once the link has
    expired. A named survey's answer is recorded on the case and the customer; SurveyAnswered is published
    after commit.
    """
    now = now or timezone.now()
    score, comment = _clean(invitation.kind, score, comment)
    with transaction.atomic():
        invitation = SurveyInvitation.objects.select_for_update().select_related("case").get(pk=invitation.pk)
        if invitation.status == Status.EXPIRED or (invitation.expires_at is not None and invitation.expires_at <= now):
            raise SurveyLinkError("expired", invitation)
        if invitation.status not in (Status.SENT, Status.ANSWERED):
            raise SurveyLinkError("invalid", invitation)
        anonymous = survey_settings_get(invitation.kind).anonymous
        key = _anonymous_key(invitation)
        response = (
            SurveyResponse.objects.filter(anonymous_key=key).first()
            if anonymous
            else SurveyResponse.objects.filter(invitation=invitation).first()
        )
        changed = response is not None
        before = bool(response and response.negative)
        response = response or SurveyResponse(kind=invitation.kind)
        response.score, response.comment, response.source = score, comment, source
        response.negative = is_negative(invitation.kind, score)
        response.answered_at = now
        response.language = invitation.language
        response.channel_kind = invitation.channel_kind
        response.team_id = invitation.team_id
        if anonymous:
            response.anonymous_key = key
        else:
            response.invitation = invitation
            response.case_id = invitation.case_id
            response.customer_id = invitation.customer_id
            response.agent_id = invitation.agent_id
        response.save()
        invitation.status = Status.ANSWERED
        invitation.answered_at = now
        invitation.save(update_fields=["status", "answered_at"])
        if not anonymous:
            _recorded(response=response, case=invitation.case, changed=changed)
        _publish(response, changed=changed, negative_before=before)
    return response


def _recorded(*, response: SurveyResponse, case: Case, changed: bool) -> None:
    """Put a named answer on the case's timeline and on the customer (their latest survey)."""
    customer = Customer.objects.select_for_update().get(pk=case.customer_id)
    if customer.last_survey_at is None or customer.last_survey_at <= response.answered_at:
        customer.last_survey_score = response.score
        customer.last_survey_negative = response.negative
        customer.last_survey_at = response.answered_at
        customer.save(update_fields=["last_survey_score", "last_survey_negative", "last_survey_at"])
    case_event_record(
        case=case,
        kind=CaseEvent.Kind.SURVEY_ANSWERED,
        survey=response.kind,
        score=response.score,
        scale_max=SCALE[response.kind][1],
        negative=response.negative,
        comment=response.comment[:500],
        response_id=response.pk,
        source=response.source,
        changed=changed,
    )


def _publish(response: SurveyResponse, *, changed: bool, negative_before: bool) -> None:
    event = events.SurveyAnswered(
        response_id=response.pk,
        case_id=response.case_id or 0,
        customer_id=response.customer_id or 0,
        kind=response.kind,
        score=response.score,
        negative=response.negative,
        changed=changed,
        negative_before=negative_before,
    )
    transaction.on_commit(lambda: events.publish(event))


# ── imports from an external survey tool ──────────────────────────────────────────────────────────────────────


def survey_import(
    *,
    case_reference: str,
    kind: str,
    score: Any,
    comment: str = "",
    external_id: str,
    answered_at: datetime | None = None,
) -> tuple[SurveyResponse, bool]:
    """Store an answer another survey tool collected about the case CASE_REFERENCE; return it and whether it is
    new. The same EXTERNAL_ID again is the same answer: unchanged, nothing more happens; with another score or
    comment it is changed (the last answer wins).

    Raise SurveyInvalidError (unknown kind, score out of range, no external id) or SurveyCaseUnknownError.
    """
    if kind not in Kind.values:
        raise SurveyInvalidError(score_error(kind, score))
    score, comment = _clean(kind, score, comment)
    external_id = (external_id or "").strip()
    if not external_id:
        raise SurveyInvalidError("Give the answer's id in the survey tool (external_id): it makes imports idempotent.")
    case_pk = case_pk_from_reference(case_reference.strip())
    case = Case.objects.filter(pk=case_pk).first() if case_pk else None
    if case is None:
        raise SurveyCaseUnknownError(f"There is no case {case_reference.strip()[:50]!r}.")
    answered_at = answered_at or timezone.now()
    with transaction.atomic():
        existing = SurveyResponse.objects.select_for_update().filter(external_id=external_id).first()
        if existing is not None:
            if existing.kind != kind:
                raise SurveyInvalidError(
                    f"The answer {external_id!r} was imported as {existing.kind}; it cannot become {kind}."
                )
            if (existing.score, existing.comment) == (score, comment):
                return existing, False
        invitation = SurveyInvitation.objects.select_for_update().filter(case=case, kind=kind).first()
        anonymous = survey_settings_get(kind).anonymous
        if invitation is None and not anonymous:  # the answer shows on the case like one given through the link
            invitation = SurveyInvitation.objects.create(
                case=case,
                kind=kind,
                customer_id=case.customer_id,
                agent_id=case.owner_id,
                team_id=case.team_id,
                channel_kind=case.channel.kind if case.channel_id and case.channel else "",
                via="import",
                status=Status.ANSWERED,
                solved_at=case.solved_at or answered_at,
                due_at=answered_at,
                answered_at=answered_at,
            )
        before = bool(existing and existing.negative)
        response = existing or SurveyResponse(kind=kind, external_id=external_id, source=SurveyResponse.Source.IMPORT)
        response.score, response.comment = score, comment
        response.negative = is_negative(kind, score)
        response.answered_at = answered_at
        response.team_id = invitation.team_id if invitation else case.team_id
        response.channel_kind = case.channel.kind if case.channel_id and case.channel else ""
        response.language = case.customer.language
        if not anonymous:
            response.case = case
            response.customer_id = case.customer_id
            response.agent_id = invitation.agent_id if invitation else case.owner_id
            free = invitation is not None and not SurveyResponse.objects.filter(invitation=invitation).exists()
            if response.invitation_id is None and free:
                response.invitation = invitation
        try:
            with transaction.atomic():
                response.save()
        except IntegrityError:  # the same answer imported twice at the same moment
            return SurveyResponse.objects.get(external_id=external_id), False
        if not anonymous:
            _recorded(response=response, case=case, changed=existing is not None)
        _publish(response, changed=existing is not None, negative_before=before)
    return response, existing is None
