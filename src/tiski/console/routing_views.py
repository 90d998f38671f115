"""The agent's side of routing in the console: presence, offers (accept/decline), transfers.

The same partials are rendered on every console page (tiski.console.templatetags.routing_console) and pushed
over the console's WebSocket (tiski.routing.consumers) with hx-swap-oob, so a page without a socket still shows
everything as of its load, and a page with one stays current without reloading.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import URLPattern, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseClientRefresh, reswap, retarget

from tiski.accounts.roles import ASSIGN_ANY
from tiski.cases.exceptions import CaseNotFoundError
from tiski.cases.models import Case
from tiski.cases.selectors import case_get_for_agent
from tiski.console.selectors import my_chats
from tiski.console.views import agent_required
from tiski.routing.exceptions import RoutingError, RoutingPermissionError
from tiski.routing.models import AgentState, Presence, Queue, WorkItem
from tiski.routing.selectors import (
    case_active_item,
    case_reference,
    console_work_for,
    offer_cards_for,
    presence_of,
    transfer_target_get,
    work_item_get,
)
from tiski.routing.services import presence_set, work_accept, work_decline, work_transfer

PRESENCE_HINTS = {
    Presence.ONLINE: gettext_lazy("New work is offered to you"),
    Presence.BUSY: gettext_lazy("No new work; keep what you have"),
    Presence.AWAY: gettext_lazy("Away from the desk; no new work"),
    Presence.OFFLINE: gettext_lazy("Not working"),
}
MY_WORK_SHOWN = 8


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _back(request: HttpRequest) -> HttpResponse:
    """Redirect to the page the form was sent from (a console page of this site), else the inbox."""
    target = request.POST.get("next") or request.headers.get("referer", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        return redirect(target)
    return redirect("console:inbox")


# --- context of the partials, shared by the pages, the views and the WebSocket ------------------------------


def presence_context(*, state: AgentState | None) -> dict[str, Any]:
    """Return what the nav's presence control shows for STATE (None: never routed, so offline)."""
    presence = state.presence if state is not None else Presence.OFFLINE
    return {
        "presence": presence,
        "presence_label": Presence(presence).label,
        "presence_since": state.presence_since if state is not None else None,
        "presence_choices": [(value, label, PRESENCE_HINTS[Presence(value)]) for value, label in Presence.choices],
    }


def offers_context(*, user: User) -> dict[str, Any]:
    return {"offers": offer_cards_for(user=user, language=get_language() or "")}


def _my_work(held: list[WorkItem], current: str) -> dict[str, Any]:
    return {
        "my_work": held[:MY_WORK_SHOWN],
        "my_work_more": max(len(held) - MY_WORK_SHOWN, 0),
        "my_work_current": current,
    }


def routing_nav_context(*, user: User, current: str = "") -> dict[str, Any]:
    """Return everything the console's frame shows of routing: presence, offers, the user's work.

    Two queries, one when the user holds no work: an agent's load is the sum of the units of the work offered
    or assigned to them, kept in the same transactions, and every item takes at least one unit. CURRENT is the
    reference of the case on screen, if any.
    """
    state = presence_of(user=user)
    holds_work = state is not None and state.load > 0
    cards, held = console_work_for(user=user, language=get_language() or "") if holds_work else ([], [])
    chats = my_chats(user=user) if holds_work else []  # a chat routed to the agent is part of their load
    return presence_context(state=state) | {"offers": cards, "my_chats": chats} | _my_work(held, current)


