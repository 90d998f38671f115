"""The issue's browser test: work is pushed, live, to the right free agent, and the supervisor sees it happen.

Two agents are online in two browser contexts (Maija, English 9; Minna, English 3), both serving the Support
queue; a supervisor watches the supervisor view in a third. An English email arrives through the real inbound
pipeline; the router running inside the real ASGI server (tests/e2e/live_asgi.py) offers it to Maija, whose
console shows it over its WebSocket without a reload, while Minna's shows nothing. Maija accepts and the
supervisor's view shows her holding the case. A declined offer moves on to Minna, live as well.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.conftest import PASSWORD
from tests.e2e.live_asgi import live_asgi  # noqa: F401  (the fixture)
from tiski.cases.models import Case
from tiski.channels.interface import InboundMessage
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.services import message_receive
from tiski.customers.services import Handle
from tiski.routing.models import AgentSkill, Queue, RoutingRule, Skill, WorkItem
from tiski.routing.services import agent_state

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIVE_TIMEOUT_MS = 15_000  # from the email's commit to the offer on screen: well under a second when idle
ENGLISH_EMAIL = (
    "Hello, I ordered a pair of running shoes two weeks ago and they have still not arrived. "
    "Could you please check where my order is and when I can expect it? Thank you."
)


@dataclass
class Desk:
    """One person's browser: their context and their console page."""

    context: BrowserContext
    page: Page


@pytest.fixture
def support(agent: User, team_lead: User) -> tuple[Queue, Channel]:
    """The Support queue for English email, served by Maija (English 9) and Minna (English 3)."""
    queue = Queue.objects.create(name="Support", priority=5, offer_timeout=300, fallback_after=0)
    english = Skill.objects.create(name="English", name_fi="Englanti", kind=Skill.Kind.LANGUAGE, language="en")
    RoutingRule.objects.create(name="English email", channel_kinds=["email"], languages=["en"], queue=queue)
    for user, level in ((agent, 9), (team_lead, 3)):
        agent_state(user).queues.set([queue])
        AgentSkill.objects.create(user=user, skill=english, level=level)
    mailbox = Channel.objects.create(kind=ChannelKind.EMAIL, name="Support mailbox", address="support@shop.example")
    return queue, mailbox


@pytest.fixture
def desks(browser: Browser, live_asgi: str) -> Iterator[Callable[[str, str], Desk]]:  # noqa: F811
    """desks(username, path) → that user logged in through the login page, on PATH, with the live connection up."""
    opened: list[BrowserContext] = []

    def open_desk(username: str, path: str) -> Desk:
        context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB")
        opened.append(context)
        page = context.new_page()
        page.goto(f"{live_asgi}/login/")
        page.locator("input[name=username]").fill(username)
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("button[type=submit].btn--primary").click()
        page.wait_for_url("**/console/")
        if path != "/console/":
            page.goto(f"{live_asgi}{path}")
        page.wait_for_selector("body[data-live=on]", timeout=LIVE_TIMEOUT_MS)
        page.evaluate("window.tiskiSamePage = true")  # gone if the page reloads or navigates
        return Desk(context, page)

    yield open_desk
    for context in opened:
        context.close()


def _email_arrives(mailbox: Channel, subject: str = "My order has not arrived") -> Case:
    receipt = message_receive(
        inbound=InboundMessage(
            channel=mailbox,
            handles=[Handle("email", "liisa.laine@example.com")],
            sender_name="Liisa Laine",
            subject=subject,
            body_text=ENGLISH_EMAIL,
        )
    )
    return receipt.case


def _same_page(desk: Desk) -> bool:
    return bool(desk.page.evaluate("window.tiskiSamePage === true"))


def _agent_row(page: Page, name: str) -> Locator:
    return page.locator("#sv-agents tr", has=page.locator("th.sv-agent-name", has_text=name))


def test_an_english_email_is_pushed_live_to_the_better_english_speaker_and_the_supervisor_sees_it(
    desks: Callable[[str, str], Desk],
    support: tuple[Queue, Channel],
    agent: User,
    team_lead: User,
    administrator: User,
) -> None:
    _queue, mailbox = support
    maija = desks("maija", "/console/")
    minna = desks("minna", "/console/")
    supervisor = desks("admin", "/console/supervisor/")

    case = _email_arrives(mailbox)

    offer = maija.page.locator("#offers .offer", has_text="My order has not arrived")
    expect(offer).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    expect(offer).to_contain_text("Liisa Laine")
    expect(offer).to_contain_text("Support")
    expect(offer).to_contain_text("English ≥ 1")
    expect(offer.locator("time[data-countdown]")).to_have_text(re.compile(r"^\d+:\d\d$"))
    assert _same_page(maija), "the offer came with a reload"
    item = WorkItem.objects.get(case=case)
    assert item.status == WorkItem.Status.OFFERED and item.agent == agent
    expect(minna.page.locator("#offers .offer")).to_have_count(0)
    assert _same_page(minna)

    row = _agent_row(supervisor.page, "Maija Mäkinen")
    expect(row.locator(".sv-item", has_text=case.reference)).to_be_visible(timeout=LIVE_TIMEOUT_MS)

    offer.get_by_role("button", name="Accept").click()
    maija.page.wait_for_url(f"**/console/cases/{case.reference}/")
    expect(maija.page.locator("#case-work")).to_contain_text("Maija Mäkinen has it since")
    expect(maija.page.locator("#my-work")).to_contain_text(case.reference)
    item.refresh_from_db()
    assert item.status == WorkItem.Status.ASSIGNED
    assert Case.objects.get(pk=case.pk).owner == agent

    # The supervisor's page follows without a reload: Maija holds the case (no longer an offer), 10 % in use.
    expect(row.locator(".sv-item.is-offered")).to_have_count(0, timeout=LIVE_TIMEOUT_MS)
    expect(row.locator(".sv-item", has_text=case.reference)).to_be_visible()
    expect(row.locator(".sv-cap__text")).to_have_text("10 %")
    assert _same_page(supervisor), "the supervisor view reloaded"
    expect(_agent_row(supervisor.page, "Minna Korhonen").locator(".sv-item")).to_have_count(0)


def test_a_declined_offer_moves_on_to_the_next_agent_live(
    desks: Callable[[str, str], Desk], support: tuple[Queue, Channel], agent: User, team_lead: User
) -> None:
    _queue, mailbox = support
    maija = desks("maija", "/console/")
    minna = desks("minna", "/console/")

    case = _email_arrives(mailbox, subject="Wrong size delivered")

    mine = maija.page.locator("#offers .offer", has_text="Wrong size delivered")
    expect(mine).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    mine.get_by_role("button", name="Decline").click()
    expect(maija.page.locator("#offers .offer")).to_have_count(0, timeout=LIVE_TIMEOUT_MS)

    theirs = minna.page.locator("#offers .offer", has_text="Wrong size delivered")
    expect(theirs).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    assert _same_page(maija) and _same_page(minna), "a console reloaded"
    item = WorkItem.objects.get(case=case)
    assert item.status == WorkItem.Status.OFFERED and item.agent == team_lead
    assert agent.pk in item.declined
    expect(maija.page.locator("#offers .offer")).to_have_count(0)  # and it does not come back to her
