"""The API fuzzed against its own OpenAPI document (schemathesis), through WSGI on the test database.

Every operation, as an administrator: no 5xx, every status code documented, every response body as documented.
The number of examples per operation follows the hypothesis profile (ci: a few, derandomized).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import token_for

_DEFAULT = 4 if os.environ.get("TISKI_HYPOTHESIS_PROFILE", "ci") == "ci" else 100
EXAMPLES = int(os.environ.get("TISKI_FUZZ_API_EXAMPLES", _DEFAULT))  # per operation
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def token(administrator: User, receive, settings) -> str:  # type: ignore[no-untyped-def]
    """An administrator's token, a case to act on, and rate limits out of the way."""
    settings.TISKI_RATES = {**settings.TISKI_RATES, "api": "1000000/60"}
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost", "testserver"]
    receive()  # a customer, a case and a message for the operations that read them
    return token_for(administrator)  # every scope


def _operations() -> list[tuple[str, str]]:
    """Return (method, path) of every operation of the API, from the document django-ninja generates."""
    from tiski.api.api import api

    document = api.get_openapi_schema(path_prefix="/api/v1/")
    methods = {"get", "post", "put", "patch", "delete"}
    return sorted((method, path) for path, item in document["paths"].items() for method in item if method in methods)


@pytest.fixture
def api_schema(token: str) -> Iterator[Any]:
    """The API's document, loaded through WSGI; requests stay on the test's database connection.

    As Django's test client does, the connection is not closed at the end of each request (it holds the test's
    transaction; with PostgreSQL's pool it would be handed back mid-test).
    """
    from tiski.wsgi import application

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi(
            "/api/v1/openapi.json", application, headers={"Authorization": f"Bearer {token}"}
        )
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.django_db
def test_every_operation_answers_as_documented(api_schema: Any, token: str) -> None:
    """One test for all operations: the fixtures (users, tokens, a case) are made once, not per operation."""
    failures: list[str] = []
    for method, path in _operations():
        operation = api_schema[path][method.upper()]

        @given(case=operation.as_strategy())
        @hypothesis_settings(max_examples=EXAMPLES)
        def call(case: Any) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

        try:
            call()
        except Exception as error:  # every operation's failure is reported, not just the first
            failures.append(f"{method.upper()} {path}: {error}")
    assert not failures, "\n\n".join(failures)
