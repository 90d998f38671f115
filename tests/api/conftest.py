"""Fixtures for the API tests: tokens per role and a JSON client."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tiski.accounts.services import api_token_issue
from tiski.accounts.token_scopes import ALL_SCOPES


class Api:
    """A test client that speaks JSON with a bearer token."""

    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.token = token

    def _headers(self) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str, data: dict[str, Any] | None = None) -> Any:
        return self.client.get(f"/api/v1{path}", data or {}, **self._headers())

    def post(self, path: str, body: Any = None, *, raw: bytes | str | None = None) -> Any:
        content = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.post(f"/api/v1{path}", content, content_type="application/json", **self._headers())

    def patch(self, path: str, body: Any = None, *, raw: bytes | str | None = None) -> Any:
        content = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.patch(f"/api/v1{path}", content, content_type="application/json", **self._headers())

    def put(self, path: str, body: Any = None) -> Any:
        content = json.dumps(body if body is not None else {})
        return self.client.put(f"/api/v1{path}", content, content_type="application/json", **self._headers())

    def delete(self, path: str) -> Any:
        return self.client.delete(f"/api/v1{path}", **self._headers())


def token_for(user: User, scopes: tuple[str, ...] = ALL_SCOPES) -> str:
    """Return a raw token for USER with SCOPES (every scope unless told)."""
    return api_token_issue(user=user, name="tests", scopes=scopes).raw


@pytest.fixture
def api(agent: User) -> Api:
    """The API as the agent Maija."""
    return Api(token_for(agent))


@pytest.fixture
def lead_api(team_lead: User) -> Api:
    return Api(token_for(team_lead))


@pytest.fixture
def admin_api(administrator: User) -> Api:
    return Api(token_for(administrator))


@pytest.fixture
def nobody(db: None) -> User:
    """An active user with no role: a token, but no permissions."""
    return User.objects.create_user(username="nobody", password="x")


@pytest.fixture
def nobody_api(nobody: User) -> Api:
    return Api(token_for(nobody))


@pytest.fixture
def anonymous(db: None) -> Api:
    return Api(None)
