"""Template helpers for routing in the console: the nav's presence, offers and "My work", a case's work state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.contrib.auth.models import User
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from tiski.accounts.roles import WORK_CASES
from tiski.cases.models import Case
from tiski.console.routing_views import may_transfer, routing_nav_context
from tiski.console.templatetags.console import _relative
from tiski.routing.models import Presence
from tiski.routing.selectors import CaseWork, case_work, transfer_options

register = template.Library()

_SVG = (
    '<svg class="icon presence-icon presence-icon--{}" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true"'
    ' focusable="false">{}</svg>'
)
# Each presence has its own shape, so it reads without colour: a dot, a no-entry sign, a clock, a ring.
_PRESENCE_PATHS: dict[str, str] = {
    Presence.ONLINE: '<circle cx="8" cy="8" r="6" fill="currentColor"/>'
    '<path d="M5.2 8.2 7.1 10l3.7-4" fill="none" stroke="#fff" stroke-width="1.6" stroke-linecap="round"'
    ' stroke-linejoin="round"/>',
    Presence.BUSY: '<circle cx="8" cy="8" r="6" fill="currentColor"/><path d="M5 8h6" stroke="#fff" stroke-width="1.8"'
    ' stroke-linecap="round"/>',
    Presence.AWAY: '<circle cx="8" cy="8" r="6" fill="currentColor"/><path d="M8 4.8V8l2.2 1.4" fill="none"'
    ' stroke="#fff" stroke-width="1.5" stroke-linecap="round" stroke-linejoin="round"/>',
    Presence.OFFLINE: '<circle cx="8" cy="8" r="5.3" fill="none" stroke="currentColor" stroke-width="1.6"/>',
}


@register.simple_tag
def presence_icon(presence: str) -> SafeString:
    """Return the icon of PRESENCE (decorative: the label is always next to it or in the title)."""
    paths = _PRESENCE_PATHS.get(presence, _PRESENCE_PATHS[Presence.OFFLINE])
    return mark_safe(_SVG.format(presence, paths))  # noqa: S308  (constant markup)


@register.filter
def presence_label(presence: str) -> str:
    return str(Presence(presence).label) if presence in Presence.values else presence


@register.simple_tag
def ago(value: datetime | None, wait: bool = False) -> SafeString:
    """Return a relative time ("12 min") that the console's script keeps current, the absolute time on hover.

    WAIT words a duration instead of a moment: "under a minute" rather than "now" ("waiting for …").
    """
    if value is None:
        return format_html("{}", "–")
    absolute = formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")
    seconds = (timezone.now() - value).total_seconds()
    text = _("under a minute") if wait and seconds < 60 else _relative(value, timezone.now())
    return format_html(
        '<time datetime="{}" title="{}" data-ago="{}">{}</time>',
        value.isoformat(),
        absolute,
        "wait" if wait else "",
        text,
    )


@register.filter
def ref_number(reference: str) -> str:
    """Return the number of a case reference (1042 of TSK-1042), for where only a few characters fit."""
    return reference.rpartition("-")[2]


@register.simple_tag
def countdown(value: datetime) -> SafeString:
    """Return the time left until VALUE as m:ss, which the console's script counts down from the seconds left
    (not from VALUE: the browser's clock may differ from the server's)."""
    seconds = max(0, int((value - timezone.now()).total_seconds()))
    return format_html(
        '<time datetime="{}" data-countdown data-left="{}" data-expired-text="{}">{}:{}</time>',
        value.isoformat(),
        seconds,
        _("expired"),
        seconds // 60,
        f"{seconds % 60:02d}",
    )


@register.simple_tag(takes_context=True)
def routing_nav(context: template.Context) -> dict[str, Any]:
    """Return the routing parts of the console's frame for the request's user (empty for non-agents)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if not isinstance(user, User) or not user.has_perm(WORK_CASES):
        return {}
    match = getattr(request, "resolver_match", None)
    current = match.kwargs.get("reference", "") if match is not None and match.url_name == "case" else ""
    return routing_nav_context(user=user, current=current) | {"reltime_units": reltime_units()}


def reltime_units() -> dict[str, str]:
    """Return the relative time formats of the active language, for the script that keeps them current."""
    return {"now": _("now"), "under": _("under a minute"), "min": _("%(n)d min"), "h": _("%(n)d h"), "d": _("%(n)d d")}


@register.simple_tag
def case_work_state(case: Case) -> CaseWork | None:
    """Return CASE's active work item as the case page shows it (None when routing does not hold it)."""
    work = case_work(case_id=case.pk, language=get_language() or "")
    return work if work is not None and work.active else None


@register.simple_tag(takes_context=True)
def transfer_choices(context: template.Context, work: CaseWork | None) -> dict[str, Any] | None:
    """Return the queues and agents the request's user may move WORK to, or None when they may not move it."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if work is None or not isinstance(user, User) or not may_transfer(user=user, item=work.item):
        return None
    queues, agents = transfer_options(item=work.item, language=get_language() or "")
    return {"queues": queues, "agents": agents, "current_queue": work.item.queue_id}
