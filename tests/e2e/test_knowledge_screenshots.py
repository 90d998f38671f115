"""Screenshots of the knowledge base in the console, in English and Finnish: the article list with a search,
and an article page with its language tabs, status actions and a diff between two versions."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, expect

from tests.e2e.live_asgi import live_asgi  # noqa: F401  (the fixture)
from tests.e2e.test_screenshots import ARTIFACTS, LANGUAGES, console_in
from tiski.knowledge.demo import DEMO_AUTHORS, DEMO_REVIEWER, demo_knowledge_create
from tiski.knowledge.models import ArticleTranslation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_screenshots_of_the_knowledge_base(
    browser: Browser,
    live_asgi: str,  # noqa: F811
    agent: User,
    team_lead: User,
) -> None:
    users = dict.fromkeys(DEMO_AUTHORS, agent) | {DEMO_REVIEWER: team_lead}
    assert demo_knowledge_create(users=users, case_categories={}) > 40
    edited = ArticleTranslation.objects.get(language="en", slug="invoice-payment-time-and-moving-the-due-date")
    assert edited.version == 2
    for language in LANGUAGES:
        for width, height in [(1440, 900), (1024, 768)] if language == "fi" else [(1440, 900)]:
            suffix = f"{language}-{width}"
            context, page = console_in(
                browser, live_asgi, language=language, width=width, height=height, username="minna"
            )
            page.goto(f"{live_asgi}/console/knowledge/")
            expect(page.locator(".kbc-table tbody tr").first).to_be_visible()
            page.screenshot(path=ARTIFACTS / f"knowledge-list-{suffix}.png")
            query = "laskun eräpäivä" if language == "fi" else "invoices due"
            page.locator("#kb-q").fill(query)
            page.locator("#kb-q").press("Enter")
            expect(page.locator(".kbc-snippet mark").first).to_be_visible()
            page.screenshot(path=ARTIFACTS / f"knowledge-search-{suffix}.png")

            page.goto(f"{live_asgi}/console/knowledge/{edited.article_id}/?lang=en&compare=1&to=2")
            expect(page.locator(".kbc-diff ins").first).to_be_visible()
            expect(page.locator(".kbc-state__actions button")).not_to_have_count(0)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"article {suffix}: {overflow}px too wide"
            page.screenshot(path=ARTIFACTS / f"knowledge-article-diff-{suffix}.png")
            page.locator(".kbc-history").scroll_into_view_if_needed()
            page.screenshot(path=ARTIFACTS / f"knowledge-article-history-{suffix}.png")
            context.close()
