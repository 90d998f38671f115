"""The knowledge tests' shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    """Rate limits and remembered answers live in the cache: each test starts without them."""
    cache.clear()
    yield
    cache.clear()
