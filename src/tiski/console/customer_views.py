"""The console's customer pages: the 360° view and its actions, organisations, following, notifications.

Thin views: each parses its input, calls one selector or service, and renders a page or an htmx partial.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, push_url, reswap, retarget

from tiski.accounts.roles import ERASE_CUSTOMERS, EXPORT_CUSTOMERS, MERGE_CUSTOMERS
from tiski.audit.services import audit_record
from tiski.cases.exceptions import CaseNotFoundError
from tiski.cases.models import Case
from tiski.cases.selectors import case_get_for_agent
from tiski.channels.models import ChannelKind
from tiski.console import forms
from tiski.console.selectors import ConsoleNotFoundError, customer_panel, notification_get_for
from tiski.console.views import _is_htmx, _user, agent_required, case_pane_context, viewer_may_post
from tiski.customers.exceptions import (
    CustomerErasedError,
    CustomerMergeError,
    IdentitySplitError,
    SuggestionDecidedError,
    TimelineCursorInvalidError,
    TimelineFilterInvalidError,
)
from tiski.customers.gdpr import customer_erase, customer_export
from tiski.customers.models import Customer, MatchSuggestion, Organization
from tiski.customers.selectors import (
    CustomerNotFoundError,
    CustomerPermissionError,
    customer_case_count,
    customer_get,
    customer_search,
    customer_timeline,
    identity_get,
    organization_customers,
    organization_get,
    organization_records,
    suggestion_get,
)
from tiski.customers.services import customer_merge, identity_split, suggestion_accept, suggestion_reject
from tiski.customers.signal_rules import signals_for
from tiski.notifications.exceptions import FollowInvalidError, FollowPermissionError
from tiski.notifications.selectors import is_following, notifications_list, notifications_unread_count
from tiski.notifications.services import follow, notifications_mark_read, unfollow

TIMELINE_PAGE = 30
TIMELINE_KIND_CHOICES = [
    ("", gettext_lazy("Everything")),
    ("messages", gettext_lazy("Messages")),
    ("notes", pgettext_lazy("timeline filter: internal notes", "Notes")),
    ("events", gettext_lazy("Events")),
]


def _customer_or_404(request: HttpRequest, pk: int) -> Customer:
    try:
        return customer_get(user=_user(request), customer_id=pk)
    except CustomerPermissionError as exc:
        raise PermissionDenied(str(exc)) from None
    except CustomerNotFoundError:
        raise Http404(_("No customer %(number)s.") % {"number": pk}) from None


def _require(request: HttpRequest, perm: str, refusal: str) -> None:
    if not _user(request).has_perm(perm):
        raise PermissionDenied(refusal)


def _failed(request: HttpRequest, error: str, *, status: int, target: str, fallback: str) -> HttpResponse:
    """Answer a refused action with the reason: in the action's error slot (htmx), else as a message."""
    if _is_htmx(request):
        response = render(request, "console/_form_error.html", {"error": error}, status=status)
        return reswap(retarget(response, f"#{target}"), "innerHTML")
    messages.error(request, error)
    return redirect(fallback)


def _timeline_context(request: HttpRequest, customer: Customer, filters: forms.TimelineFilters) -> dict[str, Any]:
    page = customer_timeline(
        user=_user(request),
        customer=customer,
        before=filters.before or None,
        kinds=filters.kinds,
        channel=filters.channel or None,
        limit=TIMELINE_PAGE,
    )
    return {
        "customer": customer,
        "timeline": page,
        "filters": filters,
        "channel_kinds": ChannelKind.choices,
        "timeline_kinds": TIMELINE_KIND_CHOICES,
    }


