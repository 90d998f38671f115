"""Session lifetime: idle and absolute expiry, background polling is not activity, the keep-alive."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from tests.conftest import PASSWORD
from tiski.accounts.session import SESSION_KEY

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged_in(client, agent) -> Client:  # type: ignore[no-untyped-def]
    assert client.post("/login/", {"username": agent.username, "password": PASSWORD}).status_code == 302
    return client


def shift(client: Client, **seconds_ago: float) -> None:
    """Move the session's login/seen times into the past."""
    session = client.session
    state = session[SESSION_KEY]
    for name, ago in seconds_ago.items():
        state[name] = time.time() - ago
    session[SESSION_KEY] = state
    session.save()


def test_login_starts_the_clock(logged_in):
    state = logged_in.session[SESSION_KEY]
    assert state["method"] == "password"
    assert abs(state["login_at"] - time.time()) < 5 and state["seen_at"] == state["login_at"]


def test_an_idle_session_ends(logged_in):
    shift(logged_in, seen_at=61 * 60)

    response = logged_in.get("/console/?owner=me")

    assert response.status_code == 302
    assert response["Location"] == "/login/?expired=1&next=/console/%3Fowner%3Dme"
    assert "_auth_user_id" not in logged_in.session
    assert "Your session ended" in logged_in.get(response["Location"]).content.decode()


def test_an_active_session_ends_after_its_lifetime(logged_in):
    shift(logged_in, login_at=12 * 3600 + 1, seen_at=10)

    assert logged_in.get("/console/").status_code == 302
    assert "_auth_user_id" not in logged_in.session


def test_within_both_limits_the_session_lives_and_activity_counts(logged_in):
    shift(logged_in, login_at=11 * 3600, seen_at=59 * 60)

    assert logged_in.get("/console/").status_code == 200

    assert time.time() - logged_in.session[SESSION_KEY]["seen_at"] < 5


def test_background_polling_is_not_activity(logged_in, settings):
    settings.TISKI_SESSION_IDLE_MINUTES = 30
    shift(logged_in, seen_at=29 * 60)

    polled = logged_in.get("/console/", HTTP_HX_REQUEST="true", HTTP_X_TISKI_BACKGROUND="1")

    assert polled.status_code == 200
    assert time.time() - logged_in.session[SESSION_KEY]["seen_at"] > 28 * 60
    shift(logged_in, seen_at=31 * 60)
    expired = logged_in.get("/console/", HTTP_HX_REQUEST="true", HTTP_X_TISKI_BACKGROUND="1")
    assert expired.status_code == 204 and expired["HX-Redirect"] == "/login/?expired=1"


def test_the_keepalive_counts_activity_and_reports_the_time_left(logged_in, settings):
    shift(logged_in, seen_at=50 * 60)

    response = logged_in.post("/console/account/session/")

    assert response.status_code == 200
    times = response.json()
    assert 59 * 60 < times["idle_left"] <= 60 * 60
    assert 11.9 * 3600 < times["absolute_left"] <= 12 * 3600
    settings.TISKI_SESSION_IDLE_MINUTES = 0  # idle timeout off: only the lifetime counts
    assert logged_in.post("/console/account/session/").json()["idle_left"] > 11 * 3600


def test_the_keepalive_after_expiry_says_so(logged_in):
    shift(logged_in, seen_at=2 * 3600)

    response = logged_in.post("/console/account/session/", HTTP_ACCEPT="application/json")

    assert response.status_code == 401 and response.json()["login_url"] == "/login/"
    assert "_auth_user_id" not in logged_in.session
    again = logged_in.post("/console/account/session/", HTTP_ACCEPT="application/json")
    assert again.status_code == 401


def test_console_pages_carry_the_session_watch(logged_in):
    page = logged_in.get("/console/").content.decode()

    assert 'src="/static/accounts/session.js"' in page
    assert 'data-keepalive-url="/console/account/session/"' in page
