"""Knowledge articles over the API: list and search, read, create, save a language version, move its status."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import Status
from pydantic import ConfigDict

from tiski.accounts.roles import VIEW_ARTICLES, WRITE_ARTICLES
from tiski.api.auth import require_perm
from tiski.api.errors import ApiError
from tiski.api.schemas import AUTH_ERRORS, MAX_ID, ErrorOut, ObjectId
from tiski.cases.models import Category
from tiski.knowledge import selectors, services
from tiski.knowledge.exceptions import (
    ArticleConflictError,
    ArticleInvalidError,
    ArticleNotFoundError,
    ArticlePermissionError,
    ArticleTransitionError,
    KnowledgeError,
)
from tiski.knowledge.models import Article, ArticleCategory, ArticleTranslation

router = Router(tags=["knowledge"])
ERRORS: dict[int, type[Schema]] = {400: ErrorOut, 404: ErrorOut, 409: ErrorOut, **AUTH_ERRORS}


class TranslationOut(Schema):
    id: int
    language: str
    slug: str
    title: str
    body_html: str
    status: str = Field(description="draft, in_review, published or archived")
    version: int
    author: str | None
    reviewer: str | None
    published_at: datetime | None
    updated_at: datetime


class ArticleOut(Schema):
    id: int
    category_id: int | None
    visibility: str = Field(description="internal, partners or public")
    tags: list[str]
    case_category_ids: list[int]
    case_types: list[str]
    use_count: int
    solved_count: int
    updated_at: datetime
    translations: list[TranslationOut]


class HitOut(Schema):
    article_id: int
    translation_id: int
    language: str
    title: str
    slug: str
    snippet_html: str = Field(description="Safe HTML: the text escaped, the matched words in <mark>.")
    rank: float
    visibility: str
    category_id: int | None


class ArticleIn(Schema):
    model_config = ConfigDict(extra="forbid")

    language: str = Field(max_length=8, examples=["fi"])
    title: str = Field(max_length=200)
    body_html: str = Field("", description="HTML; sanitised on save.")
    category_id: ObjectId | None = None
    visibility: Literal["internal", "partners", "public"] = "internal"
    tags: list[str] = Field(default_factory=list, max_length=30)
    case_category_ids: list[ObjectId] = Field(default_factory=list, max_length=50)
    case_types: list[str] = Field(default_factory=list, max_length=20)
    note: str = Field("", max_length=300)


class ArticlePatchIn(Schema):
    model_config = ConfigDict(extra="forbid")

    category_id: ObjectId | None = None
    visibility: Literal["internal", "partners", "public"] | None = None
    tags: list[str] | None = Field(None, max_length=30)
    case_category_ids: list[ObjectId] | None = Field(None, max_length=50)
    case_types: list[str] | None = Field(None, max_length=20)


class TranslationIn(Schema):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(max_length=200)
    body_html: str = ""
    note: str = Field("", max_length=300)
    expected_version: int | None = Field(
        None, ge=0, le=MAX_ID, description="The version you edited; 409 if someone saved a newer one meanwhile."
    )


class StatusIn(Schema):
    model_config = ConfigDict(extra="forbid")

    status: Literal["draft", "in_review", "published", "archived"]


class VersionOut(Schema):
    number: int
    title: str
    body_html: str
    status: str
    editor: str | None
    note: str
    created_at: datetime


class ArticlesQuery(Schema):
    q: str = Field("", max_length=1000, description="Search words; results best first with snippets.")
    language: str | None = None
    status: Literal["draft", "in_review", "published", "archived"] | None = None
    visibility: Literal["internal", "partners", "public"] | None = None
    category_id: ObjectId | None = None
    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0, le=MAX_ID)


def _name(user: Any) -> str | None:
    return (user.get_full_name() or user.username) if user else None


def _translation_out(t: ArticleTranslation) -> dict[str, Any]:
    return {
        "id": t.pk,
        "language": t.language,
        "slug": t.slug,
        "title": t.title,
        "body_html": t.body_html,
        "status": t.status,
        "version": t.version,
        "author": _name(t.author),
        "reviewer": _name(t.reviewer),
        "published_at": t.published_at,
        "updated_at": t.updated_at,
    }


def _article_out(article: Article) -> dict[str, Any]:
    return {
        "id": article.pk,
        "category_id": article.category_id,
        "visibility": article.visibility,
        "tags": [t.name for t in article.tags.all()],
        "case_category_ids": [c.pk for c in article.case_categories.all()],
        "case_types": list(article.case_types or []),
        "use_count": article.use_count,
        "solved_count": article.solved_count,
        "updated_at": article.updated_at,
        "translations": [_translation_out(t) for t in sorted(article.translations.all(), key=lambda t: t.language)],
    }


def _raise(error: KnowledgeError) -> ApiError:
    if isinstance(error, ArticlePermissionError):
        return ApiError(403, "permission_denied", str(error))
    if isinstance(error, ArticleNotFoundError):
        return ApiError(404, "article_not_found", str(error))
    if isinstance(error, ArticleConflictError):
        return ApiError(409, "version_conflict", str(error))
    if isinstance(error, ArticleTransitionError):
        return ApiError(400, "status_invalid", str(error))
    if isinstance(error, ArticleInvalidError):
        return ApiError(400, "article_invalid", str(error))
    return ApiError(400, "article_error", str(error))


def _get(request: HttpRequest, article_id: ObjectId) -> Article:
    user = require_perm(request, VIEW_ARTICLES, "read knowledge articles")
    try:
        return selectors.article_get_for_agent(user=user, article_id=article_id)
    except KnowledgeError as error:
        raise _raise(error) from None


def _category(category_id: int | None) -> ArticleCategory | None:
    if category_id is None:
        return None
    category = ArticleCategory.objects.filter(pk=category_id).first()
    if category is None:
        raise ApiError(400, "category_unknown", f"There is no article category {category_id}.")
    return category


@router.get("/articles", response={200: list[HitOut] | list[ArticleOut], **ERRORS}, summary="List or search articles")
def articles_list(request: HttpRequest, filters: Query[ArticlesQuery]) -> list[dict[str, Any]]:
    """With `q`: language versions that match, best first, each with a highlighted snippet (every status and
    visibility unless filtered). Without: articles, most recently changed first, with their language versions."""
    user = require_perm(request, VIEW_ARTICLES, "read knowledge articles")
    if filters.q.strip():
        from tiski.knowledge.search import articles_search

        hits = articles_search(
            filters.q,
            language=filters.language,
            visibilities=(filters.visibility,) if filters.visibility else selectors.ALL_VISIBILITIES,
            statuses=(filters.status,) if filters.status else selectors.ALL_STATUSES,
            category_id=filters.category_id,
            limit=filters.limit,
            offset=filters.offset,
        )
        return [hit.__dict__ for hit in hits]
    rows = selectors.articles_list_for_agent(
        user=user,
        status=filters.status,
        language=filters.language,
        category_id=filters.category_id,
        visibility=filters.visibility,
        limit=filters.limit,
        offset=filters.offset,
    )
    ids = [row.article.pk for row in rows]
    articles = {
        a.pk: a for a in Article.objects.filter(pk__in=ids).prefetch_related("translations", "tags", "case_categories")
    }
    return [_article_out(articles[pk]) for pk in ids if pk in articles]


@router.get("/articles/{article_id}", response={200: ArticleOut, **ERRORS}, summary="Read an article")
def articles_get(request: HttpRequest, article_id: ObjectId) -> dict[str, Any]:
    """An article with every language version."""
    return _article_out(_get(request, article_id))


@router.post("/articles", response={201: ArticleOut, **ERRORS}, summary="Create an article")
def articles_create(request: HttpRequest, data: ArticleIn) -> Status[dict[str, Any]]:
    """Create an article with its first language version, as a draft."""
    user = require_perm(request, WRITE_ARTICLES, "write knowledge articles")
    try:
        translation = services.article_create(
            actor=user,
            language=data.language,
            title=data.title,
            body_html=data.body_html,
            category=_category(data.category_id),
            visibility=data.visibility,
            tags=data.tags,
            case_categories=Category.objects.filter(pk__in=data.case_category_ids),
            case_types=data.case_types,
            note=data.note,
        )
    except KnowledgeError as error:
        raise _raise(error) from None
    return Status(201, _article_out(_get(request, translation.article_id)))


@router.patch("/articles/{article_id}", response={200: ArticleOut, **ERRORS}, summary="Change an article's settings")
def articles_update(request: HttpRequest, article_id: ObjectId, data: ArticlePatchIn) -> dict[str, Any]:
    """Change the category, visibility, tags, case categories or case types; what is left out stays."""
    article = _get(request, article_id)
    given = data.model_dump(exclude_unset=True)
    fields: dict[str, Any] = {}
    if "category_id" in given:
        fields["category"] = _category(data.category_id)
    if data.visibility is not None:
        fields["visibility"] = data.visibility
    if data.tags is not None:
        fields["tags"] = data.tags
    if data.case_category_ids is not None:
        fields["case_categories"] = Category.objects.filter(pk__in=data.case_category_ids)
    if data.case_types is not None:
        fields["case_types"] = data.case_types
    try:
        services.article_update(
            article=article, actor=require_perm(request, WRITE_ARTICLES, "write articles"), **fields
        )
    except KnowledgeError as error:
        raise _raise(error) from None
    return _article_out(_get(request, article_id))


@router.put(
    "/articles/{article_id}/translations/{language}",
    response={200: TranslationOut, **ERRORS},
    summary="Save a language version",
)
def translations_save(request: HttpRequest, article_id: ObjectId, language: str, data: TranslationIn) -> dict[str, Any]:
    """Save the title and text of a language version (created as a draft when new); keeps the old text as a version."""
    article = _get(request, article_id)
    user = require_perm(request, WRITE_ARTICLES, "write knowledge articles")
    try:
        translation = services.translation_save(
            article=article,
            language=language,
            actor=user,
            title=data.title,
            body_html=data.body_html,
            note=data.note,
            expected_version=data.expected_version,
        )
    except KnowledgeError as error:
        raise _raise(error) from None
    return _translation_out(translation)


@router.post(
    "/articles/{article_id}/translations/{language}/status",
    response={200: TranslationOut, **ERRORS},
    summary="Move a language version's status",
)
def translations_status(request: HttpRequest, article_id: ObjectId, language: str, data: StatusIn) -> dict[str, Any]:
    """Send for review (writers), publish, archive or take back to draft (publishers; writers from review)."""
    article = _get(request, article_id)
    translation = selectors.translation_get(article=article, language=language)
    if translation is None:
        raise ApiError(404, "translation_not_found", f"Article {article_id} has no {language!r} version.")
    try:
        user = require_perm(request, VIEW_ARTICLES, "read knowledge articles")
        translation = services.translation_transition(translation=translation, status=data.status, actor=user)
    except KnowledgeError as error:
        raise _raise(error) from None
    return _translation_out(translation)


@router.get(
    "/articles/{article_id}/translations/{language}/versions",
    response={200: list[VersionOut], **ERRORS},
    summary="A language version's history",
)
def translations_versions(request: HttpRequest, article_id: ObjectId, language: str) -> list[dict[str, Any]]:
    """Every saved version, newest first."""
    article = _get(request, article_id)
    translation = selectors.translation_get(article=article, language=language)
    if translation is None:
        raise ApiError(404, "translation_not_found", f"Article {article_id} has no {language!r} version.")
    return [
        {
            "number": v.number,
            "title": v.title,
            "body_html": v.body_html,
            "status": v.status,
            "editor": _name(v.editor),
            "note": v.note,
            "created_at": v.created_at,
        }
        for v in selectors.translation_versions(translation=translation)
    ]
