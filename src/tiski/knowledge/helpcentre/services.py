"""Writes of the help centre: views and "was this helpful?" answers, deflection outcomes, share links.

Counters are raised with F() expressions in the database, so concurrent readers never lose a count.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import secrets

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from tiski.accounts.roles import PUBLISH_ARTICLES, WORK_CASES
from tiski.core.limits import visitor_text
from tiski.core.ratelimit import RateDecision, rate_hit
from tiski.knowledge.helpcentre.exceptions import (
    ShareLinkGoneError,
    ShareLinkNotFoundError,
    ShareNotAllowedError,
)
from tiski.knowledge.helpcentre.selectors import DEFLECTION_CHANNELS, SEARCH_KIND
from tiski.knowledge.models import Article, ArticleFeedback, ArticleTranslation, Deflection, ShareLink

logger = logging.getLogger(__name__)

COMMENT_MAX_CHARS = 2000
QUERY_MAX_CHARS = 300
SESSION_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
SHARE_DEFAULT_DAYS = 30
SHARE_MAX_DAYS = 365
SHARE_TOKEN_BYTES = 24  # 32 characters of token_urlsafe

# Outcomes only move forward: a session that was helped is not set back to "opened" by a second tab.
_ORDER = [Deflection.Outcome.SHOWN, Deflection.Outcome.OPENED, Deflection.Outcome.HELPED, Deflection.Outcome.CONTACTED]


def visitor_hash(*parts: str) -> str:
    """Return a 64-character hash of PARTS (a session key; an address and browser), keyed with the secret key."""
    material = "\x1f".join(("tiski.help.visitor", settings.SECRET_KEY, *parts))
    return hashlib.sha256(material.encode()).hexdigest()


# Reading and "was this helpful?"


def article_view_record(*, translation: ArticleTranslation) -> None:
    """Count one reading of TRANSLATION."""
    ArticleTranslation.objects.filter(pk=translation.pk).update(view_count=F("view_count") + 1)


@transaction.atomic
def feedback_record(
    *, translation: ArticleTranslation, helpful: bool, visitor: str, comment: str = ""
) -> tuple[ArticleFeedback, bool]:
    """Record VISITOR's answer on TRANSLATION and count it; return the answer and whether it is new.

    One answer per visitor and language version: a second one returns the first unchanged (and counts nothing).
    """
    locked = ArticleTranslation.objects.select_for_update().get(pk=translation.pk)
    existing = ArticleFeedback.objects.filter(translation=locked, visitor=visitor).first()
    if existing is not None:
        return existing, False
    feedback = ArticleFeedback.objects.create(
        translation=locked, helpful=helpful, visitor=visitor, comment=visitor_text(comment, limit=COMMENT_MAX_CHARS)
    )
    counter = "helpful_count" if helpful else "unhelpful_count"
    ArticleTranslation.objects.filter(pk=locked.pk).update(**{counter: F(counter) + 1})
    return feedback, True


def feedback_comment_add(*, translation: ArticleTranslation, visitor: str, comment: str) -> bool:
    """Add COMMENT to VISITOR's answer on TRANSLATION unless it has one; return whether it was added."""
    text = visitor_text(comment, limit=COMMENT_MAX_CHARS)
    if not text:
        return False
    return bool(
        ArticleFeedback.objects.filter(translation=translation, visitor=visitor, comment="").update(comment=text)
    )


# Deflection: suggestions while the customer types, and what came of them


def deflection_session_valid(session: str) -> bool:
    """Return whether SESSION looks like an id the web form or widget made (16–64 URL-safe characters)."""
    return bool(SESSION_PATTERN.match(session or ""))


def deflection_shown(*, session: str, channel_kind: str, language: str, query: str) -> Deflection | None:
    """Record that suggestions were shown in SESSION (one row per session; the latest QUERY kept while no
    article was opened); return the row, or None for an invalid session or channel kind."""
    if not deflection_session_valid(session) or channel_kind not in DEFLECTION_CHANNELS:
        return None
    query = visitor_text(query, limit=QUERY_MAX_CHARS)
    try:
        with transaction.atomic():
            row, created = Deflection.objects.get_or_create(
                session=session, defaults={"channel_kind": channel_kind, "language": language, "query": query}
            )
    except IntegrityError:  # the same session's previous request created it at the same moment
        row, created = Deflection.objects.get(session=session), False
    if not created and row.outcome == Deflection.Outcome.SHOWN and row.query != query:
        Deflection.objects.filter(pk=row.pk, outcome=Deflection.Outcome.SHOWN).update(query=query)
    return row


