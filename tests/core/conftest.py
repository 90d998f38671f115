"""Fixtures for the command-line tests: a fresh data directory and a runner for `tiski` in it."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.core.processes import tiski_command, tiski_env


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A fresh data directory (short path under /tmp, removed afterwards)."""
    path = Path(tempfile.mkdtemp(prefix="tiski-core-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def tiski(data_dir: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `tiski --data-dir DATA_DIR ARGS…` to completion and return the result."""

    def run(*args: str, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            tiski_command("--data-dir", str(data_dir), *args),
            env=env or tiski_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"tiski {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    return run
