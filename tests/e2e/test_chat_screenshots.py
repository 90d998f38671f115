"""Screenshots of chat in the agent's console at 1440×900 and 1024×768, in English and Finnish.

A live chat case (the customer's presence, "My chats" with unanswered counts, the Enter-to-send composer), the
canned-reply picker open in the composer, and a chat escalated to a call (the call panel above the chat). The
chats are made through the chat app's services and routed to Maija as real work; the pages are served by the
real ASGI server (tests/e2e/live_asgi.py). Each page is checked for horizontal overflow as well.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from tests.e2e.live_asgi import live_asgi  # noqa: F401  (the fixture)
from tests.e2e.test_screenshots import ARTIFACTS, LANGUAGES, console_in, shots, sizes
from tiski.cases.models import CannedReply, Case
from tiski.cases.services import case_call_escalate, message_reply
from tiski.channels.chat.services import chat_message_post, chat_session_start
from tiski.channels.models import Channel, ChannelKind
from tiski.customers.models import Identity
from tiski.routing.models import Queue, WorkItem
from tiski.routing.router import route_pending
from tiski.routing.services import agent_state, presence_set, work_accept

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _fits(page: Page, name: str) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name}: the page is {overflow}px wider than the window"


def _chat(channel: Channel, agent: User, name: str, email: str, lines: list[tuple[str, str]]) -> Case:
    """Start a chat as NAME, route it to AGENT, and play LINES: ("in", text) from the customer, ("out", text)
    from the agent."""
    session, _token = chat_session_start(channel=channel, language="fi", prechat={"name": name, "email": email})
    case = None
    for number, (direction, text) in enumerate(lines):
        if direction == "in":
            case = chat_message_post(session=session, client_id=f"c{number}", text=text).case
            if number == 0:
                route_pending()
                item = WorkItem.objects.get(case=case, status__in=WorkItem.ACTIVE)
                if item.status != WorkItem.Status.ASSIGNED:
                    work_accept(item=item, agent=agent)
        else:
            assert case is not None
            message_reply(case=case, actor=agent, body=text)
    assert case is not None
    return case


def test_screenshots_of_chat_in_the_console(browser: Browser, live_asgi: str, agent: User) -> None:  # noqa: F811
    channel = Channel.objects.create(kind=ChannelKind.CHAT, name="Kahvikulma chat", config={"allowed_origins": []})
    state = agent_state(agent)
    state.capacity = 300
    state.save(update_fields=["capacity"])
    state.queues.set([Queue.objects.get(is_default=True)])
    presence_set(user=agent, presence="online")
    for title, shortcut, language, body in (
        (
            "Delivery delayed",
            "delay",
            "en",
            "Hi {{customer.first_name}}, sorry for the wait: your order left our "
            "roastery today and arrives in 1–2 working days. Best, {{agent.first_name}}",
        ),
        (
            "Toimitus myöhässä",
            "viive",
            "fi",
            "Hei {{customer.first_name}}! Pahoittelut odotuksesta: tilauksesi lähti "
            "paahtimolta tänään ja on perillä 1–2 arkipäivässä. Terveisin {{agent.first_name}}",
        ),
        ("Tilausnumero", "tilaus", "fi", "Kertoisitko vielä tilausnumerosi? Se alkaa kirjaimilla KK."),
        ("Order number", "order", "en", "Could you tell me your order number? It starts with KK."),
        ("Kiitos / Thanks", "kiitos", "", "Kiitos {{customer.first_name}}, mukavaa päivää! / Thank you, good day!"),
    ):
        CannedReply.objects.create(title=title, shortcut=shortcut, language=language, body=body)

    main = _chat(
        channel,
        agent,
        "Liisa Laine",
        "liisa.laine@example.com",
        [
            ("in", "Hei! Tilasin viime viikolla kaksi pussia tummaa paahtoa, mutta paketti ei ole vieläkään tullut."),
            ("out", "Hei Liisa, katson tilauksesi heti. Kertoisitko tilausnumeron?"),
            ("in", "Se on KK-20931."),
            ("in", "Tilasin myös kahvimyllyn, onko se samassa paketissa?"),
        ],
    )
    _chat(channel, agent, "Pekka Puupää", "pekka@example.com", [("in", "Onko teillä koffeiinitonta kahvia?")])
    called = _chat(
        channel,
        agent,
        "Aino Aaltonen",
        "aino@example.com",
        [
            ("in", "Kahvimyllyni pitää outoa ääntä, voisitteko soittaa minulle?"),
            ("out", "Totta kai Aino, soitan sinulle heti."),
        ],
    )
    Identity.objects.create(customer=called.customer, kind=Identity.Kind.PHONE, value="+358401234567")
    case_call_escalate(case=called, actor=agent, number="+358401234567")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for language in LANGUAGES:
        for width, height in sizes(language):
            suffix = f"{language}-{width}"
            context, page = console_in(browser, live_asgi, language=language, width=width, height=height)

            page.goto(f"{live_asgi}/console/cases/{main.reference}/")
            page.wait_for_selector("body[data-live=on]")
            expect(page.locator("#chatbar")).to_be_visible()
            expect(page.locator("#my-chats .my-chats__link")).to_have_count(2)  # Aino's is a phone case now
            _fits(page, f"chat case {suffix}")
            page.screenshot(path=ARTIFACTS / f"chat-case-{suffix}.png")

            page.locator("#reply-body").click()
            page.locator("#reply-body").press("/")
            expect(page.locator("#canned")).to_be_visible()
            expect(page.locator("#canned-list [role=option]").first).to_be_visible()
            page.locator("#canned-q").press("ArrowDown")
            _fits(page, f"canned picker {suffix}")
            page.screenshot(path=ARTIFACTS / f"chat-canned-{suffix}.png")
            page.keyboard.press("Escape")

            page.goto(f"{live_asgi}/console/cases/{called.reference}/")
            expect(page.locator("#callpanel")).to_be_visible()
            _fits(page, f"escalated {suffix}")
            page.screenshot(path=ARTIFACTS / f"chat-escalated-{suffix}.png")
            context.close()
    assert len(list(Path(ARTIFACTS).glob("chat-*.png"))) >= 3 * shots()
