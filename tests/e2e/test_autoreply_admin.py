"""The automatic replies in the admin, as an administrator sees them: the list (with on/off in it) and one reply's
texts with the placeholders explained, in English and Finnish, at 1440 and 1024 wide."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.test_screenshots import ARTIFACTS, console_in
from tiski.sla.models import AutoReply

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1440, 1024])
@pytest.mark.parametrize("language", ["en", "fi"])
def test_automatic_replies_in_the_admin(
    live_server: Any, browser: Browser, administrator: Any, language: str, width: int
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context, page = console_in(browser, live_server.url, language=language, width=width, height=900, username="admin")
    try:
        page.goto(f"{live_server.url}/admin/sla/autoreply/")
        expect(page.locator("#result_list tbody tr")).to_have_count(AutoReply.objects.count())
        expect(page.locator("h1")).to_contain_text("automatic reply" if language == "en" else "automaattinen vastaus")
        page.screenshot(path=ARTIFACTS / f"admin-autoreplies-{language}-{width}.png", full_page=True)
        reply = AutoReply.objects.get(channel_kind="email", language=language, channel=None)
        page.goto(f"{live_server.url}/admin/sla/autoreply/{reply.pk}/change/")
        expect(page.locator("#id_text_open")).to_have_value(reply.text_open)
        expect(page.locator(".help").first).to_be_visible()
        expect(page.get_by_text("{{ case.reference }}").first).to_be_visible()
        page.screenshot(path=ARTIFACTS / f"admin-autoreply-{language}-{width}.png", full_page=True)
    finally:
        context.close()