def live_html(*, user: User, parts: set[str], notice_item_id: int | None = None, current: str = "") -> str:
    """Return the partials PARTS ("presence", "offers", "my_work") of USER's console, as out-of-band swaps.

    NOTICE_ITEM_ID adds a notice that this item was assigned to USER; CURRENT is the case on the user's screen.
    Called by the WebSocket consumer, with the user's language and time zone active; the forms in it rely on
    the page's CSRF header (hx-headers on the body).
    """
    html = []
    if "presence" in parts:
        html.append(_render("console/_presence.html", presence_context(state=presence_of(user=user)), oob=True))
    if parts & {"offers", "my_work"}:
        cards, held = console_work_for(user=user, language=get_language() or "", held="my_work" in parts)
        if "offers" in parts:
            html.append(_render("console/_offers.html", {"offers": cards}, oob=True))
        if "my_work" in parts:
            html.append(_render("console/_my_work.html", _my_work(held, current), oob=True))
    if notice_item_id is not None:
        item = work_item_get(item_id=notice_item_id)
        mine = item is not None and item.agent_id == user.pk and item.status == WorkItem.Status.ASSIGNED
        # Who accepted an offer is opening its case already: a notice is for work that arrived by itself.
        if item is not None and mine and not _accepted_by_agent(item):
            html.append(render_to_string("console/_work_notice.html", {"item": item}))
    return "".join(html)


def _accepted_by_agent(item: WorkItem) -> bool:
    """Return whether ITEM was offered and then accepted (not assigned at once, transferred or given back)."""
    return item.offered_at is not None and item.assigned_at is not None and item.assigned_at > item.offered_at


def _render(
    template: str, routing: dict[str, Any], request: HttpRequest | None = None, *, oob: bool = False, **extra: Any
) -> str:
    return render_to_string(template, {"routing": routing, "oob": oob, **extra}, request)


# --- presence -----------------------------------------------------------------------------------------------


@require_POST
@agent_required
def presence_view(request: HttpRequest) -> HttpResponse:
    """Set the user's own presence (one click in the nav's menu)."""
    user = _user(request)
    value = request.POST.get("presence", "")
    if value not in Presence.values:
        if _is_htmx(request):  # the control stays as it was
            html = _render("console/_presence.html", presence_context(state=presence_of(user=user)), request)
            return HttpResponse(html, status=400)
        return HttpResponse(_("Choose online, busy, away or offline."), status=400)
    state = presence_set(user=user, presence=value, reason="manual", by=user)
    if _is_htmx(request):
        return HttpResponse(_render("console/_presence.html", presence_context(state=state), request))
    return _back(request)


# --- offers -------------------------------------------------------------------------------------------------


@require_GET
@agent_required
def offers_view(request: HttpRequest) -> HttpResponse:
    """Return the offers partial (the console re-reads it when its socket was down)."""
    user = _user(request)
    return HttpResponse(_render("console/_offers.html", offers_context(user=user), request))


def _offer_or_404(pk: int) -> WorkItem:
    item = work_item_get(item_id=pk)
    if item is None:
        raise Http404(_("No such work item."))
    return item


def _offer_failed(request: HttpRequest, error: str, status: int) -> HttpResponse:
    """Answer a refused accept or decline: the offers as they are now with the reason on top, or a message."""
    if _is_htmx(request):
        html = _render("console/_offers.html", offers_context(user=_user(request)), request, error=error)
        response = HttpResponse(html, status=status)
        return reswap(retarget(response, "#offers"), "outerHTML")
    messages.error(request, error)
    return _back(request)


def _not_yours(item: WorkItem, user: User) -> str | None:
    if item.agent_id != user.pk or item.status != WorkItem.Status.OFFERED:
        return _("This work is no longer offered to you: the offer expired or was withdrawn.")
    return None


@require_POST
@agent_required
def offer_accept(request: HttpRequest, pk: int) -> HttpResponse:
    """Accept an offer and open its case."""
    user = _user(request)
    item = _offer_or_404(pk)
    accepted_already = item.status == WorkItem.Status.ASSIGNED and item.agent_id == user.pk  # two tabs, two clicks
    if not accepted_already and (error := _not_yours(item, user)):
        return _offer_failed(request, error, 409)
    try:
        item = work_accept(item=item, agent=user)
    except RoutingError as exc:
        return _offer_failed(request, str(exc), 409)
    url = reverse("console:case", args=[case_reference(item.case_id)])
    return HttpResponseClientRedirect(url) if _is_htmx(request) else redirect(url)


