"""Writes of the knowledge base: articles, their language versions and lifecycle, and what agents did with them.

Every save of a language version sanitises the body, derives its plain text, bumps the version, keeps the
saved text as an ``ArticleVersion`` and updates the search index, all in one transaction. Permission checks
are made here, whatever the caller (console, API, command):

- writing (``WRITE_ARTICLES``, agents): create articles and language versions, edit drafts and versions in
  review, send a draft for review, take a version in review or archived back to draft;
- publishing (``PUBLISH_ARTICLES``, team leads): everything above, and publish, archive, take a published
  version back to draft, edit published versions, change an article's visibility to partners or public.

Lifecycle of a language version: draft → in review → published → archived, and back to draft from any of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, PermissionsMixin, User
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from inscriptis import get_text
from slugify import slugify

from tiski.accounts.roles import PUBLISH_ARTICLES, WRITE_ARTICLES
from tiski.cases.html import sanitize_html
from tiski.cases.models import Case, Category, Tag
from tiski.knowledge.exceptions import (
    ArticleConflictError,
    ArticleInvalidError,
    ArticlePermissionError,
    ArticleTransitionError,
)
from tiski.knowledge.models import Article, ArticleCategory, ArticleTranslation, ArticleUse, ArticleVersion
from tiski.knowledge.search import search_index_delete, search_index_update

Status = ArticleTranslation.Status
Visibility = Article.Visibility
Actor = User | AbstractBaseUser | AnonymousUser | None

_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,4})?$")
MAX_BODY_CHARS = 200_000
CASE_TYPES_MAX = 20

# (from, to) → the permission the move needs.
TRANSITIONS: dict[tuple[str, str], str] = {
    (Status.DRAFT, Status.IN_REVIEW): WRITE_ARTICLES,
    (Status.DRAFT, Status.PUBLISHED): PUBLISH_ARTICLES,
    (Status.IN_REVIEW, Status.PUBLISHED): PUBLISH_ARTICLES,
    (Status.IN_REVIEW, Status.DRAFT): WRITE_ARTICLES,
    (Status.PUBLISHED, Status.ARCHIVED): PUBLISH_ARTICLES,
    (Status.PUBLISHED, Status.DRAFT): PUBLISH_ARTICLES,
    (Status.ARCHIVED, Status.DRAFT): WRITE_ARTICLES,
    (Status.ARCHIVED, Status.PUBLISHED): PUBLISH_ARTICLES,
    (Status.DRAFT, Status.ARCHIVED): PUBLISH_ARTICLES,
    (Status.IN_REVIEW, Status.ARCHIVED): PUBLISH_ARTICLES,
}
_UNSET: Any = object()


def can_write(user: Actor) -> bool:
    return user_may(user, WRITE_ARTICLES)


def can_publish(user: Actor) -> bool:
    return user_may(user, PUBLISH_ARTICLES)


def transitions_allowed(*, translation: ArticleTranslation, user: Actor) -> list[str]:
    """Return the statuses USER may move TRANSLATION to, in lifecycle order."""
    allowed = {to for (frm, to), perm in TRANSITIONS.items() if frm == translation.status and user_may(user, perm)}
    return [status for status in Status.values if status in allowed]


def can_edit(*, translation: ArticleTranslation, user: Actor) -> bool:
    """Whether USER may change the text: writers drafts and versions in review, publishers any version."""
    if translation.status in (Status.DRAFT, Status.IN_REVIEW):
        return can_write(user)
    return can_publish(user)


def user_may(user: Actor, perm: str) -> bool:
    if not isinstance(user, PermissionsMixin | AnonymousUser) or not user.is_active:
        return False
    return bool(user.has_perm(perm))


def _require(user: Actor, perm: str, message: str) -> None:
    if not user_may(user, perm):
        raise ArticlePermissionError(message)


def _user_or_none(user: Actor) -> User | None:
    return user if isinstance(user, User) else None


# --- articles ----------------------------------------------------------------------------------------


@transaction.atomic
def article_create(
    *,
    actor: Actor,
    language: str,
    title: str,
    body_html: str = "",
    category: ArticleCategory | None = None,
    visibility: str = Visibility.INTERNAL,
    tags: Sequence[str] = (),
    case_categories: Iterable[Category] = (),
    case_types: Sequence[str] = (),
    note: str = "",
) -> ArticleTranslation:
    """Create an article with its first language version, as a draft; return that language version.

    Raise ArticlePermissionError without the writing permission, or for a visibility wider than internal
    without the publishing permission; ArticleInvalidError for an empty title, unknown language or visibility.
    """
    _require(actor, WRITE_ARTICLES, "You cannot write knowledge articles.")
    article = Article(created_by=_user_or_none(actor))
    article = _article_fields(
        article,
        actor=actor,
        category=category,
        visibility=visibility,
        tags=tags,
        case_categories=case_categories,
        case_types=case_types,
    )
    return translation_save(
        article=article, language=language, actor=actor, title=title, body_html=body_html, note=note
    )


@transaction.atomic
def article_update(
    *,
    article: Article,
    actor: Actor,
    category: ArticleCategory | None = _UNSET,
    visibility: str = _UNSET,
    tags: Sequence[str] = _UNSET,
    case_categories: Iterable[Category] = _UNSET,
    case_types: Sequence[str] = _UNSET,
) -> Article:
    """Change where an article belongs and who may read it; what is not given stays as it is.

    Making an article visible outside (partners, public) — or narrowing a published one — needs the
    publishing permission, as publishing does.
    """
    _require(actor, WRITE_ARTICLES, "You cannot change knowledge articles.")
    article = Article.objects.select_for_update().get(pk=article.pk)
    return _article_fields(
        article,
        actor=actor,
        category=category,
        visibility=visibility,
        tags=tags,
        case_categories=case_categories,
        case_types=case_types,
    )


def _article_fields(
    article: Article,
    *,
    actor: Actor,
    category: ArticleCategory | None,
    visibility: str,
    tags: Sequence[str],
    case_categories: Iterable[Category],
    case_types: Sequence[str],
) -> Article:
    if visibility is not _UNSET and visibility != article.visibility:
        if visibility not in Visibility.values:
            raise ArticleInvalidError(f"Unknown visibility {visibility!r}.")
        if visibility != Visibility.INTERNAL or (
            article.pk and article.translations.filter(status=Status.PUBLISHED).exists()
        ):
            _require(actor, PUBLISH_ARTICLES, "Only a team lead can change who may read an article outside the team.")
        article.visibility = visibility
    if category is not _UNSET:
        article.category = category
    if case_types is not _UNSET:
        cleaned = []
        for value in case_types:
            value = str(value).strip()[:50]
            if value and value not in cleaned:
                cleaned.append(value)
        article.case_types = cleaned[:CASE_TYPES_MAX]
    article.save()
    if tags is not _UNSET:
        article.tags.set(_tags_get_or_create(tags))
    if case_categories is not _UNSET:
        article.case_categories.set(list(case_categories))
    for translation in ArticleTranslation.objects.filter(article=article):
        search_index_update(translation)  # the index filters by visibility and category too
    return article


def _tags_get_or_create(names: Sequence[str]) -> list[Tag]:
    """Return the tags named NAMES (as the cases' tags are: lower-case slugs), created when missing."""
    from django.utils.text import slugify as tag_slug

    slugs = {tag_slug(str(name), allow_unicode=True)[:50] for name in names}
    slugs.discard("")
    existing = {tag.name: tag for tag in Tag.objects.filter(name__in=slugs)}
    return [existing.get(slug) or Tag.objects.get_or_create(name=slug)[0] for slug in sorted(slugs)]


# --- language versions -------------------------------------------------------------------------------


def body_text_of(body_html: str) -> str:
    """Return the plain text of sanitised HTML, for search and snippets."""
    if not body_html.strip():
        return ""
    return "\n".join(line.rstrip() for line in get_text(body_html).strip().splitlines())


def _clean_language(language: str) -> str:
    code = (language or "").strip().lower().replace("_", "-")
    if not _LANGUAGE.match(code) or len(code) > 8:
        raise ArticleInvalidError(f"Unknown language code {language!r}; use e.g. fi, en or sv.")
    return code


def _unique_slug(*, title: str, language: str, exclude_pk: int | None) -> str:
    base = slugify(title, max_length=180, word_boundary=True) or "article"
    candidates = ArticleTranslation.objects.filter(language=language, slug__startswith=base)
    if exclude_pk is not None:
        candidates = candidates.exclude(pk=exclude_pk)
    taken = set(candidates.values_list("slug", flat=True))
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def translation_save(
    *,
    article: Article,
    language: str,
    actor: Actor,
    title: str,
    body_html: str,
    note: str = "",
    expected_version: int | None = None,
) -> ArticleTranslation:
    """Save the language version of ARTICLE in LANGUAGE (creating it as a draft if new); return it.

    The body is sanitised, its plain text derived, the version number bumped and the saved text kept as an
    ArticleVersion. Saving unchanged text keeps the version as it is. EXPECTED_VERSION (the version the editor
    was opened at) guards against overwriting someone else's save: ArticleConflictError if it moved on.
    Raise ArticlePermissionError when USER may not edit the version in its status, ArticleInvalidError for
    an empty or too long title or body.
    """
    _require(actor, WRITE_ARTICLES, "You cannot write knowledge articles.")
    language = _clean_language(language)
    title = " ".join((title or "").split())
    if not title:
        raise ArticleInvalidError("The title cannot be empty.")
    if len(title) > 200:
        raise ArticleInvalidError("The title can be at most 200 characters.")
    if len(body_html or "") > MAX_BODY_CHARS:
        raise ArticleInvalidError(f"The text can be at most {MAX_BODY_CHARS:,} characters.")
    clean_html = sanitize_html(body_html or "")
    translation = (
        ArticleTranslation.objects.select_for_update().filter(article=article, language=language).first()
        if article.pk
        else None
    )
    editor = _user_or_none(actor)
    if translation is None:
        translation = ArticleTranslation(
            article=article,
            language=language,
            title=title,
            body_html=clean_html,
            body_text=body_text_of(clean_html),
            slug=_unique_slug(title=title, language=language, exclude_pk=None),
            status=Status.DRAFT,
            version=1,
            author=editor,
        )
        translation.save()
    else:
        if expected_version is not None and expected_version != translation.version:
            raise ArticleConflictError(
                f"Someone saved this language version (version {translation.version}) after you opened it "
                f"(version {expected_version}). Copy your text, reload and apply your changes again."
            )
        if not can_edit(translation=translation, user=actor):
            raise ArticlePermissionError(
                "Only a team lead can change a published or archived version; ask one, or to move it back to draft."
            )
        if translation.title == title and translation.body_html == clean_html:
            return translation
        translation.title = title
        translation.body_html = clean_html
        translation.body_text = body_text_of(clean_html)
        translation.version += 1
        if translation.published_at is None and translation.status == Status.DRAFT:
            translation.slug = _unique_slug(title=title, language=language, exclude_pk=translation.pk)
        if translation.author_id is None:
            translation.author = editor
        translation.save()
    ArticleVersion.objects.create(
        translation=translation,
        number=translation.version,
        title=translation.title,
        body_html=translation.body_html,
        status=translation.status,
        editor=editor,
        note=(note or "").strip()[:300],
    )
    Article.objects.filter(pk=article.pk).update(updated_at=timezone.now())
    search_index_update(translation)
    return translation


@transaction.atomic
def translation_restore(
    *, translation: ArticleTranslation, number: int, actor: Actor, expected_version: int | None = None
) -> ArticleTranslation:
    """Save the text of version NUMBER again as the newest version (nothing in the history is lost)."""
    old = ArticleVersion.objects.filter(translation=translation, number=number).first()
    if old is None:
        raise ArticleInvalidError(f"There is no version {number} of this language version.")
    return translation_save(
        article=translation.article,
        language=translation.language,
        actor=actor,
        title=old.title,
        body_html=old.body_html,
        note=f"Restored version {number}",
        expected_version=expected_version,
    )


@transaction.atomic
def translation_transition(*, translation: ArticleTranslation, status: str, actor: Actor) -> ArticleTranslation:
    """Move a language version to STATUS; publishing records the actor as its reviewer.

    Raise ArticleTransitionError for a move the lifecycle does not have, ArticlePermissionError when ACTOR
    may not make it (only PUBLISH_ARTICLES publishes and archives).
    """
    translation = ArticleTranslation.objects.select_for_update().get(pk=translation.pk)
    if status not in Status.values:
        raise ArticleTransitionError(f"Unknown status {status!r}.")
    if status == translation.status:
        return translation
    needed = TRANSITIONS.get((translation.status, status))
    if needed is None:
        raise ArticleTransitionError(
            f"A version that is {translation.get_status_display().lower()} "
            f"cannot become {Status(status).label.lower()}."
        )
    _require(actor, needed, "Only a team lead can publish, archive or unpublish a knowledge article.")
    fields = ["status", "updated_at"]
    translation.status = status
    if status == Status.PUBLISHED:
        translation.reviewer = _user_or_none(actor)
        translation.published_at = timezone.now()
        fields += ["reviewer", "published_at"]
    elif status == Status.IN_REVIEW:
        translation.reviewer = None
        fields += ["reviewer"]
    translation.save(update_fields=fields)
    Article.objects.filter(pk=translation.article_id).update(updated_at=timezone.now())
    search_index_update(translation)  # the index filters by status
    return translation


@transaction.atomic
def translation_delete(*, translation: ArticleTranslation, actor: Actor) -> None:
    """Delete a language version with its history: writers may delete drafts never published, publishers any."""
    translation = ArticleTranslation.objects.select_for_update().get(pk=translation.pk)
    if translation.status == Status.DRAFT and translation.published_at is None:
        _require(actor, WRITE_ARTICLES, "You cannot delete knowledge articles.")
    else:
        _require(actor, PUBLISH_ARTICLES, "Only a team lead can delete a version that has been published.")
    translation_id = translation.pk
    article_id = translation.article_id
    translation.delete()
    search_index_delete(translation_id)
    if not ArticleTranslation.objects.filter(article_id=article_id).exists():
        Article.objects.filter(pk=article_id).delete()


# --- uses on cases -----------------------------------------------------------------------------------


@transaction.atomic
def article_use_record(
    *,
    article: Article,
    case: Case,
    user: Actor,
    how: str,
    suggested_rank: int | None = None,
    translation: ArticleTranslation | None = None,
) -> ArticleUse:
    """Record that USER used ARTICLE on CASE (inserted its text or link) and count it on the article.

    ``solved`` stays empty until the case is next solved (True) or reopened (False): see on_case_status.
    """
    if how not in ArticleUse.How.values:
        raise ArticleInvalidError(f"Unknown use {how!r}.")
    if translation is not None and translation.article_id != article.pk:
        raise ArticleInvalidError("The language version is not one of the article's.")
    if suggested_rank is not None and not 0 <= suggested_rank <= 32767:
        raise ArticleInvalidError("The suggestion's place must be between 0 and 32767.")
    use = ArticleUse.objects.create(
        article=article,
        translation=translation,
        case=case,
        user=_user_or_none(user),
        how=how,
        suggested_rank=suggested_rank,
    )
    Article.objects.filter(pk=article.pk).update(use_count=F("use_count") + 1)
    return use


@transaction.atomic
def article_uses_settle(*, case_id: int, solved: bool) -> int:
    """Settle the uses of articles on a case that was just solved (SOLVED) or reopened; return how many changed.

    Solved: the uses not settled yet count as solved, and their articles' solved_count goes up. Reopened: the
    article did not solve it after all — uses counted as solved on this case are taken back, and unsettled
    ones count as not solved.
    """
    uses = ArticleUse.objects.select_for_update().filter(case_id=case_id)
    changed = 0
    if solved:
        pending = list(uses.filter(solved__isnull=True))
        for use in pending:
            Article.objects.filter(pk=use.article_id).update(solved_count=F("solved_count") + 1)
        changed = ArticleUse.objects.filter(pk__in=[u.pk for u in pending]).update(solved=True)
    else:
        counted = list(uses.filter(solved=True))
        for use in counted:
            Article.objects.filter(pk=use.article_id, solved_count__gt=0).update(solved_count=F("solved_count") - 1)
        changed = uses.filter(solved__isnull=True).update(solved=False)
        changed += ArticleUse.objects.filter(pk__in=[u.pk for u in counted]).update(solved=False)
    return changed
