"""An agent logs in, opens a case, replies, and the reply is delivered by the worker."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.core import mail
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD
from tiski.cases.models import Message
from tiski.channels.services import Receipt

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_agent_replies_from_the_console_and_the_reply_is_delivered(
    page: Page,
    live_server,  # type: ignore[no-untyped-def]
    agent: User,
    receive: Callable[..., Receipt],
    run_tasks: Callable[[], None],
) -> None:
    case = receive(subject="Shirt size", body="Which size fits me? I am 182 cm.").case

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("maija")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()

    page.get_by_role("link", name=f"{case.reference} Shirt size").click()
    expect(page.get_by_text("Which size fits me? I am 182 cm.")).to_be_visible()

    page.keyboard.press("r")
    expect(page.locator("#reply-body")).to_be_focused()
    page.locator("#reply-body").fill("Size L fits 182 cm. Welcome back!")
    page.get_by_role("button", name="Send reply").click()

    reply = page.locator(".msg--out").filter(has_text="Size L fits 182 cm. Welcome back!")
    expect(reply).to_be_visible()
    expect(reply.locator(".delivery")).to_have_text("◷ Queued")
    expect(page.locator("#reply-body")).to_have_value("")

    run_tasks()

    message = Message.objects.get(case=case, direction=Message.Direction.OUT)
    assert message.delivery_status == Message.Delivery.SENT
    assert [m.to for m in mail.outbox] == [["anssi@example.com"]]
    # The timeline polls while a reply is on its way: it flips to "Sent" without a reload.
    expect(reply.locator(".delivery")).to_have_text("✓ Sent", timeout=12_000)
