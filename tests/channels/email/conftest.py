from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("TISKI_SHARED_DIR", Path(__file__).resolve().parents[4] / "shared"))
CORPUS = SHARED / "corpus"


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared test corpus (../shared/corpus beside the checkout, as in CI)."""
    if not CORPUS.is_dir():
        pytest.skip(f"the shared mail corpus is not at {CORPUS} (set TISKI_SHARED_DIR)")
    return CORPUS
