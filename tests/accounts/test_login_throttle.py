"""Login throttling: a username tried from one address is locked out after repeated failures."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone

from tests.conftest import PASSWORD
from tiski.accounts.services import api_token_issue
from tiski.accounts.token_scopes import CASES_READ

pytestmark = pytest.mark.django_db


def attempt(client: Client, username: str, password: str, **extra: Any):  # type: ignore[no-untyped-def]
    return client.post("/login/", {"username": username, "password": password}, **extra)


def fail_five_times(client: Client, username: str) -> None:
    for number in range(5):
        response = attempt(client, username, "wrong password")
        if number < 4:
            assert response.status_code == 200
            assert "The username or password is wrong" in response.content.decode()
    assert response.status_code == 429


def test_five_failures_lock_the_username_from_that_address_with_a_clear_message(client, agent):
    fail_five_times(client, agent.username)

    response = attempt(client, agent.username, PASSWORD)  # even the right password now

    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed attempts" in page and "15 minutes" in page
    assert '<form method="post" action="/login/">' in page  # the login page itself, not a bare error
    assert "_auth_user_id" not in client.session


def test_lockout_is_per_username_and_address(client, agent, other_agent):
    fail_five_times(client, agent.username)

    assert attempt(client, other_agent.username, PASSWORD).status_code == 302  # another user from here
    elsewhere = Client(REMOTE_ADDR="192.0.2.44")
    assert attempt(elsewhere, agent.username, PASSWORD).status_code == 302  # the user from elsewhere


def test_lockout_ends_after_the_window(client, agent):
    fail_five_times(client, agent.username)
    assert attempt(client, agent.username, PASSWORD).status_code == 429

    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))

    assert attempt(client, agent.username, PASSWORD).status_code == 302
    assert int(client.session["_auth_user_id"]) == agent.pk


def test_a_successful_login_resets_the_count(client, agent):
    for _ in range(4):
        attempt(client, agent.username, "wrong password")
    assert attempt(client, agent.username, PASSWORD).status_code == 302
    client.logout()

    for _ in range(4):
        assert attempt(client, agent.username, "wrong password").status_code == 200
    assert attempt(client, agent.username, PASSWORD).status_code == 302


def test_limits_come_from_settings(client, agent, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=3)
    attempt(client, agent.username, "wrong")
    response = attempt(client, agent.username, "wrong")

    assert response.status_code == 429
    assert "3 minutes" in response.content.decode()


def test_the_client_address_is_read_through_trusted_proxies(agent, settings):
    settings.TISKI_TRUSTED_PROXIES = ["10.0.0.1"]
    via_proxy = Client(REMOTE_ADDR="10.0.0.1")

    for _ in range(5):
        response = attempt(via_proxy, agent.username, "wrong", HTTP_X_FORWARDED_FOR="198.51.100.7")

    assert response.status_code == 429
    assert AccessAttempt.objects.get().ip_address == "198.51.100.7"
    another_client = attempt(via_proxy, agent.username, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.8")
    assert another_client.status_code == 302


def test_api_tokens_are_not_throttled(client, agent):
    issued = api_token_issue(user=agent, name="script", scopes=[CASES_READ])
    fail_five_times(client, agent.username)

    response = Client().get("/api/v1/cases", HTTP_AUTHORIZATION=f"Bearer {issued.raw}")

    assert response.status_code == 200