@require_GET
@agent_required
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The 360° page: who the customer is, signals, suggestions, the merged timeline, cases and records."""
    customer = _customer_or_404(request, pk)
    filters = forms.timeline_filters(request.GET)
    try:
        context = _timeline_context(request, customer, filters)
    except (TimelineCursorInvalidError, TimelineFilterInvalidError):
        context = _timeline_context(request, customer, forms.TimelineFilters())
    panel = customer_panel(user=_user(request), customer=customer, records_latest=5)
    if not panel.full:  # the issue asks for a partner's look at a customer to be on the audit trail
        audit_record(
            action="customer.view_full",
            actor=_user(request),
            target=customer,
            detail={"reduced": True},
            request=request,
        )
    context |= {"panel": panel} | follow_button_context(target="customer", obj=customer, following=panel.following)
    return render(request, "console/customer.html", context)


@require_GET
@agent_required
def customer_timeline_partial(request: HttpRequest, pk: int) -> HttpResponse:
    """The timeline for new filters (the whole section), or the next older entries (with "before")."""
    customer = _customer_or_404(request, pk)
    filters = forms.timeline_filters(request.GET)
    try:
        context = _timeline_context(request, customer, filters)
    except (TimelineCursorInvalidError, TimelineFilterInvalidError) as exc:
        return render(request, "console/_form_error.html", {"error": str(exc)}, status=400)
    if filters.before:
        return render(request, "console/_c360_entries.html", context)
    # New filters: the address bar shows the page with them, so a reload or a shared link keeps them.
    query = filters.query()
    page_url = reverse("console:customer", args=[customer.pk]) + (f"?{query}" if query else "")
    return push_url(render(request, "console/_c360_timeline.html", context), page_url)


# Following ------------------------------------------------------------------------------------------------------


def _follow_target(request: HttpRequest, target: str, key: str | int) -> Customer | Organization | Case:
    user = _user(request)
    try:
        if target == "customer":
            return customer_get(user=user, customer_id=int(key))
        if target == "organization":
            return organization_get(user=user, organization_id=int(key))
        return case_get_for_agent(user=user, reference=key)
    except (CustomerNotFoundError, CaseNotFoundError, ValueError):
        raise Http404(_("Nothing to follow here.")) from None
    except CustomerPermissionError as exc:
        raise PermissionDenied(str(exc)) from None


def follow_button_context(*, target: str, obj: Any, following: bool) -> dict[str, Any]:
    """Return what _follow_button.html needs for OBJ (a customer, organisation or case)."""
    key = obj.reference if target == "case" else obj.pk
    return {"follow": {"target": target, "url": reverse(f"console:{target}-follow", args=[key]), "on": following}}


@require_POST
@agent_required
@viewer_may_post
def follow_toggle(request: HttpRequest, target: str, key: str | int) -> HttpResponse:
    """Follow or stop following a customer, organisation or case ("action" = follow | unfollow)."""
    obj = _follow_target(request, target, key)
    user = _user(request)
    kwargs: dict[str, Any] = {target: obj}
    try:
        if request.POST.get("action") == "unfollow":
            unfollow(user=user, **kwargs)
        else:
            follow(user=user, **kwargs)
    except FollowPermissionError as exc:
        raise PermissionDenied(str(exc)) from None
    except FollowInvalidError as exc:
        return HttpResponse(str(exc), status=400)
    following = is_following(user=user, **kwargs)
    if _is_htmx(request):
        return render(
            request, "console/_follow_button.html", follow_button_context(target=target, obj=obj, following=following)
        )
    messages.success(request, _("You follow this now.") if following else _("You no longer follow this."))
    return redirect(_back(request, fallback=reverse("console:inbox")))


def _back(request: HttpRequest, *, fallback: str) -> str:
    """Return the page the form was posted from when it is ours, else FALLBACK."""
    nxt = request.POST.get("next") or request.META.get("HTTP_REFERER", "")
    allowed = url_has_allowed_host_and_scheme(
        nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return nxt if nxt and allowed else fallback


# Match suggestions ----------------------------------------------------------------------------------------------


def _suggestion_or_404(request: HttpRequest, pk: int) -> MatchSuggestion:
    try:
        return suggestion_get(user=_user(request), suggestion_id=pk)
    except CustomerPermissionError as exc:
        raise PermissionDenied(str(exc)) from None
    except CustomerNotFoundError:
        raise Http404(_("No such suggestion.")) from None


def _case_for_pane(request: HttpRequest) -> Case | None:
    reference = request.POST.get("case", "")
    if not reference:
        return None
    try:
        return case_get_for_agent(user=_user(request), reference=reference)
    except CaseNotFoundError:
        raise Http404(_("No case %(reference)s.") % {"reference": reference}) from None


def _suggestion_done(request: HttpRequest, case: Case | None, customer_id: int, notice: str) -> HttpResponse:
    """Answer a decided suggestion: beside a case, its refreshed customer pane; else the customer's page."""
    if case is not None:
        case = case_get_for_agent(user=_user(request), reference=case.pk)
        if _is_htmx(request):
            return render(request, "console/_customer.html", case_pane_context(request, case) | {"notice": notice})
        messages.success(request, notice)
        return redirect("console:case", reference=case.reference)
    messages.success(request, notice)
    url = reverse("console:customer", args=[customer_id])
    return HttpResponseClientRedirect(url) if _is_htmx(request) else redirect(url)


def _changed_meanwhile(exc: Exception) -> str:
    if isinstance(exc, Customer.DoesNotExist):
        return _("One of the customers was merged or removed meanwhile. Reload the page.")
    return str(exc)


