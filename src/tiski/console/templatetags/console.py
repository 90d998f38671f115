"""Template helpers of the console: channel icons, chips, relative times, timeline event sentences."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.dates import MONTHS_3
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _

from tiski.cases.models import Case, CaseEvent
from tiski.channels.models import ChannelKind
from tiski.console import email_html
from tiski.console.selectors import local_mailbox_enabled, quarantine_unresolved_count
from tiski.notifications.selectors import notifications_unread_count
from tiski.proactive.models import OUTBOUND_CALL, OUTBOUND_CALL_LABEL

register = template.Library()

_SVG = (
    '<svg class="icon" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true" focusable="false" '
    'fill="none" stroke="currentColor" stroke-width="1.4" stroke-linecap="round" stroke-linejoin="round">{}</svg>'
)
_PATHS = {
    "email": '<rect x="1.5" y="3" width="13" height="10" rx="1.5"/><path d="M2 4l6 5 6-5"/>',
    "webform": '<rect x="2" y="1.5" width="12" height="13" rx="1.5"/><path d="M5 5h6M5 8h6M5 11h3"/>',
    "chat": '<path d="M2 3.5A1.5 1.5 0 0 1 3.5 2h9A1.5 1.5 0 0 1 14 3.5v6A1.5 1.5 0 0 1 12.5 11H6l-3 3v-3h0'
    'A1.5 1.5 0 0 1 2 9.5z"/>',
    "phone": '<path d="M3 2h2.5l1.2 3-1.6 1a8 8 0 0 0 3.9 3.9l1-1.6 3 1.2V12a1.5 1.5 0 0 1-1.5 1.5A10.5 10.5 0 0 1 1.5'
    ' 3.5 1.5 1.5 0 0 1 3 2z"/>',
    "sms": '<rect x="4" y="1.5" width="8" height="13" rx="1.5"/><path d="M7 12h2"/>',
    "whatsapp": '<path d="M2.5 13.5l.9-2.7A5.8 5.8 0 1 1 5.6 13z"/><path d="M6 6c0 2 1.8 4 4 4"/>',
    "messenger": '<path d="M8 1.8c-3.5 0-6.2 2.5-6.2 5.8 0 1.8.8 3.4 2.2 4.5v2.2l2-1.1c.6.2 1.3.3 2 .3 3.5 0 6.2-2.5'
    ' 6.2-5.9S11.5 1.8 8 1.8z"/><path d="M4.8 9.2 7 7l1.6 1.4L11 6.2"/>',
    "instagram": '<rect x="2" y="2" width="12" height="12" rx="3.5"/><circle cx="8" cy="8" r="2.7"/>',
    "callback": '<path d="M3 2h2.5l1.2 3-1.6 1a8 8 0 0 0 3.9 3.9l1-1.6 3 1.2V12a1.5 1.5 0 0 1-1.5 1.5A10.5 10.5 0 0'
    ' 1 1.5 3.5 1.5 1.5 0 0 1 3 2z"/><path d="M13.5 6.5V2.5h-4M13.5 2.5 9.5 6.5"/>',
    "outbound": '<path d="M3 2h2.5l1.2 3-1.6 1a8 8 0 0 0 3.9 3.9l1-1.6 3 1.2V12a1.5 1.5 0 0 1-1.5 1.5A10.5 10.5 0 0'
    ' 1 1.5 3.5 1.5 1.5 0 0 1 3 2z"/><path d="M9.5 6.5l4-4M10 2.5h3.5V6"/>',
    "clock": '<circle cx="8" cy="8" r="6.2"/><path d="M8 4.5V8l2.5 1.5"/>',
    "note": '<path d="M3 2h7l3 3v9H3z"/><path d="M10 2v3h3"/>',
    "image": '<rect x="2" y="2.5" width="12" height="11" rx="1.5"/><circle cx="6" cy="6.5" r="1.2"/>'
    '<path d="m2.5 12 3.5-3.5 2.5 2.5 2-2 3 3"/>',
    "split": '<path d="M3 2.5v4.5a2 2 0 0 0 2 2h8"/><path d="M10.5 6.5 13 9l-2.5 2.5"/><path d="M3 13.5v-3"/>',
    "attachment": '<path d="M13 7.5 8 12.5a3 3 0 0 1-4.2-4.2L9 3a2 2 0 0 1 2.8 2.8L6.7 11a1 1 0 0 1-1.4-1.4L10 5"/>',
}


@register.simple_tag
def icon(name: str) -> SafeString:
    """Return the inline SVG icon NAME (a channel kind, "note" or "attachment"); decorative, hidden from AT."""
    return mark_safe(_SVG.format(_PATHS.get(name, _PATHS["chat"])))  # noqa: S308  (constant markup)


# Routed work that is no channel of its own.
WORK_KINDS = {"callback": gettext_lazy("Callback"), OUTBOUND_CALL: OUTBOUND_CALL_LABEL}


@register.simple_tag
def channel_badge(kind: str) -> SafeString:
    """Return the channel's icon and label, e.g. [✉] Email."""
    label = ChannelKind(kind).label if kind in ChannelKind.values else str(WORK_KINDS.get(kind, kind))
    return format_html(
        '<span class="channel" title="{}">{}<span class="channel__label">{}</span></span>', label, icon(kind), label
    )