@require_POST
@agent_required
def offer_decline(request: HttpRequest, pk: int) -> HttpResponse:
    """Decline an offer: it goes to the next agent at once and is not offered to this user again."""
    user = _user(request)
    item = _offer_or_404(pk)
    if error := _not_yours(item, user):
        return _offer_failed(request, error, 409)
    try:
        work_decline(item=item, agent=user)
    except RoutingError as exc:
        return _offer_failed(request, str(exc), 409)
    if _is_htmx(request):
        return HttpResponse(_render("console/_offers.html", offers_context(user=user), request))
    messages.success(request, _("Offer declined; it goes to the next agent."))
    return _back(request)


# --- transfer -----------------------------------------------------------------------------------------------


class TransferForm(forms.Form):
    target = forms.RegexField(
        regex=r"^(queue|agent):\d+$",
        error_messages={
            "required": gettext_lazy("Choose a queue or an agent."),
            "invalid": gettext_lazy("Choose a queue or an agent."),
        },
    )
    note = forms.CharField(required=False, max_length=4000, strip=True)

    def target_pair(self) -> tuple[str, int]:
        kind, _sep, pk = self.cleaned_data["target"].partition(":")
        return kind, int(pk)


def may_transfer(*, user: User, item: WorkItem) -> bool:
    """Return whether USER may move ITEM: their own offered or assigned work, anyone's with cases.assign_any."""
    own = item.agent_id == user.pk and item.status in (WorkItem.Status.OFFERED, WorkItem.Status.ASSIGNED)
    return own or user.has_perm(ASSIGN_ANY)


def _transfer_failed(request: HttpRequest, case: Case, error: str, status: int) -> HttpResponse:
    if _is_htmx(request):
        response = HttpResponse(render_to_string("console/_form_error.html", {"error": error}), status=status)
        return reswap(retarget(response, "#transfer-errors"), "innerHTML")
    messages.error(request, error)
    return redirect("console:case", reference=case.reference)


@require_POST
@agent_required
def case_transfer_view(request: HttpRequest, reference: str) -> HttpResponse:
    """Move the case's work to another queue or straight to an agent, with an optional note for them."""
    user = _user(request)
    try:
        case = case_get_for_agent(user=user, reference=reference)
    except CaseNotFoundError:
        raise Http404(_("No case %(reference)s.") % {"reference": reference}) from None
    item = case_active_item(case_id=case.pk)
    if item is None:
        return _transfer_failed(request, case, _("This case is not in a queue or with an agent in routing."), 409)
    if not may_transfer(user=user, item=item):
        raise PermissionDenied(_("Only the agent who has this work, a team lead or an administrator can transfer it."))
    form = TransferForm(request.POST)
    if not form.is_valid():
        return _transfer_failed(request, case, " ".join(str(e) for errors in form.errors.values() for e in errors), 400)
    kind, pk = form.target_pair()
    target = transfer_target_get(kind=kind, pk=pk)
    if target is None:
        return _transfer_failed(request, case, _("That queue or agent no longer exists. Reload the page."), 400)
    try:
        if isinstance(target, Queue):
            item = work_transfer(item=item, actor=user, queue=target, note=form.cleaned_data["note"])
        else:
            item = work_transfer(item=item, actor=user, agent=target, note=form.cleaned_data["note"])
    except RoutingPermissionError as exc:
        raise PermissionDenied(str(exc)) from None
    except RoutingError as exc:
        return _transfer_failed(request, case, str(exc), 409)
    messages.success(request, transfer_done_text(item))
    if _is_htmx(request):
        return HttpResponseClientRefresh()
    return redirect("console:case", reference=case.reference)


def transfer_done_text(item: WorkItem) -> str:
    if item.status == WorkItem.Status.ASSIGNED and item.agent is not None:
        name = item.agent.get_full_name() or item.agent.get_username()
        return _("Transferred to %(name)s.") % {"name": name}
    return _("Transferred to the queue %(queue)s.") % {"queue": item.queue.label(get_language() or "")}


urlpatterns: list[URLPattern] = [
    path("console/presence/", presence_view, name="presence"),
    path("console/offers/", offers_view, name="offers"),
    path("console/offers/<int:pk>/accept/", offer_accept, name="offer-accept"),
    path("console/offers/<int:pk>/decline/", offer_decline, name="offer-decline"),
    path("console/cases/<str:reference>/transfer/", case_transfer_view, name="case-transfer"),
]
