"""Reads of the knowledge base for the console and the API, scoped to what the user may read."""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Collection
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db.models import Prefetch, QuerySet
from django.utils.safestring import SafeString, mark_safe

from tiski.accounts.roles import VIEW_ARTICLES
from tiski.knowledge.exceptions import ArticleNotFoundError, ArticlePermissionError
from tiski.knowledge.models import Article, ArticleTranslation, ArticleVersion
from tiski.knowledge.search import SearchHit, articles_search
from tiski.knowledge.services import body_text_of, user_may

Status = ArticleTranslation.Status
Actor = User | AbstractBaseUser | AnonymousUser | None
ALL_VISIBILITIES = tuple(Article.Visibility.values)
ALL_STATUSES = tuple(Status.values)


@dataclass
class ArticleRow:
    """One article in the console's list: its language versions and, when searched, the best match."""

    article: Article
    translations: list[ArticleTranslation]
    hit: SearchHit | None = None
    title: str = ""
    languages: list[str] = field(default_factory=list)


def _require_view(user: Actor) -> None:
    if not user_may(user, VIEW_ARTICLES):
        raise ArticlePermissionError("You cannot read knowledge articles.")


def _with_translations(queryset: QuerySet[Article]) -> QuerySet[Article]:
    return queryset.select_related("category").prefetch_related(
        Prefetch("translations", queryset=ArticleTranslation.objects.select_related("author", "reviewer"))
    )


def articles_list_for_agent(
    *,
    user: Actor,
    query: str = "",
    status: str | None = None,
    language: str | None = None,
    category_id: int | None = None,
    visibility: str | None = None,
    prefer_language: str = "en",
    limit: int = 50,
    offset: int = 0,
) -> list[ArticleRow]:
    """Return articles for the console's list, newest change first, or best match first when QUERY is given.

    STATUS and LANGUAGE filter language versions (an article is listed when one of its versions matches);
    CATEGORY_ID and VISIBILITY filter articles. Agents read every visibility and status.
    """
    _require_view(user)
    statuses: Collection[str] = (status,) if status in ALL_STATUSES else ALL_STATUSES
    visibilities: Collection[str] = (visibility,) if visibility in ALL_VISIBILITIES else ALL_VISIBILITIES
    if query.strip():
        hits = articles_search(
            query,
            language=language or None,
            visibilities=visibilities,
            statuses=statuses,
            category_id=category_id,
            limit=limit * 2,
            offset=offset,
        )
        best: dict[int, SearchHit] = {}
        for hit in hits:
            best.setdefault(hit.article_id, hit)
        articles = _with_translations(Article.objects.filter(pk__in=list(best)))
        by_id = {a.pk: a for a in articles}
        rows = [_row(by_id[pk], prefer_language, hit=hit) for pk, hit in best.items() if pk in by_id]
        return rows[:limit]
    queryset = Article.objects.all()
    if visibility in ALL_VISIBILITIES:
        queryset = queryset.filter(visibility=visibility)
    if category_id is not None:
        queryset = queryset.filter(category_id=category_id)
    version_filter = {}
    if status in ALL_STATUSES:
        version_filter["translations__status"] = status
    if language:
        version_filter["translations__language"] = language
    if version_filter:
        queryset = queryset.filter(**version_filter).distinct()
    page = _with_translations(queryset.order_by("-updated_at", "-pk"))[offset : offset + limit]
    return [_row(article, prefer_language) for article in page]


def _row(article: Article, prefer_language: str, *, hit: SearchHit | None = None) -> ArticleRow:
    translations = sorted(article.translations.all(), key=lambda t: (t.language != prefer_language, t.language))
    title = hit.title if hit else (translations[0].title if translations else "")
    return ArticleRow(
        article=article,
        translations=translations,
        hit=hit,
        title=title,
        languages=[t.language for t in translations],
    )


def article_get_for_agent(*, user: Actor, article_id: int) -> Article:
    """Return the article with its language versions (and their authors and reviewers)."""
    _require_view(user)
    article = (
        _with_translations(Article.objects.filter(pk=article_id)).prefetch_related("tags", "case_categories").first()
    )
    if article is None:
        raise ArticleNotFoundError(f"There is no article {article_id}.")
    return article


def translation_get(*, article: Article, language: str) -> ArticleTranslation | None:
    """Return ARTICLE's version in LANGUAGE (from the prefetched versions), or None."""
    return next((t for t in article.translations.all() if t.language == language), None)


def translation_versions(*, translation: ArticleTranslation) -> QuerySet[ArticleVersion]:
    """Return the saved versions of a language version, newest first, with their editors."""
    return translation.versions.select_related("editor").order_by("-number")


@dataclass(frozen=True)
class VersionDiff:
    old: ArticleVersion
    new: ArticleVersion
    title_html: SafeString
    body_html: SafeString
    changed: bool


_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


def diff_html(old: str, new: str) -> SafeString:
    """Return the word-level difference of two plain texts as safe HTML: removed words in <del>, added in <ins>."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(html.escape("".join(a[i1:i2])))
            continue
        if op in ("delete", "replace"):
            out.append(f"<del>{html.escape(''.join(a[i1:i2]))}</del>")
        if op in ("insert", "replace"):
            out.append(f"<ins>{html.escape(''.join(b[j1:j2]))}</ins>")
    return mark_safe("".join(out))  # noqa: S308 — every piece of text is escaped above


def version_diff(*, translation: ArticleTranslation, old_number: int, new_number: int) -> VersionDiff:
    """Return the difference between two saved versions of a language version (title and text)."""
    versions = {v.number: v for v in translation.versions.filter(number__in=[old_number, new_number])}
    if old_number not in versions or new_number not in versions:
        raise ArticleNotFoundError("There is no such version of this language version.")
    old, new = versions[old_number], versions[new_number]
    old_text, new_text = body_text_of(old.body_html), body_text_of(new.body_html)
    return VersionDiff(
        old=old,
        new=new,
        title_html=diff_html(old.title, new.title),
        body_html=diff_html(old_text, new_text),
        changed=(old.title, old_text) != (new.title, new_text),
    )
