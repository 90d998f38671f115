"""Console pages of the knowledge base: the article list with search, and an article with its language versions.

Views parse the form, call one service or selector and redirect or render; the services check permissions.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tiski.accounts.roles import VIEW_ARTICLES
from tiski.cases.models import Case, Category
from tiski.console.views import agent_required
from tiski.knowledge import selectors, services
from tiski.knowledge.exceptions import ArticleNotFoundError, KnowledgeError
from tiski.knowledge.models import Article, ArticleCategory, ArticleTranslation

Status = ArticleTranslation.Status
PAGE_SIZE = 50

# Languages offered for a new language version: the console's own and Swedish (the search stems all three).
EXTRA_LANGUAGES = [("sv", gettext_lazy("Swedish"))]


def language_choices() -> list[tuple[str, str]]:
    seen = dict(settings.LANGUAGES)
    for code, name in EXTRA_LANGUAGES:
        seen.setdefault(code, name)
    return [(code, str(name)) for code, name in seen.items()]


def articles_reader_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Let in agents who may read knowledge articles; others get 403."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.has_perm(VIEW_ARTICLES):
            raise PermissionDenied(_("You cannot read knowledge articles. Ask an administrator for the agent role."))
        return view(request, *args, **kwargs)

    return agent_required(wrapper)


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _article(request: HttpRequest, pk: int) -> Article:
    try:
        return selectors.article_get_for_agent(user=_user(request), article_id=pk)
    except ArticleNotFoundError:
        raise Http404(_("No such article.")) from None


def _article_url(article_id: int, language: str | None = None, **params: Any) -> str:
    url = reverse("knowledge:article", args=[article_id])
    query = QueryDict(mutable=True)
    if language:
        query["lang"] = language
    for key, value in params.items():
        query[key] = str(value)
    return f"{url}?{query.urlencode()}" if query else url


@require_GET
@articles_reader_required
def article_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "")[:300]
    status = request.GET.get("status") or None
    language = request.GET.get("language") or None
    category_id = _int_or_none(request.GET.get("category"))
    visibility = request.GET.get("visibility") or None
    filters = {"status": status, "language": language, "category_id": category_id, "visibility": visibility}
    page = max(_int_or_none(request.GET.get("page")) or 1, 1)
    rows = selectors.articles_list_for_agent(
        user=_user(request),
        query=q,
        status=status,
        language=language,
        category_id=category_id,
        visibility=visibility,
        prefer_language=(get_language() or "en")[:2],
        limit=PAGE_SIZE + 1,
        offset=(page - 1) * PAGE_SIZE,
    )
    context = {
        "rows": rows[:PAGE_SIZE],
        "has_next": len(rows) > PAGE_SIZE,
        "page": page,
        "q": q,
        "filters": filters,
        "filtered": bool(q or any(v is not None for v in filters.values())),
        "statuses": Status.choices,
        "visibilities": Article.Visibility.choices,
        "languages": language_choices(),
        "categories": ArticleCategory.objects.all(),
        "can_write": services.can_write(request.user),
    }
    return render(request, "knowledge/console/list.html", context)


def _editor_fields(data: QueryDict) -> dict[str, Any]:
    return {
        "title": data.get("title", ""),
        "body_html": data.get("body_html", ""),
        "note": data.get("note", "")[:300],
    }


def _article_fields(data: QueryDict) -> dict[str, Any]:
    category_id = _int_or_none(data.get("category"))
    return {
        "category": ArticleCategory.objects.filter(pk=category_id).first() if category_id else None,
        "visibility": data.get("visibility") or Article.Visibility.INTERNAL,
        "tags": [t for t in data.get("tags", "").replace(",", " ").split() if t],
        "case_categories": list(
            Category.objects.filter(pk__in=[_int_or_none(v) for v in data.getlist("case_categories")])
        ),
        "case_types": [v for v in data.getlist("case_types") if v in Case.Type.values],
    }


def _form_context(request: HttpRequest) -> dict[str, Any]:
    return {
        "languages": language_choices(),
        "categories": ArticleCategory.objects.all(),
        "case_categories": Category.objects.all(),
        "case_types": Case.Type.choices,
        "visibilities": Article.Visibility.choices,
        "can_publish": services.can_publish(request.user),
    }


@require_http_methods(["GET", "POST"])
@articles_reader_required
def article_new(request: HttpRequest) -> HttpResponseBase:
    if not services.can_write(request.user):
        raise PermissionDenied(_("You cannot write knowledge articles."))
    data = request.POST if request.method == "POST" else QueryDict(mutable=True)
    error = ""
    if request.method == "POST":
        try:
            translation = services.article_create(
                actor=_user(request),
                language=data.get("language", ""),
                **_editor_fields(data),
                **_article_fields(data),
            )
        except KnowledgeError as exc:
            error = str(exc)
        else:
            messages.success(request, _("Article saved as a draft."))
            return redirect(_article_url(translation.article_id, translation.language))
    context = {
        **_form_context(request),
        "error": error,
        "data": data,
        "language": data.get("language") or (get_language() or "en")[:2],
        "selected_case_categories": {_int_or_none(v) for v in data.getlist("case_categories")},
        "selected_case_types": set(data.getlist("case_types")),
    }
    return render(request, "knowledge/console/new.html", context, status=400 if error else 200)


@require_GET
@articles_reader_required
def article_detail(request: HttpRequest, pk: int) -> HttpResponse:
    article = _article(request, pk)
    user = _user(request)
    translations = sorted(article.translations.all(), key=lambda t: t.language)
    wanted = request.GET.get("lang") or (get_language() or "en")[:2]
    adding = wanted == "new" or not translations
    current = None if adding else (selectors.translation_get(article=article, language=wanted) or translations[0])
    context: dict[str, Any] = {
        **_form_context(request),
        "article": article,
        "translations": translations,
        "current": current,
        "adding": adding,
        "can_write": services.can_write(user),
        "missing_languages": [
            (code, name) for code, name in language_choices() if code not in {t.language for t in translations}
        ],
        "selected_case_categories": {c.pk for c in article.case_categories.all()},
        "selected_case_types": set(article.case_types or []),
        "tags_text": " ".join(t.name for t in article.tags.all()),
    }
    if current is not None:
        versions = list(selectors.translation_versions(translation=current))
        context |= {
            "versions": versions,
            "can_edit": services.can_edit(translation=current, user=user),
            "transitions": services.transitions_allowed(translation=current, user=user),
        }
        new_number = _int_or_none(request.GET.get("to")) or current.version
        old_number = _int_or_none(request.GET.get("compare"))
        if old_number is not None:
            try:
                context["diff"] = selectors.version_diff(
                    translation=current, old_number=old_number, new_number=new_number
                )
            except ArticleNotFoundError:
                messages.error(request, _("There is no such version to compare."))
    return render(request, "knowledge/console/article.html", context)


def _post_outcome(request: HttpRequest, action: Callable[[], Any], success: str) -> None:
    try:
        action()
    except KnowledgeError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, success)


@require_POST
@articles_reader_required
def article_settings(request: HttpRequest, pk: int) -> HttpResponseBase:
    article = _article(request, pk)
    fields = _article_fields(request.POST)
    _post_outcome(
        request,
        lambda: services.article_update(article=article, actor=_user(request), **fields),
        _("Article settings saved."),
    )
    return redirect(_article_url(article.pk, request.POST.get("lang")))


@require_POST
@articles_reader_required
def translation_save_view(request: HttpRequest, pk: int, language: str) -> HttpResponseBase:
    article = _article(request, pk)
    expected = _int_or_none(request.POST.get("version"))

    def save() -> None:
        services.translation_save(
            article=article,
            language=language,
            actor=_user(request),
            expected_version=expected,
            **_editor_fields(request.POST),
        )

    _post_outcome(request, save, _("Saved."))
    return redirect(_article_url(article.pk, language))


@require_POST
@articles_reader_required
def translation_add(request: HttpRequest, pk: int) -> HttpResponseBase:
    article = _article(request, pk)
    language = request.POST.get("language", "")
    if selectors.translation_get(article=article, language=language) is not None:
        messages.error(request, _("The article already has this language version."))
        return redirect(_article_url(article.pk, language))
    try:
        services.translation_save(
            article=article, language=language, actor=_user(request), **_editor_fields(request.POST)
        )
    except KnowledgeError as exc:
        messages.error(request, str(exc))
        return redirect(_article_url(article.pk, "new"))
    messages.success(request, _("Language version added as a draft."))
    return redirect(_article_url(article.pk, language))


@require_POST
@articles_reader_required
def translation_status(request: HttpRequest, pk: int, language: str) -> HttpResponseBase:
    article = _article(request, pk)
    translation = selectors.translation_get(article=article, language=language)
    if translation is None:
        raise Http404(_("No such language version."))
    status = request.POST.get("status", "")
    labels: dict[str, str] = {
        Status.IN_REVIEW: _("Sent for review."),
        Status.PUBLISHED: _("Published."),
        Status.ARCHIVED: _("Archived."),
        Status.DRAFT: _("Moved back to draft."),
    }
    _post_outcome(
        request,
        lambda: services.translation_transition(translation=translation, status=status, actor=_user(request)),
        labels.get(status, _("Saved.")),
    )
    return redirect(_article_url(article.pk, language))


@require_POST
@articles_reader_required
def translation_restore_view(request: HttpRequest, pk: int, language: str, number: int) -> HttpResponseBase:
    article = _article(request, pk)
    translation = selectors.translation_get(article=article, language=language)
    if translation is None:
        raise Http404(_("No such language version."))
    _post_outcome(
        request,
        lambda: services.translation_restore(translation=translation, number=number, actor=_user(request)),
        _("Version %(number)s restored as the newest version.") % {"number": number},
    )
    return redirect(_article_url(article.pk, language))
