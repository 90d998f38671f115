"""The one rule of list conditions in routing rules and service-level policies: an empty list allows anything."""

from __future__ import annotations

from collections.abc import Collection


def allows(choices: Collection[object], value: object) -> bool:
    """Return whether a condition listing CHOICES holds for VALUE (an empty list is no condition)."""
    return not choices or value in choices