@register.simple_tag
def status_chip(status: str) -> SafeString:
    label = Case.Status(status).label if status in Case.Status.values else status
    return format_html('<span class="chip chip--{}">{}</span>', status, label)


@register.simple_tag
def priority_chip(priority: int) -> SafeString:
    label = Case.Priority(priority).label if priority in Case.Priority.values else str(priority)
    marks = {1: "↓", 2: "", 3: "↑", 4: "!!"}.get(priority, "")
    html = '<span class="prio prio--{}"><span aria-hidden="true">{}</span> {}</span>'
    return format_html(html, priority, marks, label)


def _relative(value: datetime, now: datetime) -> str:
    seconds = max(0, int((now - value).total_seconds()))
    if seconds < 60:
        return _("now")
    if seconds < 3600:
        return _("%(n)d min") % {"n": seconds // 60}
    if seconds < 86400:
        return _("%(n)d h") % {"n": seconds // 3600}
    if seconds < 30 * 86400:
        return _("%(n)d d") % {"n": seconds // 86400}
    return _date_text(timezone.localtime(value))


def _finnish() -> bool:
    return (get_language() or "").startswith("fi")


def _date_text(local: datetime) -> str:
    """Return a compact date in the active language: "21.11.2026" in Finnish, "21 Nov 2026" in English.

    Written directly rather than with formats.date_format: timelines call this for every entry.
    """
    if _finnish():
        return f"{local.day}.{local.month}.{local.year}"
    return f"{local.day} {str(MONTHS_3[local.month]).title()} {local.year}"


@register.simple_tag
def day(value: datetime | None) -> SafeString:
    """Return a <time> with the local date only (full date and time on hover)."""
    if value is None:
        return format_html("{}", "–")
    local = timezone.localtime(value)
    absolute = formats.date_format(local, "DATETIME_FORMAT")
    return format_html('<time datetime="{}" title="{}">{}</time>', value.isoformat(), absolute, _date_text(local))


@register.simple_tag
def reltime(value: datetime | None) -> SafeString:
    """Return a <time> with a compact relative text ("12 min") and the absolute local time on hover."""
    if value is None:
        return format_html("{}", "–")
    local = timezone.localtime(value)
    absolute = formats.date_format(local, "DATETIME_FORMAT")
    return format_html(
        '<time datetime="{}" title="{}">{}</time>', value.isoformat(), absolute, _relative(value, timezone.now())
    )


@register.simple_tag
def abstime(value: datetime | None) -> SafeString:
    """Return a <time> showing the absolute local time, compact: today's date is left out."""
    if value is None:
        return format_html("{}", "–")
    local = timezone.localtime(value)
    today = timezone.localtime(timezone.now()).date()
    text = f"{local:%H:%M}" if local.date() == today else f"{_date_text(local)} {local:%H:%M}"
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        value.isoformat(),
        formats.date_format(local, "DATETIME_FORMAT"),
        text,
    )


def _label(choices: Any, value: Any) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def _case_link(reference: str) -> SafeString:
    return format_html('<a href="{}">{}</a>', reverse("console:case", args=[reference]), reference)


@register.simple_tag
def event_text(event: CaseEvent) -> str:
    """Return one sentence that tells what EVENT changed, in the active language (split events link the case)."""
    data = event.data or {}
    actor = (event.actor.get_full_name() or event.actor.get_username()) if event.actor else _("Tiski")
    kind = event.kind
    if kind == CaseEvent.Kind.SPLIT and data.get("new"):
        return format_html(_("Moved to a new case {case} by {actor}"), case=_case_link(str(data["new"])), actor=actor)
    if kind == CaseEvent.Kind.CREATED and data.get("split_from"):
        return format_html(_("Split from {case} by {actor}"), case=_case_link(str(data["split_from"])), actor=actor)
    if kind == CaseEvent.Kind.STATUS_CHANGED:
        return _("%(actor)s changed the status from %(old)s to %(new)s") % {
            "actor": actor,
            "old": _label(Case.Status, data.get("old")),
            "new": _label(Case.Status, data.get("new")),
        }
    if kind == CaseEvent.Kind.PRIORITY_CHANGED:
        return _("%(actor)s changed the priority from %(old)s to %(new)s") % {
            "actor": actor,
            "old": _label(Case.Priority, data.get("old")),
            "new": _label(Case.Priority, data.get("new")),
        }
    if kind == CaseEvent.Kind.ASSIGNED:
        if data.get("new"):
            return _("%(actor)s assigned the case to %(new)s") % {"actor": actor, "new": data["new"]}
        return _("%(actor)s unassigned the case") % {"actor": actor}
    if kind == CaseEvent.Kind.TEAM_CHANGED:
        return _("%(actor)s moved the case to team %(new)s") % {"actor": actor, "new": data.get("new") or "–"}
    if kind == CaseEvent.Kind.CREATED:
        return _("Case created") if not event.actor else _("%(actor)s created the case") % {"actor": actor}
    if kind == CaseEvent.Kind.ESCALATED_TO_CALL:
        return _("%(actor)s escalated the chat to a call to %(number)s") % {
            "actor": actor,
            "number": data.get("number") or "–",
        }
    if kind in (CaseEvent.Kind.CALL_ENDED, CaseEvent.Kind.CALL_MISSED, CaseEvent.Kind.CALL_RECORDED) and data.get(
        "direction"
    ):
        return _telephony_call_text(kind, data)
    if kind in CALLBACK_KINDS:
        return _callback_text(kind, data, actor)
    if kind == CaseEvent.Kind.UPDATED and data.get("field") == "proactive":
        from tiski.proactive.selectors import proactive_event_text

        return proactive_event_text(data)
    if kind in (CaseEvent.Kind.SLA_WARNING, CaseEvent.Kind.SLA_BREACHED):
        return _sla_text(kind, data)
    if kind in (CaseEvent.Kind.SURVEY_SENT, CaseEvent.Kind.SURVEY_ANSWERED):
        from tiski.surveys.selectors import survey_event_text

        return survey_event_text(kind, data)
    if kind == CaseEvent.Kind.CALL_ENDED:
        return _("Call to %(number)s ended · %(duration)s · %(actor)s") % {
            "number": data.get("number") or "–",
            "duration": call_duration(int(data.get("duration_s") or 0)),
            "actor": actor,
        }
    return f"{_label(CaseEvent.Kind, kind)} · {actor}"


CALL_OUTCOMES = {  # the telephony system's word for how a call nobody took ended
    "abandoned": gettext_lazy("the caller hung up waiting"),
    "busy": gettext_lazy("busy"),
    "no-answer": gettext_lazy("no answer"),
    "canceled": gettext_lazy("cancelled"),
    "failed": gettext_lazy("failed"),
    "missed": gettext_lazy("not answered"),
    "voicemail": gettext_lazy("left a voicemail"),
}


CALLBACK_KINDS = (CaseEvent.Kind.CALLBACK_REQUESTED, CaseEvent.Kind.CALLBACK_ATTEMPTED, CaseEvent.Kind.CALLBACK_CLOSED)


def _callback_text(kind: str, data: dict[str, Any], actor: str) -> str:
    """A callback request asked for, tried or closed."""
    from tiski.channels.voice.models import CallbackAttempt, CallbackRequest

    number = data.get("number") or "–"
    if kind == CaseEvent.Kind.CALLBACK_REQUESTED:
        source = _label(CallbackRequest.Source, data.get("source"))
        if data.get("again"):
            return _("Asked again to be called back at %(number)s (%(source)s)") % {"number": number, "source": source}
        text = _("Callback requested to %(number)s (%(source)s)") % {"number": number, "source": source}
        extras = [str(data[key]) for key in ("topic", "preferred_time") if data.get(key)]
        return " · ".join([text, *extras])
    if kind == CaseEvent.Kind.CALLBACK_ATTEMPTED:
        return _("Callback attempt %(n)s to %(number)s: %(outcome)s · %(actor)s") % {
            "n": data.get("attempt") or "?",
            "number": number,
            "outcome": _label(CallbackAttempt.Outcome, data.get("outcome")),
            "actor": actor,
        }
    status = _label(CallbackRequest.Status, data.get("status"))
    told = {"sms": _("the customer was told by SMS"), "email": _("the customer was told by email")}
    parts = [_("Callback request closed: %(status)s") % {"status": status}]
    if data.get("reason") == "attempts_used":
        parts.append(_("%(n)s attempts") % {"n": data.get("attempts")})
    if data.get("told_by") in told:
        parts.append(str(told[str(data["told_by"])]))
    return " · ".join(parts)


def _sla_text(kind: str, data: dict[str, Any]) -> str:
    """A service-level target at risk or missed: which, and when it is or was due."""
    from tiski.sla.models import SlaClock

    target = _label(SlaClock.Metric, data.get("metric"))
    due = parse_datetime(str(data.get("due") or ""))
    when = formats.date_format(timezone.localtime(due), "SHORT_DATETIME_FORMAT") if due else "–"
    if kind == CaseEvent.Kind.SLA_WARNING:
        return _("%(target)s at risk: due %(due)s") % {"target": target, "due": when}
    return _("%(target)s target missed: it was due %(due)s") % {"target": target, "due": when}


def _telephony_call_text(kind: str, data: dict[str, Any]) -> str:
    """A call the telephony system reported: who called whom, how long it waited and talked, how it ended."""
    number = data.get("number") or _("an unknown number")
    if kind == CaseEvent.Kind.CALL_RECORDED:
        return _("The recording of the call with %(number)s is available") % {"number": number}
    inbound = data.get("direction") == "inbound"
    if kind == CaseEvent.Kind.CALL_MISSED:
        head = _("Missed call from %(number)s") if inbound else _("Call to %(number)s not answered")
    else:
        head = _("Call from %(number)s") if inbound else _("Call to %(number)s")
    parts = [head % {"number": number}]
    if data.get("duration_s") is not None and kind == CaseEvent.Kind.CALL_ENDED:
        parts.append(_("talked %(duration)s") % {"duration": call_duration(int(data["duration_s"]))})
    if data.get("wait_s") is not None and inbound:
        parts.append(_("waited %(duration)s") % {"duration": call_duration(int(data["wait_s"]))})
    if data.get("outcome") and kind == CaseEvent.Kind.CALL_MISSED:
        outcome = str(data["outcome"])
        parts.append(str(CALL_OUTCOMES.get(outcome, outcome)))
    parts += [str(data[key]) for key in ("agent", "queue") if data.get(key)]
    return " · ".join(parts)


@register.simple_tag
def dial_ready() -> bool:
    """Return whether a phone channel can place calls (the case page then offers "Call" by each number)."""
    from tiski.channels.voice.services import phone_channel_for_dialling

    return phone_channel_for_dialling() is not None


@register.simple_tag(takes_context=True)
def screen_pop(context: template.Context) -> SafeString:
    """Draw the screen-pop of the agent's calls (ringing, in progress, waiting for their wrap-up)."""
    from tiski.console.call_views import screen_pop_html

    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return mark_safe("")
    return mark_safe(screen_pop_html(request=request, user=user))  # noqa: S308  (a rendered template)


@register.inclusion_tag("console/_callback.html", takes_context=True)
def callback_panel(context: template.Context, case: Case) -> dict[str, Any]:
    """The case's callback request (its newest, open or not): number, window, attempts, and the agent's form."""
    from tiski.channels.voice.callbacks import max_attempts
    from tiski.channels.voice.models import CallbackAttempt, CallbackRequest

    can_work = bool(context.get("can_work"))  # a read-only user sees the request, not the forms
    request = CallbackRequest.objects.filter(case=case).order_by("-pk").first()
    attempts = list(CallbackAttempt.objects.filter(request=request).select_related("agent")) if request else []
    return {
        "callback": request,
        "attempts": attempts,
        "max_attempts": max_attempts(),
        "outcomes": CallbackAttempt.Outcome.choices,
        "case": case,
        "dial": bool(can_work and request and request.is_open and dial_ready()),
        "can_work": can_work,
        "request": context.get("request"),
        "csrf_token": context.get("csrf_token"),
    }


@register.filter
def call_duration(seconds: int) -> str:
    """Return SECONDS as a call's length: "0:45", "12:05", "1:02:09"."""
    seconds = max(int(seconds), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@register.filter
def filesize(size: int) -> str:
    """Return SIZE in bytes as "812 B", "14 kB", "2.3 MB"."""
    if size < 1024:
        return ngettext("%(n)d byte", "%(n)d bytes", size) % {"n": size}
    if size < 1024 * 1024:
        return _("%(n)d kB") % {"n": round(size / 1024)}
    return _("%(n)s MB") % {"n": formats.number_format(size / (1024 * 1024), 1)}


@register.simple_tag
def sent_mail_in_nav(user: Any) -> bool:
    """Return whether the nav links the local mailbox: only with that backend and the permission."""
    return local_mailbox_enabled() and bool(user.has_perm("accounts.view_sent_mail"))


@register.simple_tag(takes_context=True)
def query_with(context: template.Context, **changes: Any) -> str:
    """Return the current query string with CHANGES applied (None removes a key); page is reset unless given."""
    request = context["request"]
    query = request.GET.copy()
    query.pop("page", None)
    for key, value in changes.items():
        query.pop(key, None)
        if value not in (None, ""):
            query[key] = value
    return query.urlencode()


@register.filter
def user_name(user: Any) -> str:
    """USER's full name, else the username; a dash when there is no user (an account deleted since)."""
    if user is None:
        return "–"
    return str(user.get_full_name() or user.get_username())


@register.filter
def initials(name: str) -> str:
    parts = [p for p in str(name).replace(".", " ").split() if p]
    return "".join(p[0] for p in parts[:2]).upper() or "?"


@register.simple_tag
def quarantine_in_nav(user: Any) -> int | None:
    """Return the number of quarantined mails waiting, or None when USER may not see the quarantine."""
    return quarantine_unresolved_count(user=user)


@register.filter
def has_remote_images(body_html: str) -> bool:
    return email_html.has_remote_images(body_html or "")


@register.filter
def lookup(mapping: dict[Any, Any], key: Any) -> Any:
    """Return MAPPING[KEY], or None."""
    return mapping.get(key) if mapping else None


@register.simple_tag
def iframe_sandbox() -> str:
    """Return the sandbox flags of a formatted email's frame: no scripts, no same-origin access."""
    return email_html.IFRAME_SANDBOX


@register.simple_tag
def notifications_in_nav(user: Any) -> int:
    """Return USER's unread notifications (one COUNT on the index), 0 for an anonymous user."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return notifications_unread_count(user=user)