def _advance(session: str, outcome: str, translation: ArticleTranslation | None = None) -> bool:
    if not deflection_session_valid(session):
        return False
    earlier = _ORDER[: _ORDER.index(outcome)]  # type: ignore[arg-type]
    changes: dict[str, object] = {"outcome": outcome, "updated_at": timezone.now()}
    if translation is not None:
        changes["translation"] = translation
    updated = Deflection.objects.filter(
        session=session, channel_kind__in=DEFLECTION_CHANNELS, outcome__in=[*earlier, outcome]
    ).update(**changes)
    return bool(updated)


def deflection_opened(*, session: str, translation: ArticleTranslation) -> bool:
    """Record that SESSION's customer opened TRANSLATION from a suggestion; return whether a session moved on."""
    return _advance(session, Deflection.Outcome.OPENED, translation)


def deflection_helped(*, session: str, translation: ArticleTranslation) -> bool:
    """Record that TRANSLATION, opened from a suggestion, solved SESSION's question."""
    return _advance(session, Deflection.Outcome.HELPED, translation)


def deflection_contacted(*, session: str) -> bool:
    """Record that SESSION's customer sent the form or started the chat anyway (a contact not deflected)."""
    return _advance(session, Deflection.Outcome.CONTACTED)


def search_failed_record(*, query: str, language: str, visitor: str) -> None:
    """Log a help-centre search that found nothing (once per visitor, query and day)."""
    query = visitor_text(" ".join(query.split()), limit=QUERY_MAX_CHARS)
    if not query:
        return
    day = timezone.localdate().isoformat()
    key = "s" + visitor_hash("search", visitor, query.casefold(), language, day)[:63]
    try:
        with transaction.atomic():
            Deflection.objects.get_or_create(
                session=key, defaults={"channel_kind": SEARCH_KIND, "language": language, "query": query}
            )
    except IntegrityError:
        pass


def suggest_rate_hit(*, visitor: str) -> RateDecision:
    """Count one suggestion request from VISITOR; return whether it is within the rate TISKI_RATE_HELP_SUGGEST."""
    return rate_hit(name="help_suggest", key=visitor)


# Share links


def share_allowed(*, user: User | AnonymousUser, article: Article) -> bool:
    """Return whether USER may share ARTICLE outside Tiski (and revoke its links).

    Agents (WORK_CASES) share public and partner articles; an internal article needs PUBLISH_ARTICLES too.
    """
    if not user.is_authenticated or not user.has_perm(WORK_CASES):
        return False
    if article.visibility == Article.Visibility.INTERNAL:
        return user.has_perm(PUBLISH_ARTICLES)
    return True


def share_link_create(*, article: Article, user: User, note: str = "", days: int = SHARE_DEFAULT_DAYS) -> ShareLink:
    """Create a link that lets anyone holding it read ARTICLE for DAYS days (1–365).

    Raise ShareNotAllowedError when USER may not share it (see share_allowed).
    """
    if not share_allowed(user=user, article=article):
        raise ShareNotAllowedError(article.pk)
    days = min(max(int(days), 1), SHARE_MAX_DAYS)
    link = ShareLink.objects.create(
        article=article,
        token=secrets.token_urlsafe(SHARE_TOKEN_BYTES),
        note=note.strip()[:200],
        created_by=user,
        expires_at=timezone.now() + dt.timedelta(days=days),
    )
    logger.info("article %s shared by %s until %s (link %s)", article.pk, user.pk, link.expires_at, link.pk)
    return link


def share_link_revoke(*, link: ShareLink, user: User) -> ShareLink:
    """Revoke LINK now (a revoked link stays revoked); raise ShareNotAllowedError when USER may not."""
    if not share_allowed(user=user, article=link.article):
        raise ShareNotAllowedError(link.article_id)
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        ShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(revoked_at=link.revoked_at)
        logger.info("share link %s of article %s revoked by %s", link.pk, link.article_id, user.pk)
    return link


def share_link_open(*, token: str) -> ShareLink:
    """Return the usable share link TOKEN and count the view.

    Raise ShareLinkNotFoundError for an unknown token, ShareLinkGoneError ("revoked", "expired", or
    "unpublished" when the article has no published language version) for one that cannot be read.
    """
    if not token or len(token) > 64:
        raise ShareLinkNotFoundError(token[:16])
    link = ShareLink.objects.select_related("article").filter(token=token).first()
    if link is None:
        raise ShareLinkNotFoundError(token[:16])
    if link.revoked_at is not None:
        raise ShareLinkGoneError("revoked")
    if link.expires_at <= timezone.now():
        raise ShareLinkGoneError("expired")
    if not link.article.translations.filter(status=ArticleTranslation.Status.PUBLISHED).exists():
        raise ShareLinkGoneError("unpublished")
    ShareLink.objects.filter(pk=link.pk).update(view_count=F("view_count") + 1)
    return link
