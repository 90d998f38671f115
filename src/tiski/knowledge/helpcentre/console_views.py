"""The help centre in the console: the figures for team leads, and the share panel's create and revoke."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tiski.accounts.roles import PUBLISH_ARTICLES, SUPERVISE
from tiski.console.views import agent_required
from tiski.knowledge.helpcentre import selectors, services
from tiski.knowledge.helpcentre.exceptions import ShareNotAllowedError
from tiski.knowledge.models import Article, ShareLink
from tiski.knowledge.templatetags.knowledge_share import share_panel_context

PERIODS = (7, 30, 90)


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


@require_GET
@agent_required
def stats(request: HttpRequest) -> HttpResponse:
    """Show deflection, feedback and failed searches over the last 7, 30 or 90 days (team leads)."""
    user = _user(request)
    if not (user.has_perm(PUBLISH_ARTICLES) or user.has_perm(SUPERVISE)):
        raise PermissionDenied(_("Only team leads and administrators can see the help-centre figures."))
    try:
        days = int(request.GET.get("days", "30"))
    except ValueError:
        days = 30
    days = days if days in PERIODS else 30
    until = timezone.now()
    since = until - dt.timedelta(days=days)
    figures = selectors.deflection_stats(since, until)
    most_helpful = selectors.articles_by_feedback(most_helpful=True, limit=8)
    context: dict[str, Any] = {
        "days": days,
        "periods": PERIODS,
        "figures": figures,
        "rate_percent": round(figures["rate"] * 100) if figures["rate"] is not None else None,
        "channels": [
            {"kind": kind, "label": _("Web form") if kind == "webform" else _("Chat"), **figures["by_channel"][kind]}
            for kind in selectors.DEFLECTION_CHANNELS
        ],
        "most_helpful": most_helpful,
        "least_helpful": [
            row
            for row in selectors.articles_by_feedback(most_helpful=False, limit=16)
            if row.unhelpful and row.translation_id not in {best.translation_id for best in most_helpful}
        ][:8],
        "failed_searches": selectors.searches_without_results(since, until),
        "opened": selectors.articles_opened_from_suggestions(since, until),
    }
    return render(request, "knowledge/help/console_stats.html", context)


def _panel(request: HttpRequest, article: Article, **extra: Any) -> HttpResponse:
    context = share_panel_context(user=_user(request), article=article, request=request) | extra
    return HttpResponse(render_to_string("knowledge/help/_share_panel.html", context, request=request))


@require_POST
@agent_required
def share_create_view(request: HttpRequest, article_id: int) -> HttpResponse:
    """Create a share link for the article and answer the panel again with the new link on top."""
    article = get_object_or_404(Article, pk=article_id)
    try:
        days = int(request.POST.get("days", services.SHARE_DEFAULT_DAYS))
    except ValueError:
        days = services.SHARE_DEFAULT_DAYS
    try:
        link = services.share_link_create(
            article=article, user=_user(request), note=request.POST.get("note", ""), days=days
        )
    except ShareNotAllowedError:
        raise PermissionDenied(_("Only team leads can share internal articles outside Tiski.")) from None
    return _panel(request, article, created=link)


@require_POST
@agent_required
def share_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke a share link and answer the panel again."""
    link = get_object_or_404(ShareLink.objects.select_related("article"), pk=pk)
    try:
        services.share_link_revoke(link=link, user=_user(request))
    except ShareNotAllowedError:
        raise PermissionDenied(_("Only team leads can revoke links to internal articles.")) from None
    return _panel(request, link.article)
