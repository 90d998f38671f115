"""Two-factor in a real browser: set it up from the console, log out, log in with the password and a code."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Browser, Page

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"


def app_code(user: User, *, steps_ahead: int = 0) -> str:
    """Return the code the user's authenticator app would show."""
    device = TOTPDevice.objects.get(user=user)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():06d}"


def password_step(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("button[type=submit].btn--primary").click()


def test_set_up_two_factor_and_log_in_with_a_code(browser: Browser, live_server, agent: User) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB")
    page = context.new_page()
    base = live_server.url
    password_step(page, base, agent.username)
    page.wait_for_url("**/console/")

    page.goto(f"{base}/console/account/two-factor/")
    assert page.locator(".tf-qr svg").is_visible()
    secret = page.get_by_test_id("totp-secret").inner_text().replace(" ", "")
    assert len(secret) == 32
    page.screenshot(path=ARTIFACTS / "account-two-factor-setup-en.png", full_page=True)
    page.locator("input[name=code]").fill(app_code(agent))
    page.get_by_role("button", name="Turn on").click()
    codes = page.locator(".tf-codes li")
    codes.first.wait_for()
    assert codes.count() == 10
    page.screenshot(path=ARTIFACTS / "account-two-factor-on-en.png", full_page=True)

    page.locator(".nav__logout").click()
    page.wait_for_url("**/login/")
    password_step(page, base, agent.username)
    page.wait_for_url("**/login/two-factor/")
    page.locator("input[name=code]").fill("000000" if app_code(agent, steps_ahead=1) != "000000" else "111111")
    page.get_by_role("button", name="Verify").click()
    assert page.get_by_role("alert").inner_text().startswith("The code is wrong")
    page.screenshot(path=ARTIFACTS / "login-two-factor-en.png", full_page=True)
    time.sleep(1.1)  # django-otp's pause after a wrong code
    page.locator("input[name=code]").fill(app_code(agent, steps_ahead=1))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url("**/console/")
    assert page.locator(".nav__name").inner_text() == agent.get_full_name()
    context.close()


def test_lockout_message_in_finnish_browser(browser: Browser, live_server, agent: User) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="fi-FI")
    page = context.new_page()
    for _ in range(5):
        page.goto(f"{live_server.url}/login/")
        page.locator("input[name=username]").fill(agent.username)
        page.locator("input[name=password]").fill("wrong")
        page.locator("button[type=submit].btn--primary").click()
        page.wait_for_load_state()

    alert = page.get_by_role("alert")
    assert alert.is_visible()
    assert page.locator("input[name=password]").is_visible()  # the login page, not a bare error page
    page.screenshot(path=ARTIFACTS / "login-locked-fi.png", full_page=True)
    context.close()


def test_the_console_warns_before_an_idle_session_ends(browser: Browser, live_server, agent: User, settings) -> None:  # type: ignore[no-untyped-def]
    settings.TISKI_SESSION_IDLE_MINUTES = 2  # the warning shows from two minutes before the end
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB")
    page = context.new_page()
    password_step(page, live_server.url, agent.username)
    page.wait_for_url("**/console/")

    warning = page.locator(".session-warning")
    warning.wait_for()
    assert "You will be logged out in 2 min" in warning.inner_text()
    page.screenshot(path=ARTIFACTS / "session-warning-en.png")
    with page.expect_response("**/console/account/session/") as answer:
        warning.get_by_role("button", name="Stay logged in").click()
    assert answer.value.status == 200 and answer.value.json()["idle_left"] > 110
    context.close()
