"""Reads of the help centre: what a reader may see, in which language, and the deflection figures.

A reader sees a language version only when it is published and its article's visibility is one of the
portal's: ``public`` in the help centre, ``public`` and ``partners`` in the partner portal. Everything else
does not exist for them (the views answer 404), so no selector here returns it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db.models import Count, F, Q, QuerySet

from tiski.knowledge.models import Article, ArticleCategory, ArticleTranslation, Deflection, ShareLink

PUBLISHED = ArticleTranslation.Status.PUBLISHED
PUBLIC: tuple[str, ...] = (Article.Visibility.PUBLIC,)
PARTNERS: tuple[str, ...] = (Article.Visibility.PUBLIC, Article.Visibility.PARTNERS)
HELP_LANGUAGES: tuple[str, ...] = ("fi", "en")

# Deflection rows: suggestions shown on the web form or in the chat widget; help-centre searches that found
# nothing are kept as rows of their own kind (outcome "shown", no article), one per visitor and query a day.
DEFLECTION_CHANNELS: tuple[str, ...] = ("webform", "chat")
SEARCH_KIND = "search"

_WORD = re.compile(r"\w{3,}", re.UNICODE)
VOCABULARY_CACHE_S = 300


def other_language(language: str) -> str:
    """Return the help centre's other language ("en" for "fi")."""
    return "en" if language == "fi" else "fi"


def translations_visible(*, visibilities: Sequence[str]) -> QuerySet[ArticleTranslation]:
    """Return the published language versions of articles with one of VISIBILITIES."""
    return ArticleTranslation.objects.filter(
        status=PUBLISHED, article__visibility__in=list(visibilities)
    ).select_related("article")


def category_label(category: ArticleCategory, language: str) -> tuple[str, str]:
    """Return CATEGORY's name and description in LANGUAGE (the default ones when no Finnish is written)."""
    if language == "fi":
        return category.name_fi or category.name, category.description_fi or category.description
    return category.name, category.description


@dataclass(frozen=True)
class ArticleCard:
    """One article in a list: the language version shown and whether it is another language than asked."""

    translation: ArticleTranslation
    fallback: bool

    @property
    def title(self) -> str:
        return self.translation.title

    @property
    def excerpt(self) -> str:
        return excerpt(self.translation.body_text)


def excerpt(text: str, *, limit: int = 160) -> str:
    """Return the first LIMIT characters of TEXT, cut at a word, with an ellipsis when cut."""
    words = " ".join(text.split())
    if len(words) <= limit:
        return words
    return words[:limit].rsplit(" ", 1)[0].rstrip(" ,.;:") + "…"


def cards_pick(translations: Iterable[ArticleTranslation], *, language: str) -> list[ArticleCard]:
    """Return one card per article of TRANSLATIONS, in their order, preferring the version in LANGUAGE."""
    chosen: dict[int, ArticleTranslation] = {}
    for item in translations:
        current = chosen.get(item.article_id)
        if current is None or (current.language != language and item.language == language):
            chosen[item.article_id] = item
    return [ArticleCard(translation=t, fallback=t.language != language) for t in chosen.values()]


@dataclass(frozen=True)
class CategoryCard:
    category: ArticleCategory
    name: str
    description: str
    article_count: int
    top: list[ArticleCard] = field(default_factory=list)


def categories_for_reader(*, language: str, visibilities: Sequence[str], top: int = 3) -> list[CategoryCard]:
    """Return the categories with something to read, each with its article count and TOP most read articles."""
    rows = list(
        translations_visible(visibilities=visibilities)
        .filter(article__category__isnull=False)
        .defer("body_html", "body_text")
        .select_related("article")
        .order_by("-view_count", "title")
    )
    by_category: dict[int, list[ArticleTranslation]] = {}
    for row in rows:
        category_id = row.article.category_id
        assert category_id is not None
        by_category.setdefault(category_id, []).append(row)
    cards = []
    for category in ArticleCategory.objects.filter(pk__in=by_category):
        picked = cards_pick(by_category[category.pk], language=language)
        name, description = category_label(category, language)
        cards.append(
            CategoryCard(
                category=category, name=name, description=description, article_count=len(picked), top=picked[:top]
            )
        )
    return cards


def articles_popular(*, language: str, visibilities: Sequence[str], limit: int = 6) -> list[ArticleCard]:
    """Return the LIMIT most read articles (the version in LANGUAGE when there is one)."""
    rows = translations_visible(visibilities=visibilities).order_by("-view_count", "-helpful_count", "title")
    return cards_pick(rows[: limit * 4], language=language)[:limit]


