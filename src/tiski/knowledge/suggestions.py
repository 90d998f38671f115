"""Suggested articles for a case: the knowledge most likely to solve it, for the agent to insert in one click.

The case is read as one query: its subject and the newest customer messages (the start of each: the
question is there, quotes and signatures come later), in the case's language. Full-text search matches any
of those words across every published article the agents may read; the few dozen best are then weighed:

    score = text relevance (normalised to the best match, 0–1)
          + CATEGORY_BONUS   when the article helps with the case's category
          + TYPE_BONUS       when it helps with the case's type
          + TAG_BONUS × tags the article shares with the case (at most two count)
          + SOLVED_WEIGHT × how often agents' uses of it ended in a solved case, smoothed toward
            the prior so that one lucky use does not outrank relevance

and the top LIMIT are returned with the reasons in words. Each insertion is recorded (``ArticleUse`` with
its place in the list) and, once the case is solved or reopened, whether it helped: that is the "solved"
part of the score, so articles that solve cases rise for the next case like them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from django.conf import settings
from django.db.models import Prefetch
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from tiski.cases.models import Case, Message
from tiski.knowledge.models import Article, ArticleTranslation, ArticleUse
from tiski.knowledge.search import LANGUAGE_CONFIGS, SearchHit, articles_search, snippet_for
from tiski.knowledge.stopwords import STOP_WORDS

LIMIT = 3
CANDIDATES = 30  # full-text matches weighed per case
MESSAGES = 3  # the newest customer messages read
MESSAGE_CHARS = 600  # of each
QUERY_WORDS = 32  # distinct words sent to the search (search.MAX_TERMS_ANY)
CATEGORY_BONUS = 0.35
TYPE_BONUS = 0.15
TAG_BONUS = 0.1
SOLVED_WEIGHT = 0.3
SOLVED_PRIOR = (1, 2)  # (solved, uses) added to every article's record: an unused article counts as 50 %
ALL_VISIBILITIES = tuple(Article.Visibility.values)

_WORD = re.compile(r"[^\W\d_][\w'-]{2,}", re.UNICODE)
_QUOTE = re.compile(r"^\s*>.*$", re.MULTILINE)


@dataclass(frozen=True)
class Suggestion:
    article_id: int
    translation_id: int
    rank: int  # 1 = the first shown
    title: str
    snippet_html: str
    language: str
    visibility: str
    score: float
    reasons: tuple[Promise | str, ...] = field(default_factory=tuple)
    text: str = ""  # what "insert text" puts into the reply
    url: str = ""  # what "insert link" puts into the reply: public articles only
    used: bool = False  # already inserted on this case


def case_query_text(case: Case) -> str:
    """Return the words of CASE a suggestion is looked up by: its subject and its newest customer messages."""
    bodies = (
        Message.objects.filter(case=case, direction=Message.Direction.IN)
        .order_by("-created_at", "-id")
        .values_list("body_text", flat=True)[:MESSAGES]
    )
    parts = [case.subject] + [_QUOTE.sub(" ", body or "")[:MESSAGE_CHARS] for body in bodies]
    return " ".join(parts)


def query_words(text: str) -> str:
    """Return TEXT as at most QUERY_WORDS distinct words, in order, stop words left out: a bounded query of the
    words that carry meaning, however long the case."""
    stop = frozenset().union(*STOP_WORDS.values())
    seen: dict[str, None] = {}
    for word in _WORD.findall(text):
        key = word.lower()
        if key not in seen and key not in stop:
            seen[key] = None
            if len(seen) >= QUERY_WORDS:
                break
    return " ".join(seen)


def case_language(case: Case, text: str) -> str:
    """Return the language to suggest in: the customer's, else the case text's, else the company's."""
    language = (case.customer.language or "").split("-")[0].lower()
    if not language:
        from tiski.routing.language import detect_language

        language = detect_language(text)
    return language or settings.LANGUAGE_CODE.split("-")[0]


@dataclass(frozen=True)
class CaseFacts:
    """What suggestions are computed from: a case's words and what it is about."""

    text: str
    language: str
    category_id: int | None = None
    type: str = ""
    tag_ids: frozenset[int] = frozenset()
    case_id: int | None = None  # to mark the articles already used on it


def case_facts(case: Case) -> CaseFacts:
    text = case_query_text(case)
    return CaseFacts(
        text=text,
        language=case_language(case, text),
        category_id=case.category_id,
        type=case.type,
        tag_ids=frozenset(case.tags.values_list("pk", flat=True)),
        case_id=case.pk,
    )


def suggestions_for_case(case: Case, *, limit: int = LIMIT, query: str = "") -> list[Suggestion]:
    """Return up to LIMIT published articles most likely to solve CASE, best first, with why.

    QUERY (what the agent typed into the panel's search) replaces the case's own text when given.
    """
    return suggestions_for(case_facts(case), limit=limit, query=query)


