"""In the system Chromium, the console, the chat widget, the help centre and the API docs run without any Content
Security Policy violation: no inline script or handler, no eval, nothing from another origin is blocked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from tests.conftest import PASSWORD
from tests.e2e.conftest import browser_type_launch_args  # noqa: F401  (the system Chromium)
from tests.e2e.live_asgi import live_asgi  # noqa: F401  (the fixture)
from tests.knowledge.helpcentre_data import article_make, category_make
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.services import Receipt

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REPORT = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline") +
                " at " + e.sourceFile + ":" + e.lineNumber);
});
"""


def watched(browser: Browser) -> tuple[Page, list[str]]:
    """Return a page that records every CSP violation and every console message about the policy."""
    page = browser.new_context(viewport={"width": 1200, "height": 800}, locale="en-GB").new_page()
    page.add_init_script(REPORT)
    problems: list[str] = []

    def on_console(message: Any) -> None:
        text = message.text
        if "Content Security Policy" in text or "CSP violation" in text or "EvalError" in text:
            problems.append(f"{page.url}: {text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"{page.url}: page error {error}"))
    return page, problems


def test_console_chat_widget_and_help_centre_run_without_csp_violations(
    live_asgi: str,  # noqa: F811
    browser: Browser,
    agent: User,
    receive: Callable[..., Receipt],
) -> None:
    case = receive(subject="Shirt size", body="Which size fits me?").case
    chat = Channel.objects.create(kind=ChannelKind.CHAT, name="Shop chat", config={})
    returns = category_make("returns", "Returns", "Palautukset", description="Returning products")
    article_make(category=returns, versions={"en": ("Returning a product", "Return within 30 days.")}, views=3)
    page, problems = watched(browser)

    page.goto(f"{live_asgi}/login/")
    page.get_by_label("Username").fill(agent.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    page.get_by_role("link", name=f"{case.reference} Shirt size").click()
    expect(page.get_by_text("Which size fits me?")).to_be_visible()
    page.keyboard.press("?")  # the shortcuts dialog: console.js at work
    page.keyboard.press("Escape")
    page.wait_for_timeout(500)

    page.goto(f"{live_asgi}/chat/demo/?lang=en&channel={chat.pk}")
    page.get_by_role("button", name="Chat with us").click()
    page.wait_for_timeout(1000)

    page.goto(f"{live_asgi}/help/en/")
    page.get_by_role("link", name="Returning a product").first.click()
    expect(page.get_by_role("heading", name="Returning a product")).to_be_visible()
    page.goto(f"{live_asgi}/help/en/search/?q=return")
    page.wait_for_timeout(500)

    page.goto(f"{live_asgi}/api/v1/docs")  # Swagger UI, served locally
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Tiski API")

    assert problems == []


def test_the_watch_sees_a_violation(live_asgi: str, browser: Browser) -> None:  # noqa: F811
    """The check above can fail: an inline script on a Tiski page is reported."""
    page, problems = watched(browser)
    page.goto(f"{live_asgi}/help/en/")
    page.evaluate("() => { const s = document.createElement('script'); s.textContent = '1'; document.body.append(s); }")
    page.wait_for_timeout(300)
    assert any("script-src" in problem for problem in problems)
