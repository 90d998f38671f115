"""The widget in the system Chromium on the sample shop page, served by the real ASGI server (uvicorn, Redis
channel layer, the router running): open, pre-chat, send, the automatic answer, an agent's live reply, reload →
the history is back. Screenshots of the widget (closed, pre-chat form, conversation, offline forms) in English
and Finnish go to test-artifacts/chat/."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connections
from playwright.sync_api import Browser, Page, expect

from tests.e2e.live_asgi import live_asgi  # noqa: F401  (the fixture)
from tiski.cases.models import Case
from tiski.cases.services import message_reply
from tiski.channels.chat.identity import identity_token_sign
from tiski.channels.models import Channel, ChannelKind
from tiski.routing.models import Queue
from tiski.routing.services import agent_state, presence_set
from tiski.sla.models import SlaPolicy
from tiski.sla.services import policies_forget

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "chat"
LIVE_MS = 10_000
WIDGET_JS_MAX_BYTES = 30_000


def in_thread(work: Callable[[], Any]) -> Any:
    """Run WORK in a plain thread (no event loop: Playwright's runs in this one), with its own connection."""

    def wrapped() -> Any:
        try:
            return work()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(wrapped).result()


@pytest.fixture
def shop_chat(db: None) -> Channel:
    # Service levels round the clock: the automatic answer says "within 2 minutes" at any hour of the test run.
    SlaPolicy.objects.update(calendar=None)
    policies_forget()
    return Channel.objects.create(
        kind=ChannelKind.CHAT, name="Shop chat", config={"prechat": {"enabled": True, "require_email": False}}
    )


@pytest.fixture
def chat_agent(agent: User) -> User:
    queue = Queue.objects.create(name="Chat", offer_timeout=600, fallback_after=0)
    agent_state(agent).queues.add(queue)
    return agent


def _page(browser: Browser, base: str, channel: Channel, lang: str) -> Page:
    context = browser.new_context(viewport={"width": 1000, "height": 720}, locale="fi-FI" if lang == "fi" else "en-GB")
    page = context.new_page()
    page.goto(f"{base}/chat/demo/?lang={lang}&channel={channel.pk}")
    return page


def test_the_widget_chats_live_and_a_reload_brings_the_history_back(
    live_asgi: str,  # noqa: F811
    browser: Browser,
    shop_chat: Channel,
    chat_agent: User,
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    presence_set(user=chat_agent, presence="online")
    for lang in ("en", "fi"):
        page = _page(browser, live_asgi, shop_chat, lang)
        launcher = page.get_by_role("button", name="Chat with us" if lang == "en" else "Chattaa kanssamme")
        expect(launcher).to_be_visible()
        page.screenshot(path=ARTIFACTS / f"chat-closed-{lang}.png", animations="disabled")
        launcher.click()
        expect(page.locator("#tiski-name")).to_be_focused()
        page.screenshot(path=ARTIFACTS / f"chat-prechat-{lang}.png", animations="disabled")
        page.locator("#tiski-name").fill("Anssi Asiakas")
        page.locator("#tiski-email").fill(f"anssi.{lang}@example.com")
        page.get_by_role("button", name="Start chat" if lang == "en" else "Aloita chat").click()
        box = page.get_by_role("textbox", name="Your message" if lang == "en" else "Viestisi")
        expect(box).to_be_visible()
        box.fill("Is the dark roast in stock?" if lang == "en" else "Onko tummaa paahtoa varastossa?")
        box.press("Enter")
        log = page.get_by_role("log")
        expect(log.locator(".tiski-customer")).to_have_count(1, timeout=LIVE_MS)
        expect(log.locator(".tiski-pending")).to_have_count(0, timeout=LIVE_MS)  # the server stored it
        answer = "An agent will answer you within 2 minutes" if lang == "en" else "vastaa sinulle 2 minuutin kuluessa"
        expect(log.locator(".tiski-system")).to_contain_text(answer, timeout=LIVE_MS)
        case = Case.objects.get(customer__identities__value=f"anssi.{lang}@example.com")
        reply = "Yes, we have 40 bags." if lang == "en" else "Kyllä, meillä on 40 pussia."
        in_thread(lambda case=case, reply=reply: message_reply(case=case, actor=chat_agent, body=reply))
        expect(log.locator(".tiski-agent")).to_contain_text(reply, timeout=LIVE_MS)
        page.screenshot(path=ARTIFACTS / f"chat-conversation-{lang}.png", animations="disabled")

        page.reload()
        log = page.get_by_role("log")
        expect(log.locator(".tiski-customer")).to_have_count(1, timeout=LIVE_MS)
        expect(log.locator(".tiski-agent")).to_contain_text(reply, timeout=LIVE_MS)
        expect(log.locator(".tiski-system")).to_contain_text(answer)
        page.context.close()
    assert Case.objects.filter(channel=shop_chat).count() == 2


def test_the_offline_forms_when_nobody_is_online(
    live_asgi: str,  # noqa: F811
    browser: Browser,
    shop_chat: Channel,
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    Channel.objects.create(kind=ChannelKind.EMAIL, name="Support", address="support@shop.example")
    shop_chat.config = {}
    shop_chat.save()
    for lang in ("en", "fi"):
        page = _page(browser, live_asgi, shop_chat, lang)
        page.get_by_role("button", name="Chat with us" if lang == "en" else "Chattaa kanssamme").click()
        leave = page.locator(".tiski-leave")
        expect(leave).to_be_visible(timeout=LIVE_MS)
        page.screenshot(path=ARTIFACTS / f"chat-offline-{lang}.png", animations="disabled")
        page.locator("#tiski-leave-email").fill(f"liisa.{lang}@example.com")
        page.locator("#tiski-leave-text").fill("Please send me the price list.")
        leave.get_by_role("button").click()
        expect(page.get_by_role("log")).to_contain_text("email" if lang == "en" else "sähköpostitse", timeout=LIVE_MS)
        page.get_by_role("button", name="Request a callback" if lang == "en" else "Pyydä soittoa").click()
        expect(page.locator("#tiski-cb-name")).to_be_focused()
        page.locator("#tiski-cb-phone").fill("040 123 4567")
        page.locator("#tiski-cb-time").fill("9–11" if lang == "en" else "klo 9–11")
        page.screenshot(path=ARTIFACTS / f"chat-callback-{lang}.png", animations="disabled")
        page.locator(".tiski-callback").get_by_role("button").click()
        expect(page.get_by_role("log")).to_contain_text(
            "call you back" if lang == "en" else "Soitamme", timeout=LIVE_MS
        )
        page.context.close()
    assert Case.objects.filter(channel__kind=ChannelKind.EMAIL).count() == 2
    assert Case.objects.filter(channel=shop_chat, tags__name="callback-request").count() == 2


def test_too_many_chats_from_one_address_are_told_why_and_the_widget_backs_off(
    live_asgi: str,  # noqa: F811
    browser: Browser,
    shop_chat: Channel,
    settings: Any,
) -> None:
    settings.TISKI_RATES = {**settings.TISKI_RATES, "chat_open": "1/60"}
    first = _page(browser, live_asgi, shop_chat, "en")
    first.get_by_role("button", name="Chat with us").click()
    expect(first.locator("#tiski-name")).to_be_visible(timeout=LIVE_MS)  # the first socket is in

    second = _page(browser, live_asgi, shop_chat, "en")
    attempts: list[Any] = []
    second.on("websocket", lambda socket: attempts.append(socket))
    second.get_by_role("button", name="Chat with us").click()
    expect(second.get_by_role("alert")).to_contain_text("Too many chats opened from your address", timeout=LIVE_MS)
    second.wait_for_timeout(6500)
    # Refused sockets wait 1, 2, 4 … s before trying again (a reset pause would try every second: 7 times).
    assert 2 <= len(attempts) <= 4, len(attempts)
    first.context.close()
    second.context.close()


def test_the_widget_script_is_small() -> None:
    widget = Path(__file__).resolve().parents[2] / "src/tiski/channels/chat/static/chat/widget.js"
    assert widget.stat().st_size < WIDGET_JS_MAX_BYTES


def test_a_shop_signed_in_customer_chats_without_questions_and_the_next_one_does_not_see_it(
    live_asgi: str,  # noqa: F811
    browser: Browser,
    shop_chat: Channel,
    chat_agent: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TISKI_TEST_WIDGET_SECRET", "widget-secret")
    shop_chat.config["secrets"] = {"identity_secret": "TISKI_TEST_WIDGET_SECRET"}
    shop_chat.save()
    presence_set(user=chat_agent, presence="online")
    context = browser.new_context(viewport={"width": 1000, "height": 720})
    page = context.new_page()
    for email in ("anssi@example.com", "liisa@example.com"):
        token = identity_token_sign(
            secret="widget-secret", email=email, name=email[:5].title(), exp=int(time.time()) + 600
        )
        page.goto(f"{live_asgi}/chat/demo/?lang=en&channel={shop_chat.pk}&identity_token={token}")
        page.get_by_role("button", name="Chat with us").click()
        box = page.get_by_role("textbox", name="Your message")
        expect(box).to_be_focused(timeout=LIVE_MS)  # no pre-chat form: the shop said who this is
        expect(page.get_by_role("log").locator(".tiski-customer")).to_have_count(0)  # not the previous person's
        box.fill(f"Hello from {email}")
        box.press("Enter")
        expect(page.get_by_role("log").locator(".tiski-customer")).to_have_count(1, timeout=LIVE_MS)
        # Stored by the server (the pending mark is gone), not only shown while it waits to be sent.
        expect(page.get_by_role("log").locator(".tiski-pending")).to_have_count(0, timeout=LIVE_MS)
        page.keyboard.press("Escape")  # closed, so that the next page starts with the launcher
        expect(page.get_by_role("button", name="Chat with us")).to_be_focused()
    context.close()
    for email in ("anssi@example.com", "liisa@example.com"):
        case = Case.objects.get(customer__identities__value=email)
        assert list(case.messages.filter(author="customer").values_list("body_text", flat=True)) == [
            f"Hello from {email}"
        ]
