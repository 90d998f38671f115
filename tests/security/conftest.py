"""Security tests: fixtures shared by the header, limit and file tests."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.conftest import PASSWORD


def rates(settings: Any, **overrides: str) -> None:
    """Set the named rates ("count/seconds") for this test, the others as configured."""
    settings.TISKI_RATES = {**settings.TISKI_RATES, **overrides}


@pytest.fixture
def agent_client(agent: Any) -> Client:
    client = Client()
    assert client.login(username=agent.username, password=PASSWORD)
    return client
