"""``{% load knowledge_share %}{% share_panel article %}``: the console panel that shares an article outside Tiski.

It lists the article's share links (address, who it was shared with, expiry, views) and, for users allowed to
share it (see helpcentre.services.share_allowed), creates and revokes links through small htmx requests.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest
from django.utils import timezone

from tiski.knowledge.helpcentre.links import absolute, share_link_path
from tiski.knowledge.helpcentre.selectors import share_links_for
from tiski.knowledge.helpcentre.services import SHARE_DEFAULT_DAYS, share_allowed
from tiski.knowledge.models import Article

register = template.Library()

EXPIRY_CHOICES = (1, 7, 30, 90, 365)


def share_panel_context(*, user: User | AnonymousUser, article: Article, request: HttpRequest | None) -> dict[str, Any]:
    """Return what the share panel of ARTICLE shows to USER."""
    now = timezone.now()
    rows = []
    for link in share_links_for(article=article):
        path = share_link_path(link.token)
        state = "revoked" if link.revoked_at else "expired" if link.expires_at <= now else "active"
        rows.append(
            {
                "link": link,
                "url": request.build_absolute_uri(path) if request is not None else absolute(path),
                "state": state,
            }
        )
    return {
        "article": article,
        "rows": rows,
        "active_count": sum(1 for row in rows if row["state"] == "active"),
        "can_share": share_allowed(user=user, article=article),
        "expiry_choices": EXPIRY_CHOICES,
        "default_days": SHARE_DEFAULT_DAYS,
    }


@register.inclusion_tag("knowledge/help/_share_panel.html", takes_context=True)
def share_panel(context: template.Context, article: Article) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None) or AnonymousUser()
    return {**share_panel_context(user=user, article=article, request=request), "request": request}
