"""The case page's knowledge panel, loaded after the page so that the case opens at once."""

from __future__ import annotations

from typing import Any

from django import template

from tiski.accounts.roles import VIEW_ARTICLES
from tiski.cases.models import Case

register = template.Library()


@register.inclusion_tag("knowledge/_case_panel.html", takes_context=True)
def knowledge_panel(context: template.Context, case: Case) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    return {"case": case, "allowed": bool(user and user.has_perm(VIEW_ARTICLES))}