def category_get(*, slug: str, language: str, visibilities: Sequence[str]) -> tuple[ArticleCategory, list[ArticleCard]]:
    """Return the category SLUG and its articles sorted by title; raise ArticleCategory.DoesNotExist when
    it is unknown or holds nothing the reader may see."""
    category = ArticleCategory.objects.get(slug=slug)
    rows = translations_visible(visibilities=visibilities).filter(article__category=category)
    cards = sorted(cards_pick(rows, language=language), key=lambda card: card.title.casefold())
    if not cards:
        raise ArticleCategory.DoesNotExist(slug)
    return category, cards


@dataclass(frozen=True)
class ArticlePage:
    """The language version a reader gets for a URL, its other published versions, and whether it is a fallback."""

    translation: ArticleTranslation
    requested: str
    versions: dict[str, ArticleTranslation]
    redirect: bool = False  # the URL names another language's version while the asked one exists: go there

    @property
    def fallback(self) -> bool:
        return self.translation.language != self.requested


def article_for_reader(*, language: str, slug: str, visibilities: Sequence[str]) -> ArticlePage | None:
    """Return what /<language>/articles/<slug>/ shows, or None when the reader may not see it.

    The slug of another language's version shows that version with a notice when the article has none in
    LANGUAGE, and redirects to the version in LANGUAGE when it has one.
    """
    visible = translations_visible(visibilities=visibilities).select_related("article", "article__category")
    translation = visible.filter(language=language, slug=slug).first()
    if translation is None:
        translation = visible.filter(slug=slug).order_by("language").first()
        if translation is None:
            return None
    versions = {t.language: t for t in visible.filter(article_id=translation.article_id)}
    if translation.language != language and language in versions:
        return ArticlePage(translation=versions[language], requested=language, versions=versions, redirect=True)
    return ArticlePage(translation=translation, requested=language, versions=versions)


def articles_related(
    *, translation: ArticleTranslation, visibilities: Sequence[str], limit: int = 5
) -> list[ArticleCard]:
    """Return up to LIMIT other readable articles of TRANSLATION's category, the most read first."""
    category_id = translation.article.category_id
    if category_id is None:
        return []
    rows = (
        translations_visible(visibilities=visibilities)
        .filter(article__category_id=category_id)
        .exclude(article_id=translation.article_id)
        .order_by("-view_count", "title")
    )
    return cards_pick(rows[: limit * 3], language=translation.language)[:limit]


def categories_by_id(ids: Iterable[int | None], *, language: str) -> dict[int, str]:
    """Return the names in LANGUAGE of the categories IDS."""
    wanted = {pk for pk in ids if pk is not None}
    return {c.pk: category_label(c, language)[0] for c in ArticleCategory.objects.filter(pk__in=wanted)}


def did_you_mean(*, query: str, language: str, visibilities: Sequence[str]) -> str | None:
    """Return QUERY with its unknown words replaced by the closest words of readable titles, or None."""
    vocabulary = _vocabulary(language=language, visibilities=visibilities)
    if not vocabulary:
        return None
    changed = False
    words = []
    for word in query.split():
        lowered = word.casefold()
        if len(lowered) < 3 or lowered in vocabulary:
            words.append(word)
            continue
        close = difflib.get_close_matches(lowered, vocabulary, n=1, cutoff=0.75)
        if close:
            words.append(close[0])
            changed = True
        else:
            words.append(word)
    return " ".join(words) if changed else None


def _vocabulary(*, language: str, visibilities: Sequence[str]) -> list[str]:
    key = f"tiski:help:vocabulary:{language}:{','.join(sorted(visibilities))}"
    cached = cache.get(key)
    if cached is not None:
        return list(cached)
    words: set[str] = set()
    rows = translations_visible(visibilities=visibilities).filter(language=language)
    for title, text in rows.values_list("title", "body_text")[:2000]:
        words.update(match.group(0).casefold() for match in _WORD.finditer(f"{title} {text[:2000]}"))
    vocabulary = sorted(word for word in words if not word.isdigit())
    cache.set(key, vocabulary, VOCABULARY_CACHE_S)
    return vocabulary


# Share links


def share_links_for(*, article: Article) -> list[ShareLink]:
    """Return ARTICLE's share links, the newest first (revoked and expired ones included)."""
    return list(article.share_links.select_related("created_by").order_by("-created_at", "-pk"))


# Figures for team leads and the reports (issue 10)