@require_POST
@agent_required
def suggestion_link(request: HttpRequest, pk: int) -> HttpResponse:
    """Link: the provisional customer is the suggested one; merge it into them (the handle is known from now on)."""
    suggestion = _suggestion_or_404(request, pk)
    case = _case_for_pane(request)
    fallback = reverse("console:customer", args=[suggestion.customer_id])
    try:
        customer = suggestion_accept(suggestion=suggestion, actor=_user(request))
    except PermissionError as exc:
        return _failed(request, str(exc), status=403, target=f"suggestion-{pk}-errors", fallback=fallback)
    except (SuggestionDecidedError, CustomerMergeError, Customer.DoesNotExist) as exc:
        error = _changed_meanwhile(exc)
        return _failed(request, error, status=409, target=f"suggestion-{pk}-errors", fallback=fallback)
    notice = _("Linked: this contact is %(name)s.") % {"name": customer}
    return _suggestion_done(request, case, customer.pk, notice)


@require_POST
@agent_required
def suggestion_reject_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Not the same: the suggestion is closed and not made again."""
    suggestion = _suggestion_or_404(request, pk)
    case = _case_for_pane(request)
    fallback = reverse("console:customer", args=[suggestion.customer_id])
    try:
        suggestion_reject(suggestion=suggestion, actor=_user(request))
    except PermissionError as exc:
        return _failed(request, str(exc), status=403, target=f"suggestion-{pk}-errors", fallback=fallback)
    except SuggestionDecidedError as exc:
        return _failed(request, str(exc), status=409, target=f"suggestion-{pk}-errors", fallback=fallback)
    notice = _("Noted: not %(name)s.") % {"name": suggestion.candidate}
    return _suggestion_done(request, case, suggestion.customer_id, notice)


# Merge and split ------------------------------------------------------------------------------------------------

MERGE_REFUSED = _("Only a team lead can merge customers. Ask one to do it.")


@require_http_methods(["GET", "POST"])
@agent_required
def customer_merge_view(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: search the customer to merge with (q), then confirm one (other); POST: merge them."""
    _require(request, MERGE_CUSTOMERS, str(MERGE_REFUSED))
    customer = _customer_or_404(request, pk)
    user = _user(request)
    template = "console/_merge_panel.html" if _is_htmx(request) else "console/customer_merge.html"
    if request.method == "POST":
        return _merge(request, customer)
    q = request.GET.get("q", "").strip()[:200]
    context: dict[str, Any] = {"customer": customer, "q": q, "results": None, "other": None}
    other_id = request.GET.get("other", "")
    if other_id.isdigit() and int(other_id) != customer.pk:
        other = _customer_or_404(request, int(other_id))
        context |= {
            "other": other,
            "case_counts": {
                customer.pk: customer_case_count(user=user, customer=customer),
                other.pk: customer_case_count(user=user, customer=other),
            },
        }
    elif q:
        context["results"] = customer_search(user=user, q=q, exclude_id=customer.pk)
    if _is_htmx(request) and request.GET.get("results") == "1":
        template = "console/_merge_results.html"
    return render(request, template, context)


def _merge(request: HttpRequest, customer: Customer) -> HttpResponse:
    form = forms.MergeForm(request.POST)
    here = reverse("console:customer", args=[customer.pk])
    if not form.is_valid():
        error = " ".join(str(e) for errors in form.errors.values() for e in errors)
        return _failed(request, error, status=400, target="merge-errors", fallback=here)
    other = _customer_or_404(request, form.cleaned_data["other"])
    master, merged = (other, customer) if form.cleaned_data["keep"] == "other" else (customer, other)
    merged_name = str(merged)
    try:
        kept = customer_merge(master=master, other=merged, actor=_user(request))
    except PermissionError as exc:
        return _failed(request, str(exc), status=403, target="merge-errors", fallback=here)
    except CustomerMergeError as exc:
        return _failed(request, str(exc), status=409, target="merge-errors", fallback=here)
    messages.success(request, _("%(other)s was merged into %(kept)s.") % {"other": merged_name, "kept": kept})
    url = reverse("console:customer", args=[kept.pk])
    return HttpResponseClientRedirect(url) if _is_htmx(request) else redirect(url)


