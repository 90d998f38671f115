"""The issue's browser test: a live chat from the shop's widget to the agent's console, escalated to a call.

Two browser contexts against the real ASGI server (tests/e2e/live_asgi.py, with the router and Redis): Liisa
opens the chat widget on the sample shop page and writes; the router offers the chat to Maija, who is online,
over her console's WebSocket; she accepts, sees Liisa typing and her next message arrive without a reload,
answers with Enter, and Liisa sees the answer live. Maija then calls Liisa: the case continues as a phone case,
Liisa is told in the chat who will call and where, and the case's timeline shows the chat and the call.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.conftest import PASSWORD
from tests.e2e.live_asgi import live_asgi  # noqa: F401  (the fixture)
from tiski.cases.models import CannedReply, Case, CaseEvent
from tiski.channels.models import Channel, ChannelKind
from tiski.routing.models import AgentState, Queue, WorkItem
from tiski.routing.services import agent_state, presence_set, units_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIVE_TIMEOUT_MS = 15_000


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        context.close()


def _console(browser: Browser, base: str, opened: list[BrowserContext]) -> Page:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB")
    opened.append(context)
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.locator("input[name=username]").fill("maija")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("button[type=submit].btn--primary").click()
    page.wait_for_url("**/console/")
    page.wait_for_selector("body[data-live=on]", timeout=LIVE_TIMEOUT_MS)
    return page


def _shop(browser: Browser, base: str, channel: Channel, opened: list[BrowserContext]) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    opened.append(context)
    page = context.new_page()
    page.goto(f"{base}/chat/demo/?lang=en&channel={channel.pk}")
    return page


def test_a_customer_chats_live_with_an_agent_who_escalates_to_a_call(
    browser: Browser,
    live_asgi: str,  # noqa: F811
    agent: User,
    contexts: list[BrowserContext],
) -> None:
    channel = Channel.objects.create(
        kind=ChannelKind.CHAT,
        name="Shop chat",
        config={"allowed_origins": [live_asgi], "prechat": {"enabled": True, "require_email": False}},
    )
    agent_state(agent).queues.set([Queue.objects.get(is_default=True)])
    CannedReply.objects.create(
        title="Checking the order", shortcut="check", body="Hi {{customer.first_name}}, I am checking your order now."
    )

    presence_set(user=agent, presence="online")
    console = _console(browser, live_asgi, contexts)
    expect(console.locator("#presence")).to_contain_text("Online")

    # Liisa opens the chat on the shop's page and writes.
    shop = _shop(browser, live_asgi, channel, contexts)
    shop.locator(".tiski-launcher").click()
    shop.locator("#tiski-name").fill("Liisa Laine")
    shop.locator("#tiski-email").fill("liisa@example.com")
    shop.locator(".tiski-prechat button[type=submit]").click()
    shop.locator("#tiski-input").fill("Hello, my coffee order 1234 has not arrived.")
    shop.locator("#tiski-input").press("Enter")
    expect(shop.locator(".tiski-log")).to_contain_text("my coffee order 1234", timeout=LIVE_TIMEOUT_MS)

    # The chat is offered to Maija, live; she accepts and the case opens with the message.
    offer = console.locator("#offers .offer", has_text="Liisa Laine")
    expect(offer).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    offer.get_by_role("button", name="Accept").click()
    console.wait_for_url("**/console/cases/**")
    case = Case.objects.get(channel=channel)
    assert console.url.endswith(f"/console/cases/{case.reference}/")
    console.wait_for_selector("body[data-live=on]", timeout=LIVE_TIMEOUT_MS)
    timeline = console.locator("#timeline")
    expect(timeline).to_contain_text("my coffee order 1234")
    expect(console.locator("#chat-state")).to_contain_text("Customer is in the chat", timeout=LIVE_TIMEOUT_MS)
    expect(console.locator("#my-chats")).to_contain_text("Liisa Laine")
    console.evaluate("window.tiskiSamePage = true")

    # Liisa types and writes again: Maija sees both without reloading.
    shop.locator("#tiski-input").press_sequentially("It was ", delay=30)
    expect(console.locator("#chat-typing")).to_contain_text("Liisa Laine is typing", timeout=LIVE_TIMEOUT_MS)
    shop.locator("#tiski-input").press_sequentially("two bags of dark roast.", delay=5)
    shop.locator("#tiski-input").press("Enter")
    expect(timeline).to_contain_text("It was two bags of dark roast.", timeout=LIVE_TIMEOUT_MS)
    expect(console.locator("#chat-typing")).to_have_text("", timeout=LIVE_TIMEOUT_MS)  # at the latest after 8 s
    assert console.evaluate("window.tiskiSamePage === true"), "the message came with a reload"

    # Maija answers with a canned reply and Enter; Liisa sees it live, and Maija's typing before it.
    reply = console.locator("#reply-body")
    reply.click()
    reply.press("/")
    expect(console.locator("#canned")).to_be_visible()
    console.locator("#canned-q").press_sequentially("check", delay=20)
    expect(console.locator("#canned-list [role=option]")).to_have_count(1)
    console.locator("#canned-q").press("Enter")
    expect(reply).to_have_value("Hi Liisa, I am checking your order now.")
    reply.press_sequentially(" One moment.", delay=40)
    expect(shop.locator(".tiski-typing")).to_contain_text("Maija is typing", timeout=LIVE_TIMEOUT_MS)
    reply.press("Enter")
    expect(timeline).to_contain_text("Hi Liisa, I am checking your order now. One moment.")
    expect(reply).to_have_value("")
    expect(shop.locator(".tiski-log")).to_contain_text(
        "Hi Liisa, I am checking your order now. One moment.", timeout=LIVE_TIMEOUT_MS
    )

    # Maija calls Liisa: the case continues as a phone case, with the chat in front of her.
    console.locator(".chatbar__menu summary", has_text="Call the customer").click()
    console.locator("input[name=number]").fill("040 123 4567")
    console.get_by_role("button", name="Start the call").click()
    callpanel = console.locator("#callpanel")
    expect(callpanel).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    expect(callpanel).to_contain_text("+358401234567")
    expect(shop.locator(".tiski-log")).to_contain_text(
        "Maija will call you now at +358401234567.", timeout=LIVE_TIMEOUT_MS
    )
    case.refresh_from_db()
    assert case.channel is not None and case.channel.kind == ChannelKind.PHONE
    item = WorkItem.objects.get(case=case, status=WorkItem.Status.ASSIGNED)
    assert item.agent == agent and item.channel_kind == "phone" and item.units == units_for("phone")
    assert AgentState.objects.get(user=agent).load == units_for("phone")

    console.get_by_role("button", name="Call ended").click()
    # The page reloads after the call is recorded: wait for the reloaded page's notice before reading it.
    expect(console.get_by_text("Call ended and recorded.")).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    expect(callpanel).to_have_count(0)
    # One timeline: the chat messages, the escalation and the call, in order.
    timeline_list = console.locator("#timeline-list")
    needles = (
        "my coffee order 1234",
        "It was two bags of dark roast.",
        "Hi Liisa, I am checking your order now. One moment.",
        "Maija Mäkinen escalated the chat to a call to +358401234567",
        "Maija will call you now at +358401234567.",
        "Call to +358401234567 ended",
    )
    for expected in needles:
        expect(timeline_list).to_contain_text(expected)
    texts = [text.strip() for text in timeline_list.locator(":scope > li").all_inner_texts()]
    order = [next(i for i, t in enumerate(texts) if needle in t) for needle in ("coffee order", "escalated", "ended")]
    assert order == sorted(order)
    assert CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.CALL_ENDED).count() == 1


def test_switching_between_chats_keeps_each_draft(
    browser: Browser,
    live_asgi: str,  # noqa: F811
    agent: User,
    contexts: list[BrowserContext],
) -> None:
    from tiski.channels.chat.services import chat_message_post, chat_session_start
    from tiski.routing.router import route_pending
    from tiski.routing.services import work_accept

    channel = Channel.objects.create(kind=ChannelKind.CHAT, name="Shop chat", config={"allowed_origins": []})
    agent_state(agent).queues.set([Queue.objects.get(is_default=True)])
    presence_set(user=agent, presence="online")
    cases = []
    for name, text in (("Liisa Laine", "Missä tilaukseni on?"), ("Pekka Puupää", "Onko kauramaitoa?")):
        session, _token = chat_session_start(channel=channel, language="fi", prechat={"name": name})
        case = chat_message_post(session=session, client_id="c1", text=text).case
        route_pending()
        item = WorkItem.objects.get(case=case, status__in=WorkItem.ACTIVE)
        if item.status == WorkItem.Status.OFFERED:
            work_accept(item=item, agent=agent)
        cases.append(case)
    first, second = cases

    console = _console(browser, live_asgi, contexts)
    chats = console.locator("#my-chats")
    expect(chats.locator(".my-chats__link")).to_have_count(2)
    chats.locator(f"[data-chat-link='{first.reference}']").click()
    console.wait_for_url(f"**/console/cases/{first.reference}/")
    console.locator("#reply-body").fill("Hei Liisa, tilauksesi on")
    chats.locator(f"[data-chat-link='{second.reference}']").click()
    console.wait_for_url(f"**/console/cases/{second.reference}/")
    expect(console.locator("#reply-body")).to_have_value("")
    console.locator("#reply-body").fill("Hei Pekka,")
    console.locator(f"#my-chats [data-chat-link='{first.reference}']").click()
    console.wait_for_url(f"**/console/cases/{first.reference}/")
    expect(console.locator("#reply-body")).to_have_value("Hei Liisa, tilauksesi on")
    console.locator("#reply-body").press("Enter")  # sent: the draft is gone
    expect(console.locator("#timeline")).to_contain_text("Hei Liisa, tilauksesi on")
    console.reload()
    expect(console.locator("#reply-body")).to_have_value("")
    console.locator(f"#my-chats [data-chat-link='{second.reference}']").click()
    expect(console.locator("#reply-body")).to_have_value("Hei Pekka,")
