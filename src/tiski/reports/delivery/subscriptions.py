"""Reports by email: a team lead subscribes to a figure with its filter and receives it every day or week.

A subscription keeps its filter relative (``days=7&team=3``): each mail covers the last DAYS complete days
before the sending day. The router loop's clock claims the subscriptions due by moving their next sending on
(one UPDATE conditional on the old value, so two processes never both send a period) and queues a task that
computes the table and mails it: HTML with the numbers formatted in the recipient's language, the CSV attached,
a link to the figure page. A failed send is tried again a few times with backoff.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from tiski.accounts.models import AgentProfile
from tiski.reports.delivery.models import ReportSubscription
from tiski.reports.exports import export_filename, table_csv
from tiski.reports.figures import BY_LABELS, FIGURES, figure_table
from tiski.reports.filters import DIMENSIONS, MAX_DAYS, FilterError, ReportFilter, report_zone
from tiski.reports.table import Table

logger = logging.getLogger(__name__)

VIEW_REPORTS = "reports.view_reports"
SUBSCRIBE_OTHERS = "report_delivery.subscribe_others"
BATCH = 50
MAX_ATTEMPTS = 4
RETRY_BASE = timedelta(minutes=5)
MAIL_ROWS = 100  # rows shown in the mail; the attachment has them all


class SubscriptionError(ValueError):
    """A subscription cannot be made or changed as asked; the message says why (in the active language)."""


class SubscriptionPermissionError(SubscriptionError):
    """The user may not make or change this subscription."""


# ── the schedule ─────────────────────────────────────────────────────────────────────────────────────────────────


def next_sending(*, frequency: str, weekday: int, hour: int, after: datetime, zone: ZoneInfo) -> datetime:
    """Return the first scheduled moment strictly after AFTER: HOUR:00 local time every day, or on ISO WEEKDAY."""
    local = after.astimezone(zone)
    moment = datetime.combine(local.date(), time(hour), tzinfo=zone)
    if frequency == ReportSubscription.Frequency.WEEKLY:
        moment += timedelta(days=(weekday - moment.isoweekday()) % 7)
        step = timedelta(days=7)
    else:
        step = timedelta(days=1)
    while moment <= local:
        moment += step  # wall-clock arithmetic: 07:00 stays 07:00 across a change of summer time
    return moment


# ── the filter a subscription keeps ──────────────────────────────────────────────────────────────────────────────


def relative_query(query: Mapping[str, Any]) -> str:
    """Return QUERY (a figure page's filter) relative: its length as ``days`` and its dimensions. Raise
    FilterError for a bad filter."""
    flt = ReportFilter.from_query(query)
    params = {"days": str(min(flt.days, MAX_DAYS)), **{k: str(v) for k, v in flt.dimensions().items()}}
    return urlencode(params)


def subscription_filter(subscription: ReportSubscription, *, sending_day: date) -> ReportFilter:
    """Return the filter a mail sent on SENDING_DAY covers: the subscription's last DAYS days before that day."""
    query = QueryDict(subscription.query)
    return ReportFilter.from_query(query, today=sending_day - timedelta(days=1))


def query_days(query: str) -> int:
    raw = QueryDict(query).get("days") or ""
    return int(raw) if raw.isdigit() else 28


# ── who may subscribe whom ───────────────────────────────────────────────────────────────────────────────────────


def report_recipients() -> QuerySet[User]:
    """Return the active users who may receive reports (those with ``reports.view_reports``)."""
    perm = Q(codename="view_reports", content_type__app_label="reports")
    users = User.objects.filter(is_active=True)
    direct = users.filter(user_permissions__in=_permissions(perm))
    grouped = users.filter(groups__permissions__in=_permissions(perm))
    return (direct | grouped | users.filter(is_superuser=True)).distinct().order_by("first_name", "username")


def _permissions(q: Q) -> Any:
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(q)


def subscriptions_for(user: User) -> QuerySet[ReportSubscription]:
    """Return the active subscriptions USER sees: their own, or everyone's for one who may subscribe others."""
    rows = ReportSubscription.objects.filter(active=True).select_related("user").order_by("user__username", "pk")
    return rows if user.has_perm(SUBSCRIBE_OTHERS) else rows.filter(user=user)


def user_language(user: User) -> str:
    profile = AgentProfile.objects.filter(user=user).first()
    return (profile.language if profile else "") or settings.LANGUAGE_CODE


# ── writes ────────────────────────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class SubscriptionIn:
    figure: str
    query: Mapping[str, Any]
    by: str
    frequency: str
    weekday: int
    hour: int
    language: str


def subscription_create(
    *, data: SubscriptionIn, user: User, actor: User, now: datetime | None = None
) -> ReportSubscription:
    """Subscribe USER to a figure as DATA says, on behalf of ACTOR (USER themselves, or one who may subscribe
    others); return the subscription. Raise SubscriptionPermissionError or SubscriptionError."""
    now = now or timezone.now()
    if user.pk != actor.pk and not actor.has_perm(SUBSCRIBE_OTHERS):
        raise SubscriptionPermissionError(_("Only administrators can subscribe someone else to a report."))
    if not actor.has_perm(VIEW_REPORTS) or not user.has_perm(VIEW_REPORTS) or not user.is_active:
        raise SubscriptionPermissionError(_("Reports can be sent only to team leads and administrators."))
    spec = FIGURES.get(data.figure)
    if spec is None:
        raise SubscriptionError(_("There is no figure %(name)s.") % {"name": data.figure})
    by = data.by or spec.default_by
    if by not in spec.groupings:
        raise SubscriptionError(_("%(figure)s cannot be grouped that way.") % {"figure": spec.title})
    try:
        query = relative_query(data.query)
    except FilterError as error:
        raise SubscriptionError(str(error)) from None
    if data.frequency not in ReportSubscription.Frequency.values:
        raise SubscriptionError(_("Choose daily or weekly."))
    if not 0 <= data.hour <= 23 or not 1 <= data.weekday <= 7:
        raise SubscriptionError(_("Choose an hour from 0 to 23 and a weekday."))
    language = data.language if data.language in dict(settings.LANGUAGES) else user_language(user)
    return ReportSubscription.objects.create(
        user=user,
        figure=spec.name,
        query=query,
        by=by,
        frequency=data.frequency,
        weekday=data.weekday,
        hour=data.hour,
        language=language,
        next_due_at=next_sending(
            frequency=data.frequency, weekday=data.weekday, hour=data.hour, after=now, zone=report_zone()
        ),
        created_by=actor,
    )


def subscription_cancel(*, subscription_id: int, actor: User) -> ReportSubscription:
    """Stop the subscription (kept, inactive); raise SubscriptionPermissionError unless ACTOR may see it."""
    subscription = subscriptions_for(actor).filter(pk=subscription_id).first()
    if subscription is None:
        raise SubscriptionPermissionError(_("There is no such subscription of yours."))
    subscription.active = False
    subscription.save(update_fields=["active"])
    return subscription


# ── sending ──────────────────────────────────────────────────────────────────────────────────────────────────────


def subscriptions_due_run(*, now: datetime | None = None) -> list[int]:
    """Claim the subscriptions due by NOW and queue their mails (a router-loop clock); return the ids claimed.

    A claim moves the next sending to the first scheduled moment after NOW, conditional on the value read: a
    period is mailed once however many processes look, and a period missed while Tiski was down is mailed once."""
    from tiski.reports.delivery.tasks import report_subscription_send

    now = now or timezone.now()
    due = list(
        ReportSubscription.objects.filter(active=True, next_due_at__lte=now)
        .order_by("next_due_at", "pk")
        .values_list("pk", "next_due_at", "frequency", "weekday", "hour")[:BATCH]
    )
    if not due:
        return []
    zone = report_zone()
    claimed = []
    for pk, due_at, frequency, weekday, hour in due:
        following = next_sending(frequency=frequency, weekday=weekday, hour=hour, after=now, zone=zone)
        if ReportSubscription.objects.filter(pk=pk, next_due_at=due_at, active=True).update(next_due_at=following):
            claimed.append((pk, due_at))
    for pk, due_at in claimed:
        transaction.on_commit(
            lambda pk=pk, due_at=due_at: report_subscription_send.enqueue(  # type: ignore[misc]
                subscription_id=pk, period=due_at.isoformat()
            )
        )
    return [pk for pk, _due in claimed]


@dataclass(frozen=True)
class ReportMail:
    subject: str
    text: str
    html: str
    attachment_name: str
    attachment: bytes


def _period_text(flt: ReportFilter, live: bool, now: datetime) -> str:
    if live:
        moment = formats.date_format(timezone.localtime(now, flt.zone), "SHORT_DATETIME_FORMAT")
        return _("now (%(moment)s)") % {"moment": moment}
    start = formats.date_format(flt.start, "SHORT_DATE_FORMAT")
    end = formats.date_format(flt.end, "SHORT_DATE_FORMAT")
    return start if flt.start == flt.end else f"{start}–{end}"


def filter_text(flt: ReportFilter) -> list[tuple[str, str]]:
    """Return FLT's dimensions as (name, value) pairs for people: ("Team", "Support")."""
    from tiski.reports.figures import _labels  # the names the figures give their groups

    pairs = []
    for name, value in flt.dimensions().items():
        label = str(BY_LABELS.get(name, name))
        shown = _labels(name, [value]).get(value, str(value)) if name in DIMENSIONS else str(value)
        pairs.append((label, shown))
    return pairs


def mail_rows(table: Table) -> tuple[list[str], list[dict[str, Any]], list[str]]:
    """Return the heads of the columns to show (a grouping's name once), the rows and the totals (empty when the
    table has none) as cells formatted in the active language."""
    from tiski.reports.templatetags.reports_console import row_label, unit_value, weekday_name

    keys = {c.key for c in table.columns}
    head: list[str] = []
    if "label" in keys or "key" in keys:
        head.append(str(BY_LABELS.get(table.by, _("Group"))))
    elif {"weekday", "hour"} <= keys:
        head.append(_("Weekday and hour"))
    values = [c for c in table.columns if c.key not in ("key", "label", "weekday", "hour")]
    head += [str(c.label) for c in values]
    rows = []
    for row in table.rows[:MAIL_ROWS]:
        if "label" in keys or "key" in keys:
            name = row_label(row)
        elif {"weekday", "hour"} <= keys:
            name = f"{weekday_name(row.get('weekday'), 'short')} {int(row.get('hour') or 0):02d}:00"
        else:
            name = ""
        cells = [unit_value(row.get(c.key), c.unit) for c in values]
        rows.append({"name": name, "cells": cells})
    totals = [unit_value(table.totals.get(c.key), c.unit) if c.key in table.totals else "" for c in values]
    return head, rows, totals if any(totals) else []


def subscription_mail(subscription: ReportSubscription, *, now: datetime) -> ReportMail:
    """Return the mail of SUBSCRIPTION for the period ending the day before NOW's local date, in its language."""
    spec = FIGURES[subscription.figure]
    zone = report_zone()
    flt = subscription_filter(subscription, sending_day=now.astimezone(zone).date())
    with translation.override(subscription.language or settings.LANGUAGE_CODE):
        table = figure_table(spec.name, flt, subscription.by or None)
        head, rows, totals = mail_rows(table)
        link_query = {**flt.to_query(), "by": table.by}
        base = settings.TISKI_BASE_URL
        context = {
            "title": str(table.title),
            "definition": str(table.definition),
            "period": _period_text(flt, spec.live, now),
            "filters": filter_text(flt),
            "head": head,
            "rows": rows,
            "totals": totals,
            "more": max(len(table.rows) - MAIL_ROWS, 0),
            "count": len(table.rows),
            "figure_url": f"{base}{reverse('reports:figure', args=[spec.name])}?{urlencode(link_query)}",
            "manage_url": f"{base}{reverse('report_delivery:subscriptions')}",
            "frequency": subscription.get_frequency_display(),
        }
        subject = _("Report: %(title)s, %(period)s") % {"title": context["title"], "period": context["period"]}
        text = render_to_string("report_delivery/email.txt", context)
        html = render_to_string("report_delivery/email.html", context)
    start, end = flt.start, flt.end
    if spec.live:
        start = end = now.astimezone(zone).date()
    by = "" if table.by == spec.default_by else table.by
    name = export_filename(spec.name, start=start, end=end, by=by, fmt="csv")
    return ReportMail(subject=subject, text=text, html=html, attachment_name=name, attachment=table_csv(table))


def subscription_send(*, subscription_id: int, now: datetime | None = None) -> str:
    """Mail one claimed subscription now; return what happened. Raise when the mail could not be sent (the task
    tries again)."""
    now = now or timezone.now()
    subscription = ReportSubscription.objects.select_related("user").filter(pk=subscription_id).first()
    if subscription is None or not subscription.active:
        return "skipped: the subscription was cancelled"
    user = subscription.user
    reason = ""
    if not user.is_active or not user.has_perm(VIEW_REPORTS):
        reason = "the recipient may no longer receive reports"
    elif not user.email:
        reason = "the recipient has no email address"
    elif subscription.figure not in FIGURES:
        reason = f"there is no figure {subscription.figure!r} any more"
    if reason:
        ReportSubscription.objects.filter(pk=subscription.pk).update(last_error=f"Not sent: {reason}.")
        return f"skipped: {reason}"
    mail = subscription_mail(subscription, now=now)
    message = EmailMultiAlternatives(mail.subject, mail.text, settings.DEFAULT_FROM_EMAIL, [user.email])
    message.attach_alternative(mail.html, "text/html")
    message.attach(mail.attachment_name, mail.attachment, "text/csv")
    try:
        message.send()
    except Exception as error:
        ReportSubscription.objects.filter(pk=subscription.pk).update(last_error=f"{type(error).__name__}: {error}")
        raise
    ReportSubscription.objects.filter(pk=subscription.pk).update(last_sent_at=now, last_error="")
    return f"sent to {user.email}"


def retry_at(attempt: int, now: datetime) -> datetime:
    return now + RETRY_BASE * 2 ** max(attempt - 1, 0)