def deflection_stats(since: datetime, until: datetime) -> dict[str, Any]:
    """Return what the suggestions on the web form and in the chat widget achieved between SINCE and UNTIL.

    ``sessions``: visitors who were shown suggestions; ``shown`` / ``opened`` / ``helped`` / ``contacted``:
    how each of those sessions ended; ``deflected``: opened or helped without contacting (a contact the
    company did not have to answer); ``rate``: deflected / sessions (None without sessions); ``by_channel``:
    the same counts per channel kind ("webform", "chat").
    """
    rows = Deflection.objects.filter(
        channel_kind__in=DEFLECTION_CHANNELS, created_at__gte=since, created_at__lt=until
    ).values_list("channel_kind", "outcome")
    totals = _outcome_counts([outcome for _kind, outcome in rows])
    by_channel = {
        kind: _outcome_counts([outcome for row_kind, outcome in rows if row_kind == kind])
        for kind in DEFLECTION_CHANNELS
    }
    return {**totals, "by_channel": by_channel, "since": since, "until": until}


def _outcome_counts(outcomes: Sequence[str]) -> dict[str, Any]:
    counts = dict.fromkeys(Deflection.Outcome.values, 0)
    for outcome in outcomes:
        counts[outcome] = counts.get(outcome, 0) + 1
    sessions = len(outcomes)
    deflected = counts[Deflection.Outcome.OPENED] + counts[Deflection.Outcome.HELPED]
    return {
        "sessions": sessions,
        **counts,
        "deflected": deflected,
        "rate": deflected / sessions if sessions else None,
    }


@dataclass(frozen=True)
class FeedbackRow:
    translation_id: int
    title: str
    language: str
    slug: str
    visibility: str
    helpful: int
    unhelpful: int
    views: int

    @property
    def answers(self) -> int:
        return self.helpful + self.unhelpful

    @property
    def share(self) -> float:
        """Return the helpful answers' share of all answers (0..1)."""
        return self.helpful / self.answers if self.answers else 0.0


def articles_by_feedback(*, most_helpful: bool, limit: int = 10, min_answers: int = 1) -> list[FeedbackRow]:
    """Return the published public or partner versions with at least MIN_ANSWERS answers, best (or worst) first."""
    rows = (
        translations_visible(visibilities=PARTNERS)
        .annotate(answers=F("helpful_count") + F("unhelpful_count"))
        .filter(answers__gte=min_answers)
        .values(
            "pk", "title", "language", "slug", "article__visibility", "helpful_count", "unhelpful_count", "view_count"
        )
    )
    result = [
        FeedbackRow(
            translation_id=row["pk"],
            title=row["title"],
            language=row["language"],
            slug=row["slug"],
            visibility=row["article__visibility"],
            helpful=row["helpful_count"],
            unhelpful=row["unhelpful_count"],
            views=row["view_count"],
        )
        for row in rows
    ]
    if most_helpful:
        result.sort(key=lambda r: (-r.share, -r.helpful, r.title))
    else:
        result.sort(key=lambda r: (r.share, -r.unhelpful, r.title))
    return result[:limit]


@dataclass(frozen=True)
class FailedSearch:
    query: str
    language: str
    count: int


def searches_without_results(since: datetime, until: datetime, *, limit: int = 15) -> list[FailedSearch]:
    """Return the help-centre searches that found nothing between SINCE and UNTIL, the most frequent first."""
    rows = (
        Deflection.objects.filter(channel_kind=SEARCH_KIND, created_at__gte=since, created_at__lt=until)
        .values("query", "language")
        .annotate(n=Count("pk"))
        .order_by("-n", "query")[:limit]
    )
    return [FailedSearch(query=row["query"], language=row["language"], count=row["n"]) for row in rows]


def articles_opened_from_suggestions(since: datetime, until: datetime, *, limit: int = 10) -> list[dict[str, Any]]:
    """Return the articles most often opened from a suggestion between SINCE and UNTIL, with how often they helped."""
    rows = (
        Deflection.objects.filter(
            channel_kind__in=DEFLECTION_CHANNELS,
            created_at__gte=since,
            created_at__lt=until,
            translation__isnull=False,
        )
        .values("translation_id", "translation__title", "translation__language")
        .annotate(
            opened=Count("pk"),
            helped=Count("pk", filter=Q(outcome=Deflection.Outcome.HELPED)),
            contacted=Count("pk", filter=Q(outcome=Deflection.Outcome.CONTACTED)),
        )
        .order_by("-opened", "translation__title")[:limit]
    )
    return [dict(row) for row in rows]
