"""Articles for the knowledge tests, written straight to the database and indexed for search."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.text import slugify

from tiski.knowledge.models import Article, ArticleCategory, ArticleTranslation
from tiski.knowledge.search import search_index_update

PUBLISHED = ArticleTranslation.Status.PUBLISHED
_numbers = iter(range(1_000_000))


def version_make(
    language: str,
    title: str,
    body: str,
    *,
    visibility: str = Article.Visibility.PUBLIC,
    status: str = PUBLISHED,
    category: ArticleCategory | None = None,
    case_categories: tuple[Any, ...] = (),
    case_types: tuple[str, ...] = (),
    uses: tuple[int, int] = (0, 0),
) -> ArticleTranslation:
    """Create an article with one language version of BODY (plain text); USES is (solved, used) so far."""
    article = Article.objects.create(
        visibility=visibility, category=category, case_types=list(case_types), solved_count=uses[0], use_count=uses[1]
    )
    article.case_categories.set(case_categories)
    translation = ArticleTranslation.objects.create(
        article=article,
        language=language,
        slug=f"v-{next(_numbers)}",
        title=title,
        body_html=f"<p>{body}</p>",
        body_text=body,
        status=status,
    )
    search_index_update(translation)
    return translation


def category_make(
    slug: str, name: str, name_fi: str = "", *, description: str = "", position: int = 0
) -> ArticleCategory:
    return ArticleCategory.objects.create(
        slug=slug, name=name, name_fi=name_fi, description=description, position=position
    )


def article_make(
    *,
    versions: dict[str, tuple[str, str]],
    category: ArticleCategory | None = None,
    visibility: str = Article.Visibility.PUBLIC,
    status: str = PUBLISHED,
    views: int = 0,
) -> Article:
    """Create an article with one language version per VERSIONS item (language → (title, plain text))."""
    article = Article.objects.create(category=category, visibility=visibility)
    for language, (title, text) in versions.items():
        paragraphs = "".join(f"<p>{part}</p>" for part in text.split("\n\n"))
        translation = ArticleTranslation.objects.create(
            article=article,
            language=language,
            slug=slugify(title)[:200],
            title=title,
            body_html=paragraphs,
            body_text=text,
            status=status,
            published_at=timezone.now() if status == PUBLISHED else None,
            view_count=views,
        )
        search_index_update(translation)
    return article


def translation_of(article: Article, language: str) -> ArticleTranslation:
    return article.translations.get(language=language)
