"""Times given to the API: ISO 8601, read as UTC when they carry no offset."""

from __future__ import annotations

from datetime import UTC, datetime


def aware(value: datetime) -> datetime:
    """Return VALUE with a time zone, taking a naive time as UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
