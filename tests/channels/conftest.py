"""Fixtures of the channel tests: a clean cache (the web form's rate limit lives there) and form topics."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache

from tiski.cases.models import Category


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def categories(db):  # type: ignore[no-untyped-def]
    return {
        "orders": Category.objects.create(name="Orders", name_fi="Tilaukset", position=1),
        "returns": Category.objects.create(name="Returns", name_fi="Palautukset", position=2),
        "internal": Category.objects.create(name="Internal audit", public=False, position=3),
    }
