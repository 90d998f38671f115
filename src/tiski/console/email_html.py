"""Show a message's HTML safely: a sandboxed frame with its own content security policy, no remote images by default.

The HTML was sanitised with nh3 when it was stored; this module only decides what the agent's browser may load
while showing it, and points `cid:` images at the message's own attachments.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from urllib.parse import unquote

from django.core import signing

from tiski.cases.models import Attachment

# The frame may load the console's own images (inline attachments) and data: images; nothing else by default.
CSP_BLOCKED = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
# After the agent chose "Load remote images": https images too, still no scripts, fonts, frames or forms.
CSP_REMOTE = "default-src 'none'; img-src 'self' data: https:; style-src 'unsafe-inline'; frame-ancestors 'self'"
# No scripts and no same-origin access; links open in a new tab (the document sets <base target="_blank">).
IFRAME_SANDBOX = "allow-popups allow-popups-to-escape-sandbox"

INLINE_MAX_AGE = 12 * 3600  # seconds an inline image link stays valid
_INLINE_SALT = "tiski.console.inline-image"
_CID_SRC = re.compile(r'(\bsrc=")cid:([^"]*)(")', re.IGNORECASE)
_REMOTE_IMG = re.compile(r'<img\b[^>]*\bsrc="(?:https?:)?//', re.IGNORECASE)


def has_remote_images(body_html: str) -> bool:
    """Return whether BODY_HTML shows an image from another server (blocked until the agent allows it)."""
    return bool(_REMOTE_IMG.search(body_html))


def _content_id(value: str) -> str:
    """Return the Content-ID a `cid:` URL names (RFC 2392: URL-encoded, without the angle brackets)."""
    return unquote(html.unescape(value)).strip().strip("<>")


def cid_rewrite(body_html: str, attachments: Iterable[Attachment], url_for: Callable[[Attachment], str]) -> str:
    """Return BODY_HTML with each `cid:` image source replaced by URL_FOR(the attachment with that Content-ID).

    A source that names no attachment of the message is left as it is; the frame's policy does not load it.
    """
    by_id: dict[str, Attachment] = {}
    for attachment in attachments:
        if attachment.content_id:
            by_id.setdefault(attachment.content_id, attachment)
            by_id.setdefault(attachment.content_id.lower(), attachment)

    def replace(match: re.Match[str]) -> str:
        content_id = _content_id(match.group(2))
        attachment = by_id.get(content_id) or by_id.get(content_id.lower())
        if attachment is None:
            return match.group(0)
        return f"{match.group(1)}{html.escape(url_for(attachment), quote=True)}{match.group(3)}"

    return _CID_SRC.sub(replace, body_html)


def inline_token(attachment_id: int) -> str:
    """Return a signed token that lets the sandboxed frame load attachment ATTACHMENT_ID without cookies.

    The frame has an opaque origin, so the browser sends no session cookie with its image requests.
    """
    return signing.TimestampSigner(salt=_INLINE_SALT).sign(str(attachment_id))


def inline_token_valid(token: str, attachment_id: int) -> bool:
    """Return whether TOKEN was issued for ATTACHMENT_ID within INLINE_MAX_AGE."""
    try:
        value = signing.TimestampSigner(salt=_INLINE_SALT).unsign(token, max_age=INLINE_MAX_AGE)
    except signing.BadSignature:
        return False
    return value == str(attachment_id)
