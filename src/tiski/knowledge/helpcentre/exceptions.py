"""What can go wrong when sharing articles outside Tiski."""

from __future__ import annotations


class ShareLinkError(Exception):
    """Base of the share-link errors."""


class ShareNotAllowedError(ShareLinkError):
    """The user may not share (or revoke a share of) this article."""


class ShareLinkNotFoundError(ShareLinkError):
    """No share link has this token."""


class ShareLinkGoneError(ShareLinkError):
    """The link existed but may no longer be used; ``reason`` is "expired", "revoked" or "unpublished"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
