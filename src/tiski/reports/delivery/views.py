"""The console page of report subscriptions: subscribe to a figure with its filter, see and cancel."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from tiski.console.views import agent_required
from tiski.reports.delivery.forms import WEEKDAYS, SubscriptionForm
from tiski.reports.delivery.models import ReportSubscription
from tiski.reports.delivery.subscriptions import (
    SUBSCRIBE_OTHERS,
    VIEW_REPORTS,
    SubscriptionError,
    SubscriptionIn,
    filter_text,
    query_days,
    report_recipients,
    subscription_cancel,
    subscription_create,
    subscriptions_for,
    user_language,
)
from tiski.reports.figures import BY_LABELS, FIGURES
from tiski.reports.filters import DIMENSIONS, FilterError, ReportFilter


def _leads_only(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.has_perm(VIEW_REPORTS):
            raise PermissionDenied(_("Only team leads and administrators can subscribe to reports."))
        return view(request, *args, **kwargs)

    return agent_required(wrapper)


def _initial(request: HttpRequest) -> tuple[dict[str, Any], int | None]:
    """The form's initial values from the figure page's link: ?figure=<name>&<its query>."""
    query = request.GET
    dims = QueryDict(mutable=True)
    for key in DIMENSIONS:
        if query.get(key):
            dims[key] = query[key]
    try:
        days: int | None = ReportFilter.from_query(query).days
    except FilterError:
        days = None
    initial = {
        "figure": query.get("figure", ""),
        "by": query.get("by", ""),
        "days": days or 7,
        "query": dims.urlencode(),
        "language": user_language(request.user),  # type: ignore[arg-type]
    }
    return initial, days


def _schedule_text(subscription: ReportSubscription) -> str:
    at = f"{subscription.hour:02d}:00"
    if subscription.frequency == ReportSubscription.Frequency.DAILY:
        return _("every day at %(at)s") % {"at": at}
    weekday = dict(WEEKDAYS).get(subscription.weekday, "")
    return _("every %(weekday)s at %(at)s") % {"weekday": str(weekday).lower(), "at": at}


def _row(subscription: ReportSubscription) -> dict[str, Any]:
    spec = FIGURES.get(subscription.figure)
    days = query_days(subscription.query)
    try:
        dims = filter_text(ReportFilter.from_query(QueryDict(subscription.query)))
    except FilterError:
        dims = []
    return {
        "subscription": subscription,
        "title": spec.title if spec else subscription.figure,
        "live": bool(spec and spec.live),
        "period": _("the day before") if days == 1 else _("the last %(n)d days") % {"n": days},
        "filters": dims,
        "by": BY_LABELS.get(subscription.by, subscription.by),
        "schedule": _schedule_text(subscription),
        "recipient": subscription.user.get_full_name() or subscription.user.username,
        "figure_url": _figure_url(subscription) if spec else "",
    }


def _figure_url(subscription: ReportSubscription) -> str:
    query = QueryDict(subscription.query, mutable=True)
    if subscription.by:
        query["by"] = subscription.by
    return f"{reverse('reports:figure', args=[subscription.figure])}?{query.urlencode()}"


@require_http_methods(["GET", "POST"])
@_leads_only
def subscriptions_page(request: HttpRequest) -> HttpResponse:
    """The subscriptions the user sees (administrators: everyone's) and the form to add one."""
    user: User = request.user  # type: ignore[assignment]
    others = user.has_perm(SUBSCRIBE_OTHERS)
    recipients = report_recipients() if others else None
    initial, days = _initial(request)
    status = 200
    if request.method == "POST":
        form = SubscriptionForm(request.POST, recipients=recipients, days=query_days(request.POST.get("query", "")))
        if form.is_valid():
            data = form.cleaned_data
            try:
                subscription = subscription_create(
                    data=SubscriptionIn(
                        figure=data["figure"],
                        query=form.filter_query(),
                        by=data["by"],
                        frequency=data["frequency"],
                        weekday=data["weekday"],
                        hour=data["hour"],
                        language=data["language"],
                    ),
                    user=data.get("recipient") or user,
                    actor=user,
                )
            except SubscriptionError as error:
                form.add_error(None, str(error))
            else:
                messages.success(
                    request,
                    _("Subscribed: %(figure)s, %(schedule)s.")
                    % {"figure": FIGURES[subscription.figure].title, "schedule": _schedule_text(subscription)},
                )
                return redirect("report_delivery:subscriptions")
        status = 400
    else:
        form = SubscriptionForm(initial=initial, recipients=recipients, days=days)
    try:
        chosen = filter_text(ReportFilter.from_query(QueryDict(form["query"].value() or "")))
    except FilterError:
        chosen = []
    context = {
        "form": form,
        "chosen_filters": chosen,
        "rows": [_row(s) for s in subscriptions_for(user)],
        "others": others,
    }
    return render(request, "report_delivery/subscriptions.html", context, status=status)


@require_POST
@_leads_only
def subscription_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        subscription = subscription_cancel(subscription_id=pk, actor=request.user)  # type: ignore[arg-type]
    except SubscriptionError as error:
        raise Http404(str(error)) from None
    spec = FIGURES.get(subscription.figure)
    messages.success(request, _("Cancelled: %(figure)s.") % {"figure": spec.title if spec else subscription.figure})
    return redirect("report_delivery:subscriptions")
