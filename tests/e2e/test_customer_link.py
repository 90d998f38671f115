"""A call-back request by SMS from an unknown number: the agent links it to the known customer in one click
and sees the customer's whole history, the earlier email case included."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD
from tiski.channels.interface import InboundMessage, Threading
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.services import Receipt, message_receive
from tiski.customers.models import Customer, MatchSuggestion
from tiski.customers.services import Handle

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_agent_links_an_unknown_number_to_the_known_customer_and_sees_the_merged_history(
    page: Page,
    live_server,  # type: ignore[no-untyped-def]
    agent: User,
    receive: Callable[..., Receipt],
    run_tasks: Callable[[], None],
) -> None:
    email = Channel.objects.create(kind=ChannelKind.EMAIL, name="Support mailbox", address="support@shop.example")
    earlier = receive(
        channel=email,
        email="anssi@example.com",
        name="Anssi Asiakas",
        subject="Order 48213 has not arrived",
        body="I ordered a winter jacket two weeks ago and it has not arrived.",
    ).case
    known = earlier.customer
    Customer.objects.filter(pk=known.pk).update(provisional=False)
    sms = Channel.objects.create(kind=ChannelKind.SMS, name="Text messages", address="+358401110000")
    call = message_receive(
        inbound=InboundMessage(
            channel=sms,
            handles=[Handle("sms", "040 765 4321")],
            body_text="Hi, any news about my jacket? Please call me back.",
            sender_name="Anssi Asiakas",
            threading=Threading.CONVERSATION,
        )
    ).case
    assert call.customer_id != known.pk
    run_tasks()  # the suggestions are looked for in the background
    assert MatchSuggestion.objects.filter(customer=call.customer_id, candidate=known).exists()

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("maija")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name=f"{call.reference} ").first.click()

    pane = page.locator("#customer-pane")
    suggestion = pane.locator(".suggest__item").filter(has_text="Anssi Asiakas")
    expect(suggestion).to_contain_text("Probably Anssi Asiakas")
    expect(suggestion.locator(".score")).to_have_text(re.compile(r"^\d{2,3} %$"))
    expect(pane).not_to_contain_text("I ordered a winter jacket")

    suggestion.get_by_role("button", name="Link").click()

    expect(pane).to_contain_text("Linked: this contact is Anssi Asiakas.")
    expect(pane.locator(".suggest")).to_have_count(0)
    expect(pane.locator(".earlier")).to_contain_text("I ordered a winter jacket two weeks ago")
    expect(pane.locator(".identities")).to_contain_text("+358407654321")
    expect(pane.locator(".identities")).to_contain_text("anssi@example.com")

    pane.get_by_role("link", name="Whole history").click()
    timeline = page.locator("#c360-timeline")
    expect(page.get_by_role("heading", level=1)).to_have_text("Anssi Asiakas")
    expect(timeline).to_contain_text("Hi, any news about my jacket? Please call me back.")
    expect(timeline).to_contain_text("I ordered a winter jacket two weeks ago and it has not arrived.")
    expect(timeline).to_contain_text("linked +358407654321 to this customer")
    call.refresh_from_db()
    assert call.customer_id == known.pk

    # The channel filter narrows the merged history to the SMS conversation.
    timeline.locator("select[name=channel]").select_option("sms")
    expect(timeline).not_to_contain_text("I ordered a winter jacket")
    expect(timeline).to_contain_text("Please call me back.")


def test_the_history_loads_older_entries_and_filters_in_place(
    page: Page,
    live_server,  # type: ignore[no-untyped-def]
    agent: User,
    receive: Callable[..., Receipt],
) -> None:
    first = receive(email="busy@example.com", name="Busy Customer", subject="Question 0", body="Message number 0")
    for i in range(1, 45):
        receive(email="busy@example.com", name="Busy Customer", subject=f"Question {i}", body=f"Message number {i}")
    customer = first.case.customer

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("maija")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/console/customers/{customer.pk}/")

    timeline = page.locator("#c360-timeline")
    messages = timeline.locator(".tl__item--msg")
    expect(timeline).to_contain_text("Message number 44")
    shown = messages.count()
    assert 0 < shown < 45
    more = timeline.get_by_role("link", name="Load older")
    for _ in range(5):  # every case brings its message and its "created" event: three pages
        if not more.count():
            break
        before = timeline.locator(".tl__item").count()
        more.click()
        expect(timeline.locator(".tl__item")).not_to_have_count(before)
    expect(timeline).to_contain_text("The beginning of this customer's history")
    expect(messages).to_have_count(45)
    expect(timeline).to_contain_text("Message number 0")

    timeline.get_by_role("radio", name="Events").check()
    expect(messages).to_have_count(0)
    expect(timeline.locator(".tl__item--event").first).to_contain_text("Case created")
    assert "kind=events" in page.url
