"""Property-based tests (hypothesis) and API fuzzing (schemathesis).

Two hypothesis profiles, chosen by TISKI_HYPOTHESIS_PROFILE: "ci" (the default: few examples, derandomized so a
run is repeatable, no deadline because the machine is shared) and "thorough" (many examples, random: run it by
hand or nightly, e.g. ``TISKI_HYPOTHESIS_PROFILE=thorough pytest tests/fuzz``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, settings

from tiski.channels.models import Channel, ChannelKind

_CHECKS = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large]
settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True, suppress_health_check=_CHECKS)
settings.register_profile("thorough", max_examples=2000, deadline=None, suppress_health_check=_CHECKS, print_blob=True)
settings.load_profile(os.environ.get("TISKI_HYPOTHESIS_PROFILE", "ci"))

SHARED = Path(os.environ.get("TISKI_SHARED_DIR", Path(__file__).resolve().parents[3] / "shared"))
EXTERNAL = SHARED / "corpus" / "external"


def seed_mails(limit: int = 60) -> list[bytes]:
    """Return raw mails of the shared external corpus (empty when it is not beside the checkout)."""
    if not EXTERNAL.is_dir():
        return []
    paths = sorted(p for p in EXTERNAL.rglob("*.eml") if p.is_file())
    return [p.read_bytes() for p in paths[:limit]]


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def mailbox(db):  # type: ignore[no-untyped-def]
    return Channel.objects.create(kind=ChannelKind.EMAIL, name="Support", address="tuki@pyora.example")
