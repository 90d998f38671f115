"""Sign in through the login form (the real path, with the test client's address)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.conftest import PASSWORD


@pytest.fixture
def sign_in() -> Callable[[Client, User], None]:
    def login(client: Client, user: User) -> None:
        response = client.post("/login/", {"username": user.get_username(), "password": PASSWORD})
        assert response.status_code == 302, response.content.decode()[:500]

    return login
