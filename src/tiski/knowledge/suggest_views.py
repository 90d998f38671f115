"""The case page's knowledge panel: suggested articles, a search over the knowledge base, and recording a use."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tiski.accounts.roles import VIEW_ARTICLES
from tiski.cases.models import Case
from tiski.console.views import _case_or_404, _user, agent_required
from tiski.knowledge.models import Article, ArticleTranslation, ArticleUse
from tiski.knowledge.suggestions import LIMIT, suggestions_for_case

MAX_QUERY = 200


def _readable_case(request: HttpRequest, reference: str) -> Case:
    if not _user(request).has_perm(VIEW_ARTICLES):
        raise PermissionDenied(_("Your account cannot read the knowledge base."))
    return _case_or_404(request, reference)


@require_GET
@agent_required
def case_articles(request: HttpRequest, reference: str) -> HttpResponse:
    """The panel's list: the case's suggestions, or the articles matching what the agent typed."""
    case = _readable_case(request, reference)
    query = request.GET.get("q", "").strip()[:MAX_QUERY]
    suggestions = suggestions_for_case(case, query=query, limit=LIMIT if not query else 6)
    return render(
        request,
        "knowledge/_case_articles.html",
        {"case": case, "suggestions": suggestions, "query": query},
    )


@require_POST
@agent_required
def case_article_use(request: HttpRequest, reference: str) -> HttpResponse:
    """Record that the agent inserted an article (its text or its link) into a reply on the case."""
    case = _readable_case(request, reference)
    how = request.POST.get("how", "")
    if how not in ArticleUse.How.values:
        return HttpResponse(_("Say how the article was used: text or link."), status=400)
    try:
        translation = ArticleTranslation.objects.select_related("article").get(
            pk=int(request.POST.get("translation", "")), status=ArticleTranslation.Status.PUBLISHED
        )
    except (ValueError, ArticleTranslation.DoesNotExist):
        raise Http404(_("No such published article.")) from None
    if how == ArticleUse.How.LINK and translation.article.visibility != Article.Visibility.PUBLIC:
        return HttpResponse(_("Only public articles have a link a customer can open."), status=400)
    rank = request.POST.get("rank", "")
    from tiski.knowledge.services import article_use_record

    article_use_record(
        article=translation.article,
        translation=translation,
        case=case,
        user=_user(request),
        how=how,
        suggested_rank=int(rank) if rank.isdigit() and 0 < int(rank) < 100 else None,
    )
    return HttpResponse(status=204)