@require_http_methods(["GET", "POST"])
@agent_required
def identity_split_view(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks to confirm; POST moves the contact detail (and the cases it started) to a new customer."""
    _require(request, MERGE_CUSTOMERS, _("Only a team lead can split a contact detail off a customer."))
    try:
        identity = identity_get(user=_user(request), identity_id=pk)
    except CustomerNotFoundError:
        raise Http404(_("No such contact detail.")) from None
    owner = identity.customer
    here = reverse("console:customer", args=[owner.pk])
    if request.method == "GET":
        template = "console/_split_identity.html" if _is_htmx(request) else "console/split_identity.html"
        return render(request, template, {"identity": identity, "customer": owner})
    try:
        new = identity_split(identity=identity, actor=_user(request))
    except PermissionError as exc:
        return _failed(request, str(exc), status=403, target=f"identity-{pk}-errors", fallback=here)
    except IdentitySplitError as exc:
        return _failed(request, str(exc), status=409, target=f"identity-{pk}-errors", fallback=here)
    url = reverse("console:customer", args=[new.pk])
    messages.success(
        request,
        format_html(
            _("{identity} now belongs to a new customer: {link}"),
            identity=identity.value,
            link=format_html('<a href="{}">{}</a>', url, new),
        ),
    )
    return HttpResponseClientRedirect(here) if _is_htmx(request) else redirect(here)


# GDPR -----------------------------------------------------------------------------------------------------------


@require_POST
@agent_required
def customer_export_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Download everything about the customer as JSON (recorded on the customer's history)."""
    _require(request, EXPORT_CUSTOMERS, _("Only an administrator can export a customer's data."))
    customer = _customer_or_404(request, pk)
    try:
        data = customer_export(customer=customer, actor=_user(request))
    except PermissionError as exc:
        raise PermissionDenied(str(exc)) from None
    body = json.dumps(data, ensure_ascii=False, indent=2).encode()
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}.json"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_http_methods(["GET", "POST"])
@agent_required
def customer_erase_view(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for the customer's number as confirmation; POST erases (anonymises) the customer."""
    _require(request, ERASE_CUSTOMERS, _("Only an administrator can erase a customer's personal data."))
    customer = _customer_or_404(request, pk)
    here = reverse("console:customer", args=[customer.pk])
    form = forms.EraseForm(request.POST if request.method == "POST" else None, customer_id=customer.pk)
    template = "console/_erase_panel.html" if _is_htmx(request) else "console/customer_erase.html"
    if request.method == "GET":
        return render(request, template, {"customer": customer, "form": form})
    if not form.is_valid():
        error = " ".join(str(e) for errors in form.errors.values() for e in errors)
        return _failed(request, error, status=400, target="erase-errors", fallback=here)
    try:
        customer_erase(customer=customer, actor=_user(request))
    except PermissionError as exc:
        return _failed(request, str(exc), status=403, target="erase-errors", fallback=here)
    except CustomerErasedError as exc:
        return _failed(request, str(exc), status=409, target="erase-errors", fallback=here)
    messages.success(request, _("Customer #%(number)s was erased. Cases and statistics remain.") % {"number": pk})
    return HttpResponseClientRedirect(here) if _is_htmx(request) else redirect(here)


# Organisations --------------------------------------------------------------------------------------------------


@require_GET
@agent_required
def organization_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An organisation: its customers with their signals, its own records, follow."""
    user = _user(request)
    try:
        organization = organization_get(user=user, organization_id=pk)
    except CustomerPermissionError as exc:
        raise PermissionDenied(str(exc)) from None
    except CustomerNotFoundError:
        raise Http404(_("No organisation %(number)s.") % {"number": pk}) from None
    customers = organization_customers(user=user, organization=organization)
    context = {
        "organization": organization,
        "customers": customers,
        "signals": signals_for(customer_ids=[c.pk for c in customers]),
        "records": organization_records(user=user, organization=organization),
    } | follow_button_context(
        target="organization", obj=organization, following=is_following(user=user, organization=organization)
    )
    return render(request, "console/organization.html", context)


# Notifications --------------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@agent_required
@viewer_may_post
def notifications(request: HttpRequest) -> HttpResponse:
    """GET lists the user's notifications, newest first; POST marks them read (all, or the ids posted)."""
    user = _user(request)
    if request.method == "POST":
        ids = [int(v) for v in request.POST.getlist("id") if v.isdigit()]
        marked = notifications_mark_read(user=user, ids=ids or None)
        if not _is_htmx(request):
            messages.success(request, _("%(n)d marked read.") % {"n": marked})
            return redirect("console:notifications")
    unread_only = request.GET.get("show") == "unread"
    context = {
        "notifications": notifications_list(user=user, limit=100, unread_only=unread_only),
        "unread": notifications_unread_count(user=user),
        "unread_only": unread_only,
    }
    template = "console/_notifications_list.html" if _is_htmx(request) else "console/notifications.html"
    return render(request, template, context)


@require_GET
@agent_required
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one notification read and go to what it is about."""
    user = _user(request)
    try:
        notification = notification_get_for(user=user, notification_id=pk)
    except ConsoleNotFoundError:
        raise Http404(_("No such notification.")) from None
    notifications_mark_read(user=user, ids=[pk])
    if notification.case_id:
        return redirect("console:case", reference=Case(pk=notification.case_id).reference)
    if notification.customer_id:
        return redirect("console:customer", pk=notification.customer_id)
    return redirect("console:notifications")
