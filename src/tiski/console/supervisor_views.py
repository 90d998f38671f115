"""The live supervisor view: agents, queues, a queue's items; reassign work, change an agent's presence.

The pages render their live parts (the summary line, the agents and queues tables, a queue's figures and items)
from partials that ``supervisor_live_html`` renders again for the console's WebSocket, as out-of-band swaps,
whenever routing changes. Actions never sit in those parts: a row's button loads a small form into the side
panel (#sv-panel), which the live swaps leave alone, so a form being filled in is never replaced under the
supervisor's hands.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import URLPattern, path, reverse
from django.utils import timezone, translation
from django.utils.dates import MONTHS_3
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from tiski.accounts.models import AgentProfile
from tiski.accounts.roles import SUPERVISE
from tiski.console.templatetags.console import channel_badge, icon, priority_chip
from tiski.console.templatetags.routing_console import presence_icon
from tiski.console.views import P, View, agent_required
from tiski.routing.exceptions import RoutingError
from tiski.routing.models import Presence, Queue, WorkItem
from tiski.routing.selectors import (
    AgentRow,
    QueueItems,
    case_reference,
    queue_items,
    supervisor_agents,
    supervisor_queue,
    supervisor_queues,
    supervisor_summary,
    transfer_agents,
    transfer_queues,
)
from tiski.routing.services import presence_set, work_transfer

NOTE_MAX = 4000
OFFERED = str(WorkItem.Status.OFFERED.value)


def supervisor_required(view: View[P]) -> View[P]:
    """Let supervisors in (routing.supervise): agents get 403, anonymous users the login page."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        if not request.user.has_perm(SUPERVISE):
            raise PermissionDenied(_("Only team leads and administrators can watch and redistribute work."))
        return view(request, *args, **kwargs)

    return agent_required(wrapper)


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


# --- the table rows, rendered in Python -------------------------------------------------------------------------
#
# The live tables are rendered again on every routing change (at most once a second) and every few seconds for
# every supervisor watching, with hundreds of rows. Through the template engine a row costs about a millisecond,
# and even format_html costs a tenth of that; plain f-strings with html.escape cost a few microseconds, so 200
# agents stay well inside the page's 100 ms. Every text from the database or a translation goes through _e.
# The table frames, headers and empty states stay in the templates (console/_sv_agents.html, _sv_items.html).

_e = html.escape  # the same five characters as django.utils.html.escape, without its lazy-string wrapper

_OPTIONAL = '<span class="sv-skill__opt">?</span>'
_CARET = (
    '<svg class="icon sv-presence__caret" viewBox="0 0 16 16" width="12" height="12" aria-hidden="true"'
    ' focusable="false" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round"'
    ' stroke-linejoin="round"><path d="m4.5 6.5 3.5 3.5 3.5-3.5"/></svg>'
)


def _url_maker(name: str) -> Callable[[Any], str]:
    """Return a fast reverse() of the URL NAME with one argument (reversed once, then filled in), escaped."""
    marker = "0000000042"
    pattern = _e(reverse(name, args=[marker]))
    return lambda arg: pattern.replace(marker, _e(str(arg)))


