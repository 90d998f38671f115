"""Screenshots of the reports with the demo company's 60 days of data: the operations dashboard, the contact reasons,
an agent's report, one figure and an agent's own figures, in English and Finnish at 1440×900 (the dashboard also at
1024×768), into test-artifacts/console/. Nothing may be wider than the window; a chart's bar and its table's link
both open the cases behind them.

One live server, one data load, few page loads: the whole module is meant to stay within about 40 seconds.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.test_screenshots import ARTIFACTS, LANGUAGES
from tiski.core.demo import demo_load
from tiski.reports.facts import facts_rebuild

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _signed_in(browser: Browser, base: str, user: User, *, language: str) -> tuple[BrowserContext, Page]:
    """A 1440×900 browser in LANGUAGE (Helsinki time) with USER's session: signed in without the login form, so
    the module stays fast (the login itself has its own tests)."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(
        viewport={"width": 1440, "height": 900}, locale=LANGUAGES[language], timezone_id="Europe/Helsinki"
    )
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": base,
            },
            {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": base},
        ]
    )
    return context, context.new_page()


def _fits(page: Page, name: str) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name}: the page is {overflow}px wider than the window"
    wide = page.evaluate(
        """() => [...document.querySelectorAll('.rp-body > *, .dash > *, .dash__live > *, .dash__side > *')]
             .filter(el => el.scrollWidth > el.clientWidth + 1)
             .map(el => el.className)"""
    )
    assert wide == [], f"{name}: parts wider than their place (cut off or scrolling): {wide}"


def _shoot(page: Page, url: str, name: str, *, charts: int = 0) -> None:
    page.goto(url)
    if charts:
        # Each chart is drawn, or says it has nothing to draw (late in the day an agent's period can be empty).
        expect(page.locator("figure[data-chart] :is(.uplot, .rchart__plot--empty)")).to_have_count(charts)
    page.screenshot(path=ARTIFACTS / f"{name}.png")
    _fits(page, name)


def _refresh_in_place(page: Page) -> None:
    """The dashboard's live part comes again (as its 30-second timer fetches it): nothing below it moves, the
    chart is drawn again, and the header's time is the new one."""
    before = page.locator(".dash__heat").bounding_box()
    page.evaluate("document.querySelector('#dash-updated').textContent = 'waiting'")
    page.evaluate(
        "htmx.ajax('GET', '/console/reports/live/', {source: '#dash-live', target: '#dash-live', swap: 'outerHTML'})"
    )
    expect(page.locator("#dash-updated")).not_to_have_text("waiting")
    expect(page.locator("#dash-live figure[data-chart] .uplot")).to_have_count(1)
    assert page.locator(".dash__heat").bounding_box() == before


def _click_bar(page: Page, figure: str) -> None:
    """Click the tallest bar of chart FIGURE (a CSS selector) where it is drawn."""
    x, y = page.locator(figure).evaluate(
        """fig => {
             const u = fig._chart, values = u.data[1];
             const i = values.indexOf(Math.max(...values.map(v => v ?? 0)));
             const box = u.over.getBoundingClientRect();
             return [box.left + u.valToPos(u.data[0][i], 'x'), box.top + u.valToPos(values[i] / 2, 'y')];
           }"""
    )
    page.mouse.click(x, y)


def test_screenshots_of_the_reports(browser: Browser, live_server: Any) -> None:
    demo_load()
    facts_rebuild()
    minna, maija = User.objects.get(username="minna"), User.objects.get(username="maija")  # a team lead, an agent
    base = live_server.url
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for language in ("en", "fi"):
        context, page = _signed_in(browser, base, minna, language=language)
        reports = f"{base}/console/reports"
        _shoot(page, f"{reports}/", f"reports-dashboard-{language}-1440", charts=1)
        if language == "en":
            _refresh_in_place(page)
        _shoot(page, f"{reports}/reasons/", f"reports-reasons-{language}-1440")
        _shoot(page, f"{reports}/agents/{maija.pk}/", f"reports-agent-{language}-1440", charts=4)
        _shoot(page, f"{reports}/figures/first_response/?by=day", f"reports-figure-{language}-1440", charts=1)
        if language == "en":
            # The figure's table link opens the cases behind its row.
            page.locator("[data-chart-table]").click()
            link = page.locator(".rchart__table tbody a").first
            expect(link).to_be_visible()
            link.click()
            page.wait_for_url(re.compile(r".*/console/reports/cases/\?.*date=first_response.*"))
            expect(page.locator(".rp-cases tbody tr").first).to_be_visible()
            _fits(page, "cases en")
            page.screenshot(path=ARTIFACTS / "reports-cases-en-1440.png")
        page.set_viewport_size({"width": 1024, "height": 768})
        _shoot(page, f"{reports}/", f"reports-dashboard-{language}-1024", charts=1)
        if language == "fi":  # the widest table, in the longer language
            _shoot(page, f"{reports}/agents/", "reports-agents-fi-1024")
        context.close()

        context, page = _signed_in(browser, base, maija, language=language)
        _shoot(page, f"{reports}/me/", f"reports-me-{language}-1440", charts=4)
        if language == "fi":
            # A bar of the agent's own chart opens their own cases of that day.
            _click_bar(page, "figure[data-chart][data-series='contacts']")
            page.wait_for_url(re.compile(rf".*/console/reports/cases/\?.*agent={maija.pk}.*day=.*"))
            rows = page.locator(".rp-cases tbody tr")
            expect(rows.first).to_be_visible()
            assert page.locator(".rp-about__count").inner_text().split()[0].isdigit()
        context.close()
    assert len(list(ARTIFACTS.glob("reports-*.png"))) >= 13
