"""Screenshots of what a partner agent sees: the inbox and the reduced customer page, English at 1440 and Finnish
at 1024, into test-artifacts/console/ (with the overflow check of the console's other screenshots)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from tests.access.partner_world import World
from tests.e2e.conftest import browser_type_launch_args  # noqa: F401  (the system Chromium, as in tests/e2e)
from tests.e2e.test_screenshots import ARTIFACTS, LANGUAGES, _assert_fits, console_in, sizes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_screenshots_of_the_partner_agents_inbox_and_customer_page(
    browser: Browser,
    live_server,  # type: ignore[no-untyped-def]
    world: World,
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base = live_server.url
    pages = {"partner-inbox": "/console/", "partner-customer": f"/console/customers/{world.anssi.pk}/"}
    for language in LANGUAGES:
        for width, height in sizes(language):
            context, page = console_in(browser, base, language=language, width=width, height=height, username="sanna")
            for name, path in pages.items():
                page.goto(f"{base}{path}")
                page.wait_for_load_state("networkidle")
                html = page.content()
                for case in world.invisible:
                    assert case.reference not in html, name
                if name == "partner-customer":
                    assert "ORD-778" not in html and page.locator("[data-reduced]").count() == 1
                _assert_fits(page, f"{name} {language} {width}")
                page.screenshot(path=ARTIFACTS / f"{name}-{language}-{width}.png", full_page=True)
            context.close()