class _Printer:
    """Formats times and labels for one rendering: translations, the time zone and caches looked up once."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.zone = timezone.get_current_timezone()
        self.today = now.astimezone(self.zone).date()
        self.finnish = (get_language() or "").startswith("fi")
        self.just_now = _e(_("now"))
        self.minutes, self.hours, self.days = _e(_("%(n)d min")), _e(_("%(n)d h")), _e(_("%(n)d d"))
        self.dash = "–"
        self.months = {number: str(name).title() for number, name in MONTHS_3.items()}
        self.case_prefix = f"{settings.TISKI_CASE_PREFIX}-"
        self.case_offset = settings.TISKI_CASE_NUMBER_OFFSET
        self._icons: dict[str, str] = {}

    def date_text(self, local: datetime) -> str:
        """Return the date as console.templatetags.console._date_text does ("21.11.2026", "21 Nov 2026")."""
        if self.finnish:
            return f"{local.day}.{local.month}.{local.year}"
        return f"{local.day} {self.months[local.month]} {local.year}"

    def reference(self, case_id: int) -> str:
        """Return the case reference, as Case.reference does."""
        return f"{self.case_prefix}{case_id + self.case_offset}"

    def relative(self, value: datetime) -> str:
        seconds = max(0, int((self.now - value).total_seconds()))
        if seconds < 60:
            return self.just_now
        if seconds < 3600:
            return self.minutes % {"n": seconds // 60}
        if seconds < 86400:
            return self.hours % {"n": seconds // 3600}
        if seconds < 30 * 86400:
            return self.days % {"n": seconds // 86400}
        return self.date_text(value.astimezone(self.zone))

    def ago(self, value: datetime | None) -> str:
        """Return what the routing_console `ago` tag returns (the console's script keeps it current)."""
        if value is None:
            return self.dash
        local = value.astimezone(self.zone)
        return (
            f'<time datetime="{value.isoformat()}" title="{self.date_text(local)} {local:%H:%M}" data-ago>'
            f"{self.relative(value)}</time>"
        )

    def clock(self, value: datetime) -> str:
        """Return a local time, with the date only when it is not today, the full date and time on hover."""
        local = value.astimezone(self.zone)
        absolute = f"{self.date_text(local)} {local:%H:%M}"
        text = f"{local:%H:%M}" if local.date() == self.today else absolute
        return f'<time datetime="{value.isoformat()}" title="{absolute}">{text}</time>'

    def icon(self, kind: str) -> str:
        if kind not in self._icons:
            self._icons[kind] = str(icon(kind))
        return self._icons[kind]


def sla_chip(state: str) -> SafeString:
    """Return the response-target state as a chip: a mark and a label, never colour alone."""
    labels = {"ok": _("On track"), "risk": _("At risk"), "breached": _("Breached")}
    if state not in labels:
        return mark_safe("")
    return format_html('<span class="sla sla--{}">{}</span>', state, labels[state])


def agent_rows_html(agents: list[AgentRow], now: datetime) -> SafeString:
    """Return the agents table's rows: presence (a button to change it), work held, capacity, output, idle time."""
    p = _Printer(now)
    case_url = _url_maker("console:case")
    panel_url = _url_maker("console:supervisor-presence")
    labels = {value: str(label) for value, label in Presence.choices}
    icons = {value: str(presence_icon(value)) for value in Presence.values}
    offered_label = _("offered")
    offered_tag = f'<span class="sv-item__tag">{_e(offered_label)}</span>'
    offered, assigned = _("offered, not yet accepted"), _("assigned")
    units_text = {
        n: ngettext("%(n)d unit", "%(n)d units", n) % {"n": n} for n in {w.units for a in agents for w in a.items}
    }
    change = _("%(name)s: %(presence)s. Change presence")
    in_use = _("%(load)s of %(capacity)s units in use")
    empty = f'<span class="muted">{p.dash}</span>'
    rows = []
    for row in agents:
        label = labels.get(row.presence, row.presence)
        chips = []
        for work in row.items:
            is_offered = work.status == OFFERED
            reference = p.reference(work.case_id)
            title = f"{work.subject} · {offered if is_offered else assigned} · {units_text[work.units]}"
            chips.append(
                f'<a class="sv-item{" is-offered" if is_offered else ""}" href="{case_url(reference)}"'
                f' title="{_e(title)}">{p.icon(work.channel_kind)}'
                f'<span class="sv-item__ref">{_e(reference)}</span>'
                f'<span class="sv-item__subject">{_e(work.subject)}</span>{offered_tag if is_offered else ""}'
                f'<span class="sv-item__since">{p.ago(work.since)}</span></a>'
            )
        if row.load or (row.available and row.capacity):
            title = in_use % {"load": row.load, "capacity": row.capacity}
            percent = row.used_percent
            capacity = (
                f'<span class="sv-cap{" is-full" if percent >= 100 else ""}" title="{_e(title)}">'
                f'<span class="sv-cap__bar" aria-hidden="true"><span class="sv-cap__fill" style="width: {percent}%">'
                f'</span></span><span class="sv-cap__text">{percent} %</span></span>'
            )
        else:
            capacity = empty
        aria = change % {"name": row.name, "presence": label}
        since = p.ago(row.presence_since) if row.presence_since else ""
        rows.append(
            f'<tr class="sv-row sv-agent--{_e(row.presence)}"><th scope="row" class="sv-agent-name">{_e(row.name)}</th>'
            f'<td class="sv-presence"><button class="sv-presence__btn" type="button" id="sv-presence-{row.user_id}"'
            f' hx-get="{panel_url(row.user_id)}" hx-target="#sv-panel" aria-label="{_e(aria)}">'
            f'{icons.get(row.presence, "")}<span class="sv-presence__label">{_e(label)}</span>'
            f'<span class="sv-for">{since}</span>{_CARET}</button></td>'
            f'<td class="sv-work" data-n="{len(chips) if len(chips) <= 2 else "many"}">{"".join(chips) or empty}</td>'
            f'<td class="sv-capacity">{capacity}</td><td class="num">{row.handled_today}</td>'
            f'<td class="num">{p.ago(row.idle_since)}</td></tr>\n'
        )
    return mark_safe("".join(rows))  # noqa: S308  (every text above is escaped with _e)


def item_rows_html(items: QueueItems, now: datetime) -> SafeString:
    """Return a queue's items table rows: case, channel, who has it, wait, target state, skills, priority."""
    p = _Printer(now)
    case_url = _url_maker("console:case")
    move_url = _url_maker("console:supervisor-transfer")
    channels: dict[str, str] = {}
    priorities: dict[int, str] = {}
    slas = {state: str(sla_chip(state)) for state in ("ok", "risk", "breached", "none")}
    waiting, offered_to, with_agent = _("Waiting"), _("Offered to %(name)s"), _("With %(name)s")
    optional, move, move_label = _("optional"), _e(_("Reassign…")), _("Reassign or move %(reference)s")
    any_agent_label, no_target_label = _("any agent"), _("No target")
    any_agent = f'<span class="muted">{_e(any_agent_label)}</span>'
    no_target = f'<span class="muted">{_e(no_target_label)}</span>'
    rows = []
    for r in items.rows:
        item = r.item
        if item.status == WorkItem.Status.QUEUED:
            state = waiting
        else:
            state = (offered_to if item.status == WorkItem.Status.OFFERED else with_agent) % {
                "name": _person(item.agent)
            }
        if item.channel_kind not in channels:
            channels[item.channel_kind] = str(channel_badge(item.channel_kind))
        if item.priority not in priorities:
            priorities[item.priority] = str(priority_chip(item.priority))
        declined = ""
        if item.declined and item.status == WorkItem.Status.QUEUED:
            n = len(item.declined)
            declined_text = ngettext("%(n)d declined", "%(n)d declined", n) % {"n": n}
            declined = f' <span class="muted">· {_e(declined_text)}</span>'
        skills = "".join(
            f'<span class="sv-skill{" is-optional" if need.optional else ""}">{_e(need.label)} ≥ {need.level}'
            f"{_OPTIONAL if need.optional else ''}</span>"
            for need in r.skills
        )
        skills_title = ", ".join(f"{n.label} ≥ {n.level}" + (f" ({optional})" if n.optional else "") for n in r.skills)
        due = p.clock(item.due_at) if item.due_at else no_target
        rows.append(
            f'<tr class="sv-row sv-item-row--{_e(item.status)}"><th scope="row" class="sv-case">'
            f'<a href="{case_url(r.reference)}"><span class="ref">{_e(r.reference)}</span>'
            f' <span class="sv-case__subject">{_e(item.case.subject)}</span></a></th>'
            f'<td>{channels[item.channel_kind]}</td><td class="sv-status" title="{_e(state)}">'
            f'<span class="sv-state sv-state--{_e(item.status)}">{_e(state)}</span>{declined}</td>'
            f'<td class="num">{p.ago(item.enqueued_at)}</td><td class="sv-due">{slas[r.sla]} {due}</td>'
            f'<td class="sv-skills" title="{_e(skills_title)}">{skills or any_agent}</td>'
            f'<td class="sv-prio-cell">{priorities[item.priority]}</td><td class="num">{item.units}</td>'
            f'<td class="sv-actions"><button class="btn btn--small" type="button" id="sv-move-{item.pk}"'
            f' hx-get="{move_url(item.pk)}" hx-target="#sv-panel"'
            f' aria-label="{_e(move_label % {"reference": r.reference})}">{move}</button></td></tr>\n'
        )
    return mark_safe("".join(rows))  # noqa: S308  (every text above is escaped with _e)


def _person(user: User | None) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


# --- contexts, shared by the pages, the actions and the WebSocket ------------------------------------------------


def overview_context(*, language: str) -> dict[str, Any]:
    """Return what the supervisor page's live parts show: the summary, the agents and the queues."""
    now = timezone.now()
    agents = supervisor_agents(now=now)
    queues = supervisor_queues(language=language, now=now)
    return {
        "agents": agents,
        "agent_rows": agent_rows_html(agents, now),
        "queues": queues,
        "summary": supervisor_summary(agents=agents, queues=queues),
    }


def queue_context(*, queue: Queue, language: str) -> dict[str, Any]:
    """Return what a queue's page shows live: its figures and its items."""
    now = timezone.now()
    items = queue_items(queue=queue, language=language, now=now)
    return {
        "queue": queue,
        "row": supervisor_queue(queue=queue, language=language, now=now),
        "items": items,
        "item_rows": item_rows_html(items, now),
    }


def _render_live(template: str, context: dict[str, Any]) -> str:
    return render_to_string(template, {**context, "oob": True})


def supervisor_live_html(
    request_user: User, view: str, queue_id: int | None = None, *, language: str | None = None
) -> str:
    """Return the live parts of a supervisor page as out-of-band swaps, in the supervisor's language.

    VIEW is "supervisor" (the overview) or "queue" (QUEUE_ID's page). The language is LANGUAGE (the page's, when
    the caller knows it), else the one set in the user's agent profile, else the active one (the caller's, or
    settings.LANGUAGE_CODE). Returns "" for a user who may not supervise or a queue that is gone. Called by the
    console's WebSocket consumer in a worker thread, on every routing change (coalesced) and every few seconds.
    """
    if not request_user.is_active or not request_user.has_perm(SUPERVISE):
        return ""
    if not language:
        language = AgentProfile.objects.filter(user=request_user).values_list("language", flat=True).first()
    with translation.override(language or get_language() or settings.LANGUAGE_CODE):
        language = get_language() or ""
        if view == "queue":
            queue = Queue.objects.filter(pk=queue_id).first() if queue_id else None
            if queue is None:
                return ""
            return _render_live("console/_sv_queue_live.html", queue_context(queue=queue, language=language))
        return _render_live("console/_sv_live.html", overview_context(language=language))


# --- pages -------------------------------------------------------------------------------------------------------


@require_GET
@supervisor_required
def supervisor(request: HttpRequest) -> HttpResponse:
    return render(request, "console/supervisor.html", overview_context(language=get_language() or ""))


@require_GET
@supervisor_required
def supervisor_queue_view(request: HttpRequest, pk: int) -> HttpResponse:
    queue = get_object_or_404(Queue, pk=pk)
    return render(request, "console/supervisor_queue.html", queue_context(queue=queue, language=get_language() or ""))


# --- actions -----------------------------------------------------------------------------------------------------


def _done(request: HttpRequest, *, text: str, live: str, back: str) -> HttpResponse:
    """Answer a successful action: htmx gets the panel emptied, the message and fresh live parts; a plain form
    post is redirected back with the message."""
    if not _is_htmx(request):
        messages.success(request, text)
        return redirect(back)
    return render(request, "console/_sv_done.html", {"text": text, "live": live})


def _failed(request: HttpRequest, *, error: str, template: str, context: dict[str, Any], back: str) -> HttpResponse:
    """Answer a refused action with the reason: in the panel's form for htmx, as a message otherwise."""
    if not _is_htmx(request):
        messages.error(request, error)
        return redirect(back)
    return render(request, template, {**context, "error": error}, status=409)


def _transfer_context(item: WorkItem, language: str, **extra: Any) -> dict[str, Any]:
    return {
        "item": item,
        "reference": case_reference(item.case_id),
        "agents": transfer_agents(item=item),
        "queues": transfer_queues(item=item, language=language),
        "queue_name": item.queue.label(language),
        **extra,
    }


@require_http_methods(["GET", "POST"])
@supervisor_required
def item_transfer(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the panel to hand an item to an agent serving its queue or move it to another queue. POST: do it."""
    item = get_object_or_404(WorkItem.objects.select_related("case", "queue", "agent"), pk=pk)
    language = get_language() or ""
    back = reverse("console:supervisor-queue", args=[item.queue_id])
    template = "console/_sv_transfer.html"
    if request.method == "GET":
        return render(request, template, _transfer_context(item, language, back=back))
    kind, _sep, raw_id = request.POST.get("target", "").partition(":")
    target_id = int(raw_id) if raw_id.isdigit() else None
    note = request.POST.get("note", "")[:NOTE_MAX]
    context = _transfer_context(item, language, back=back, note=note, target_kind=kind, target_id=target_id)
    queue = agent = None
    if kind == "queue" and target_id is not None:
        queue = Queue.objects.filter(pk=target_id, active=True).first()
    elif kind == "agent" and target_id is not None:
        agent = get_user_model().objects.filter(pk=target_id, is_active=True).first()
    if queue is None and agent is None:
        error = _("Choose an agent or a queue to move the work to.")
        return _failed(request, error=error, template=template, context=context, back=back)
    try:
        work_transfer(item=item, actor=_user(request), queue=queue, agent=agent, note=note)
    except RoutingError as exc:
        return _failed(request, error=str(exc), template=template, context=context, back=back)
    reference = case_reference(item.case_id)
    if agent is not None:
        name = agent.get_full_name() or agent.get_username()
        text = _("%(reference)s is now with %(name)s.") % {"reference": reference, "name": name}
    else:
        assert queue is not None
        text = _("%(reference)s now waits in %(queue)s.") % {"reference": reference, "queue": queue.label(language)}
    source = Queue.objects.get(pk=item.queue_id)
    live = _render_live("console/_sv_queue_live.html", queue_context(queue=source, language=language))
    return _done(request, text=text, live=live, back=back)


@require_http_methods(["GET", "POST"])
@supervisor_required
def agent_presence(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the panel to set an agent's presence. POST: set it (recorded as set by this supervisor)."""
    agent = get_object_or_404(get_user_model().objects.select_related("routing"), pk=pk, is_active=True)
    name = agent.get_full_name() or agent.get_username()
    state = getattr(agent, "routing", None)
    back = reverse("console:supervisor")
    template = "console/_sv_presence.html"
    context = {
        "agent": agent,
        "name": name,
        "current": state.presence if state is not None else Presence.OFFLINE,
        "choices": Presence.choices,
    }
    if request.method == "GET":
        return render(request, template, context)
    presence = request.POST.get("presence", "")
    if presence not in Presence.values:
        return _failed(request, error=_("Choose a presence."), template=template, context=context, back=back)
    try:
        presence_set(user=agent, presence=presence, reason="supervisor", by=_user(request))
    except RoutingError as exc:
        return _failed(request, error=str(exc), template=template, context=context, back=back)
    text = _("Presence of %(name)s: %(presence)s.") % {"name": name, "presence": Presence(presence).label}
    live = _render_live("console/_sv_live.html", overview_context(language=get_language() or ""))
    return _done(request, text=text, live=live, back=back)


urlpatterns: list[URLPattern] = [
    path("console/supervisor/", supervisor, name="supervisor"),
    path("console/supervisor/queues/<int:pk>/", supervisor_queue_view, name="supervisor-queue"),
    path("console/supervisor/items/<int:pk>/transfer/", item_transfer, name="supervisor-transfer"),
    path("console/supervisor/agents/<int:pk>/presence/", agent_presence, name="supervisor-presence"),
]
