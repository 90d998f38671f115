"""Sanitise HTML from outside before it is stored or shown."""

from __future__ import annotations

import nh3

_ALLOWED_SCHEMES = {"http", "https", "mailto", "tel", "cid"}


def sanitize_html(html: str) -> str:
    """Return HTML with scripts, event handlers, styles that execute and unknown schemes removed."""
    if not html.strip():
        return ""
    return nh3.clean(html, url_schemes=_ALLOWED_SCHEMES, link_rel="noopener noreferrer nofollow")