def suggestions_for(facts: CaseFacts, *, limit: int = LIMIT, query: str = "") -> list[Suggestion]:
    """Return up to LIMIT published articles for FACTS (or for QUERY, in FACTS' language first).

    Articles in the case's language come first; when none matches, the other languages are searched in turn
    (Finnish, English, Swedish).
    """
    words = query_words(query or facts.text)
    if not words:
        return []
    match: Literal["all", "any"] = "all" if query else "any"
    options: dict[str, Any] = {"visibilities": ALL_VISIBILITIES, "match": match, "limit": CANDIDATES, "snippets": False}
    hits = articles_search(words, language=facts.language, **options)
    for other in LANGUAGE_CONFIGS:  # nothing in the case's language: the next language that has something
        if hits:
            break
        if other != facts.language:
            hits = articles_search(words, language=other, **options)
    return rank_hits(facts, hits, limit=limit, words=words)


def rank_hits(facts: CaseFacts, hits: Sequence[SearchHit], *, limit: int = LIMIT, words: str = "") -> list[Suggestion]:
    """Weigh the full-text HITS for the case of FACTS (see the module's docstring) and return the best LIMIT,
    each with a snippet around WORDS (the query) when the hit has none."""
    if not hits:
        return []
    articles = Article.objects.in_bulk([hit.article_id for hit in hits])
    fits = _fits(facts, list(articles))
    used = (
        set(ArticleUse.objects.filter(case_id=facts.case_id).values_list("article_id", flat=True))
        if facts.case_id
        else set()
    )
    best = max(hit.rank for hit in hits) or 1.0
    scored: list[tuple[float, SearchHit, list[Promise | str]]] = []
    for hit in hits:
        article = articles.get(hit.article_id)
        if article is None:
            continue
        categories, types, tags = fits.get(article.pk, (False, False, 0))
        reasons: list[Promise | str] = []
        score = max(hit.rank, 0.0) / best
        if categories:
            score += CATEGORY_BONUS
            reasons.append(_("helps with this category"))
        if types:
            score += TYPE_BONUS
            reasons.append(_("fits this type of case"))
        if tags:
            score += TAG_BONUS * min(tags, 2)
            reasons.append(_("shares the case's tags"))
        solved, uses = article.solved_count + SOLVED_PRIOR[0], article.use_count + SOLVED_PRIOR[1]
        score += SOLVED_WEIGHT * (solved / uses)
        if article.use_count >= 3 and article.solved_count / article.use_count >= 0.5:
            reasons.append(
                _("solved %(solved)d of %(uses)d cases") % {"solved": article.solved_count, "uses": article.use_count}
            )
        scored.append((score, hit, reasons))
    scored.sort(key=lambda row: (-row[0], row[1].translation_id))
    top = scored[:limit]
    translations = {
        row.pk: row
        for row in ArticleTranslation.objects.filter(pk__in=[hit.translation_id for _s, hit, _r in top]).only(
            "pk", "body_text", "slug", "language", "article_id"
        )
    }
    return [
        Suggestion(
            article_id=hit.article_id,
            translation_id=hit.translation_id,
            rank=position,
            title=hit.title,
            snippet_html=hit.snippet_html or _snippet(translations.get(hit.translation_id), words),
            language=hit.language,
            visibility=hit.visibility,
            score=round(score, 4),
            reasons=tuple(reasons),
            text=_insert_text(translations.get(hit.translation_id)),
            url=_public_url(translations.get(hit.translation_id), hit.visibility),
            used=hit.article_id in used,
        )
        for position, (score, hit, reasons) in enumerate(top, start=1)
    ]


def _fits(facts: CaseFacts, article_ids: list[int]) -> dict[int, tuple[bool, bool, int]]:
    """Return, per article, whether it names the case's category, its type, and how many of its tags it shares."""
    rows = Article.objects.filter(pk__in=article_ids).prefetch_related(
        Prefetch("case_categories", to_attr="_categories"), Prefetch("tags", to_attr="_tags")
    )
    fits: dict[int, tuple[bool, bool, int]] = {}
    for article in rows:
        in_category = facts.category_id is not None and any(
            category.pk == facts.category_id for category in getattr(article, "_categories", [])
        )
        in_type = bool(facts.type) and facts.type in (article.case_types or [])
        shared = len(facts.tag_ids & {tag.pk for tag in getattr(article, "_tags", [])})
        fits[article.pk] = (in_category, in_type, shared)
    return fits


def _snippet(translation: ArticleTranslation | None, words: str) -> str:
    return snippet_for(translation.body_text, words, translation.language) if translation is not None else ""


def _insert_text(translation: ArticleTranslation | None) -> str:
    return (translation.body_text or "").strip() if translation is not None else ""


def _public_url(translation: ArticleTranslation | None, visibility: str) -> str:
    """Return the help centre's absolute address of a public article, else "" (a customer could not open it)."""
    if translation is None or visibility != Article.Visibility.PUBLIC:
        return ""
    from tiski.knowledge.helpcentre.links import article_public_url

    return f"{settings.TISKI_BASE_URL}{article_public_url(translation)}"
