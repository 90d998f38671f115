"""Serving stored files that came from outside (customers' attachments, inbound mail) without risk.

A file's content type was chosen by whoever sent it, so a file is shown in the browser only when it is a
raster image or a PDF, under that exact type; anything else (HTML, SVG, XML, scripts, unknown types) is a
download. Every answer forbids content sniffing and runs in a sandbox without scripts, and names the file in
Content-Disposition the RFC 6266 way (FileResponse encodes non-ASCII names as filename*=utf-8'').
"""

from __future__ import annotations

from typing import IO

from django.core.files import File
from django.http import FileResponse

INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"})
FILE_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
PDF_CSP = "default-src 'none'; style-src 'unsafe-inline'; object-src 'self'; frame-ancestors 'self'"  # viewer


def media_type(content_type: str) -> str:
    """Return the bare, lower-case media type of a Content-Type value ("image/png; x=y" → "image/png")."""
    return content_type.split(";", 1)[0].strip().lower()


def shown_inline(content_type: str) -> bool:
    """Return whether a file of CONTENT_TYPE may be shown in the browser rather than downloaded."""
    return media_type(content_type) in INLINE_TYPES


def file_response(*, file: IO[bytes] | File, filename: str, content_type: str, inline: bool = False) -> FileResponse:
    """Return FILE as a download named FILENAME, or shown in the browser when INLINE and its type allows it."""
    kind = media_type(content_type)
    show = inline and kind in INLINE_TYPES
    if not show and ("/" not in kind or _active(kind)):
        kind = "application/octet-stream"
    response = FileResponse(file, as_attachment=not show, filename=filename, content_type=kind)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = PDF_CSP if show and kind == "application/pdf" else FILE_CSP
    return response


def _active(kind: str) -> bool:
    """Return whether a browser would run or render markup in KIND (HTML, SVG, XML, JavaScript)."""
    return (
        kind in ("text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml")
        or kind.endswith(("+xml", "javascript", "ecmascript"))
        or kind == "multipart/x-mixed-replace"
    )
