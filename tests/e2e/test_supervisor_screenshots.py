"""Screenshots of the supervisor view at 1440×900 and 1024×768, in English and Finnish, into test-artifacts/.

A realistic floor (agents in every presence holding work, queues with work near and past its target), the
overview, a drilled queue and the reassign and presence panels. Nothing may be cut off at 1024 px, and the
reassign panel's form really moves the work (htmx, without a reload).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from tests.conftest import PASSWORD
from tests.e2e.test_screenshots import shots, sizes
from tests.routing.test_selectors import supervisor_seed
from tiski.routing.models import AgentState, Presence, WorkItem

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
LANGUAGES = {"en": "en-GB", "fi": "fi-FI"}


def _login(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("button[type=submit].btn--primary").click()
    page.wait_for_url("**/console/")


def _assert_fits(page: Page, name: str) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name}: the page is {overflow}px wider than the window"
    clipped = page.evaluate(
        """() => [...document.querySelectorAll('.sv-table')]
             .filter(t => t.scrollWidth > t.parentElement.clientWidth + 1).map(t => t.className)"""
    )
    assert clipped == [], f"{name}: tables wider than their section: {clipped}"


def test_screenshots_of_the_supervisor_view(
    browser: Browser,
    live_server,  # type: ignore[no-untyped-def]
    team_lead: User,
) -> None:
    seed = supervisor_seed(agents=16, waiting=48)
    incidents = seed.queues[0]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base = live_server.url
    moved = False
    for language, locale in LANGUAGES.items():
        for width, height in sizes(language):
            suffix = f"{language}-{width}"
            context = browser.new_context(
                viewport={"width": width, "height": height}, locale=locale, timezone_id="Europe/Helsinki"
            )
            page = context.new_page()
            _login(page, base, team_lead.username)

            page.goto(f"{base}/console/supervisor/")
            expect(page.locator("#sv-agents tbody tr")).to_have_count(17)  # the seeded agents and the lead
            page.screenshot(path=ARTIFACTS / f"supervisor-{suffix}.png")
            _assert_fits(page, f"supervisor {suffix}")

            page.locator(f"#sv-presence-{seed.agents[4].pk}").click()  # an agent who is away
            page.locator(".sv-card").wait_for()
            page.screenshot(path=ARTIFACTS / f"supervisor-presence-{suffix}.png")
            page.keyboard.press("Escape")
            expect(page.locator(".sv-card")).to_have_count(0)

            page.goto(f"{base}/console/supervisor/queues/{incidents.pk}/")
            page.locator("#sv-items tbody tr").first.wait_for()
            page.screenshot(path=ARTIFACTS / f"supervisor-queue-{suffix}.png")
            _assert_fits(page, f"supervisor queue {suffix}")

            page.locator("#sv-items .sv-actions button").first.click()
            card = page.locator(".sv-card")
            card.wait_for()
            page.screenshot(path=ARTIFACTS / f"supervisor-reassign-{suffix}.png")
            if not moved:
                _reassign_first_item(page, seed.agents)
                moved = True
            context.close()
    assert len(list(ARTIFACTS.glob("supervisor-*.png"))) >= 4 * shots()


def _reassign_first_item(page: Page, agents: list[User]) -> None:
    """Hand the first waiting item to an agent with room through the panel; the table shows it at once."""
    option = page.locator(".sv-card select[name=target] option[value^='agent:']:not([disabled])").first
    value = option.get_attribute("value")
    assert value is not None
    agent_id = int(value.split(":")[1])
    page.locator(".sv-card select[name=target]").select_option(value)
    page.locator(".sv-card textarea[name=note]").fill("Asiakas odottaa jo, ota tämä seuraavaksi.")
    page.locator(".sv-card button[type=submit]").click()
    expect(page.locator("#sv-flash")).not_to_be_empty()
    expect(page.locator(".sv-card")).to_have_count(0)
    item = WorkItem.objects.filter(agent_id=agent_id, reason="transferred").get()
    assert item.status == WorkItem.Status.ASSIGNED
    name = next(a.get_full_name() for a in agents if a.pk == agent_id)
    expect(page.locator("#sv-items")).to_contain_text(name)
    assert AgentState.objects.get(user_id=agent_id).presence in Presence.values


def test_live_parts_swap_in_place_and_leave_an_open_panel_alone(
    browser: Browser,
    live_server,  # type: ignore[no-untyped-def]
    team_lead: User,
) -> None:
    """What the WebSocket pushes (supervisor_live_html) replaces the tables by id, as htmx's ws extension does,
    while the presence panel the supervisor is using stays open with its state."""
    from tiski.console.supervisor_views import supervisor_live_html
    from tiski.routing.services import presence_set

    seed = supervisor_seed(agents=6, waiting=8)
    watched, changed = seed.agents[0], seed.agents[1]
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB")
    page = context.new_page()
    _login(page, live_server.url, team_lead.username)
    page.goto(f"{live_server.url}/console/supervisor/")
    page.locator(f"#sv-presence-{watched.pk}").click()
    page.locator(".sv-card").wait_for()
    expect(page.locator(f"#sv-presence-{changed.pk}")).to_contain_text("Online")

    presence_set(user=changed, presence=Presence.AWAY, reason="manual")
    html = supervisor_live_html(team_lead, "supervisor", language="en")
    page.evaluate("html => htmx.swap(document.body, html, {swapStyle: 'none'})", html)

    expect(page.locator(f"#sv-presence-{changed.pk}")).to_contain_text("Away")
    expect(page.locator(".sv-card")).to_be_visible()
    expect(page.locator("#sv-summary")).to_have_count(1)
    expect(page.locator("#sv-agents table")).to_have_count(1)
    context.close()
