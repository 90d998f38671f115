"""Service levels in the console: a case's milestones with their due times, and the inbox's due badge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django import template
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from tiski.cases.models import Case
from tiski.console.templatetags.console import icon
from tiski.sla.models import SlaClock

register = template.Library()
SOON = timedelta(hours=1)


@dataclass(frozen=True)
class Milestone:
    clock: SlaClock
    label: str
    state: str  # ok, warn, late, paused, met, missed


@register.simple_tag
def sla_milestones(case: Case) -> list[Milestone]:
    """Return the newest clock of each target on CASE (cancelled ones left out), in the order they matter."""
    newest: dict[str, SlaClock] = {}
    for each in SlaClock.objects.filter(case=case).exclude(status=SlaClock.Status.CANCELLED).order_by("id"):
        newest[each.metric] = each
    order = [SlaClock.Metric.FIRST_RESPONSE, SlaClock.Metric.NEXT_RESPONSE, SlaClock.Metric.RESOLUTION]
    now = timezone.now()
    shown = [newest[metric] for metric in order if metric in newest]
    return [Milestone(clock=c, label=str(c.get_metric_display()), state=_state(c, now)) for c in shown]


def _state(clock: SlaClock, now: datetime) -> str:
    if clock.status == SlaClock.Status.RUNNING:
        if clock.due_at is not None and clock.due_at <= now:
            return "late"
        return "warn" if clock.warned_at is not None or (clock.warn_at and clock.warn_at <= now) else "ok"
    return {"paused": "paused", "met": "met"}.get(clock.status, "missed")


@register.simple_tag
def due_time(value: datetime | None) -> SafeString:
    """Return a countdown to VALUE ("in 12 min", "5 min late") that the console's script keeps current."""
    if value is None:
        return format_html("{}", "–")
    left = (value - timezone.now()).total_seconds()
    text = _("in %s") % _span(left) if left > 0 else _("%s late") % _span(-left)
    return format_html(
        '<time datetime="{}" title="{}" data-due data-in="{}" data-late="{}">{}</time>',
        value.isoformat(),
        formats.date_format(timezone.localtime(value), "DATETIME_FORMAT"),
        _("in %s"),
        _("%s late"),
        text,
    )


def _span(seconds: float) -> str:
    if seconds < 60:
        return _("under a minute")
    if seconds < 3600:
        return _("%(n)d min") % {"n": seconds // 60}
    if seconds < 86400:
        return _("%(n)d h") % {"n": seconds // 3600}
    return _("%(n)d d") % {"n": seconds // 86400}


@register.simple_tag
def sla_state(due: datetime | None) -> str:
    """Return "late", "soon" (within an hour) or "later" for a case's earliest due time ("" without one)."""
    if due is None:
        return ""
    now = timezone.now()
    return "late" if due <= now else ("soon" if due - now <= SOON else "later")


@register.simple_tag
def sla_badge(due: datetime | None) -> SafeString:
    """The inbox's mark on a case whose earliest target falls due within an hour or has passed (else nothing):
    an icon, its meaning and time in the title and for screen readers."""
    state = sla_state(due)
    if state not in ("late", "soon") or due is None:
        return SafeString("")
    text = _("Service level missed") if state == "late" else _("Service level due soon")
    when = formats.date_format(timezone.localtime(due), "SHORT_DATETIME_FORMAT")
    return format_html(
        '<span class="sla-badge sla-badge--{}" title="{}: {}">{}<span class="visually-hidden">{}: {}</span></span>',
        state,
        text,
        when,
        icon("clock"),
        text,
        when,
    )
