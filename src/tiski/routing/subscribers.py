"""How routing hears of the rest of Tiski: new contacts become work items, replies and status changes finish them."""

from __future__ import annotations


def connect() -> None:
    """Subscribe routing to the domain events (called once from the app's ready())."""
