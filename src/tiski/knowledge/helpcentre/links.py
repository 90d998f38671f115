"""Addresses of help-centre pages, for other apps (the console's "insert article link", e-mails, reports)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from tiski.knowledge.models import ArticleTranslation


def article_public_url(translation: ArticleTranslation) -> str:
    """Return the absolute path of TRANSLATION's page in the public help centre ("/help/fi/articles/<slug>/").

    The page shows it only while it is published and its article public; for a partner article use
    article_partner_url, and to let anyone outside read another article, a share link.
    """
    return reverse("help:article", kwargs={"lang": translation.language, "slug": translation.slug})


def article_partner_url(translation: ArticleTranslation) -> str:
    """Return the absolute path of TRANSLATION's page in the partner portal (login required)."""
    return reverse("help:partners-article", kwargs={"lang": translation.language, "slug": translation.slug})


def share_link_path(token: str) -> str:
    """Return the absolute path of the page a share link with TOKEN opens."""
    return reverse("help:share", kwargs={"token": token})


def absolute(path: str) -> str:
    """Return PATH on Tiski's public address (TISKI_BASE_URL), for texts read outside a request."""
    return f"{settings.TISKI_BASE_URL}{path}"
