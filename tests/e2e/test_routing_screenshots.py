"""Screenshots of routing in the agent's console at 1440×900 and 1024×768, in English and Finnish.

An offer arriving (toast) beside "My work" in the nav, the presence menu, a case with its work state and the
transfer form, and a case waiting in a queue — on the demo data, served by the real ASGI server with the
router running (tests/e2e/live_asgi.py). Each page is checked for horizontal overflow as well.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from tests.e2e.demo_data import demo_fill
from tests.e2e.live_asgi import live_asgi  # noqa: F401  (the fixture)
from tests.e2e.test_screenshots import ARTIFACTS, LANGUAGES, console_in, shots, sizes
from tiski.cases.models import Case
from tiski.routing.models import AgentSkill, Queue, Skill, WorkItem
from tiski.routing.services import agent_state, work_enqueue, work_transfer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _fits(page: Page, name: str) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name}: the page is {overflow}px wider than the window"


def _item(case: Case, queue: Queue | None = None) -> WorkItem:
    """Return CASE's active work item; with QUEUE, queue new work on it if it has none (answered already)."""
    item = WorkItem.objects.filter(case=case, status__in=WorkItem.ACTIVE).first()
    if item is None and queue is not None:
        item = work_enqueue(case=case, queue=queue, channel_kind=case.channel.kind if case.channel else "email")
    assert item is not None
    return item


def test_screenshots_of_routing_in_the_console(
    browser: Browser,
    live_asgi: str,  # noqa: F811
    agent: User,
    other_agent: User,
    team_lead: User,
    administrator: User,
    webform_channel,  # type: ignore[no-untyped-def]
    run_tasks: Callable[[], None],
) -> None:
    demo = demo_fill(agent=agent, other_agent=other_agent, team_lead=team_lead, administrator=administrator)
    incidents = Queue.objects.create(name="Incidents", name_fi="Häiriöt", priority=9, offer_timeout=3600)
    support = Queue.objects.create(name="Orders", name_fi="Tilaukset", priority=5, offer_timeout=3600)
    billing = Queue.objects.create(name="Billing", name_fi="Laskutus", priority=4, offer_timeout=3600)
    english = Skill.objects.create(name="English", name_fi="Englanti", kind=Skill.Kind.LANGUAGE, language="en")
    finnish = Skill.objects.get_or_create(language="fi", defaults={"name": "Finnish", "name_fi": "suomi"})[0]
    state = agent_state(agent)
    state.queues.set([incidents, support])
    AgentSkill.objects.create(user=agent, skill=english, level=9)
    AgentSkill.objects.create(user=agent, skill=finnish, level=10)
    agent_state(other_agent).queues.set([support, billing])
    agent_state(team_lead).queues.set([incidents, support])

    # Maija holds the main case and one more; a third waits to be offered to her; a fourth waits in a queue
    # she does not serve.
    cases = list(Case.objects.exclude(pk=demo.main.pk).filter(work_items__status="queued").distinct().order_by("pk"))
    held, offered, waiting = cases[0], cases[1], cases[2]
    for case in (demo.main, held):
        work_transfer(item=_item(case, support), actor=administrator, agent=agent, note="")
    work_transfer(item=_item(offered), actor=administrator, queue=incidents, note="")
    work_transfer(item=_item(waiting), actor=administrator, queue=billing, note="")  # Matti's, who is away

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for language in LANGUAGES:
        for width, height in sizes(language):
            suffix = f"{language}-{width}"
            context, page = console_in(browser, live_asgi, language=language, width=width, height=height, choose=False)
            page.wait_for_selector("body[data-live=on]")
            offer = page.locator(f"#offer-{_item(offered).pk}")
            expect(offer).to_be_visible(timeout=15_000)  # the router offers it once Maija is online
            expect(page.locator("#my-work .my-work__link")).to_have_count(2)
            _fits(page, f"offer {suffix}")
            page.screenshot(path=ARTIFACTS / f"routing-offer-{suffix}.png")

            page.locator("#presence summary").click()
            expect(page.locator(".presence__options")).to_be_visible()
            page.screenshot(path=ARTIFACTS / f"routing-presence-{suffix}.png")
            page.keyboard.press("Escape")

            page.goto(f"{live_asgi}/console/cases/{demo.main.reference}/")
            expect(page.locator("#case-work")).to_be_visible()
            page.locator(".transfer:not(.macro-menu) summary").click()
            expect(page.locator("form.transfer__panel")).to_be_visible()
            _fits(page, f"case {suffix}")
            page.screenshot(path=ARTIFACTS / f"routing-case-{suffix}.png")

            page.goto(f"{live_asgi}/console/cases/{waiting.reference}/")
            expect(page.locator("#case-work")).to_contain_text(billing.label(language))
            page.screenshot(path=ARTIFACTS / f"routing-case-waiting-{suffix}.png")
            context.close()
    assert len(list(Path(ARTIFACTS).glob("routing-*.png"))) >= 4 * shots()
