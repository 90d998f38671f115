"""Chat on the agent's side of the console: the case page of a chat, canned replies, escalating to a call, the
transcript, transfers keeping the chat, "My chats", and the console socket's chat pushes.

Chats are made as customers make them: a session started through the chat app's services and messages posted
through its inbound pipeline (message_receive), so routing queues real chat work that the agent accepts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.routing.test_consumers import frames, login, run, socket
from tiski.accounts.services import agent_create
from tiski.cases.exceptions import CaseReplyError
from tiski.cases.models import CannedReply, Case, CaseEvent, Message
from tiski.cases.services import message_reply
from tiski.channels.chat.models import ChatSession
from tiski.channels.chat.services import chat_message_post, chat_session_start, widget_group
from tiski.channels.models import Channel, ChannelKind
from tiski.console.selectors import canned_replies_for, canned_reply_fill, my_chats
from tiski.customers.models import Identity
from tiski.routing.models import AgentState, Queue, WorkItem
from tiski.routing.router import route_pending
from tiski.routing.selectors import case_active_item
from tiski.routing.services import agent_state, presence_set, units_for, work_accept

SHOP = "https://shop.example"


@pytest.fixture
def chat_channel(db: Any) -> Channel:
    return Channel.objects.create(kind=ChannelKind.CHAT, name="Shop chat", config={"allowed_origins": [SHOP]})


@pytest.fixture
def on_duty(agent: User) -> User:
    """Maija, online, serving the default queue (where chats go without rules)."""
    state = agent_state(agent)
    state.queues.add(Queue.objects.get(is_default=True))
    presence_set(user=agent, presence="online")
    return agent


def start_chat(channel: Channel, *, text: str = "Hei, tilaukseni 1234 on myöhässä.", email: str = "liisa@example.com"):
    """Start a chat as Liisa Laine and send TEXT; return (session, case)."""
    session, _token = chat_session_start(
        channel=channel, language="fi", prechat={"name": "Liisa Laine", "email": email} if email else {"name": "Liisa"}
    )
    receipt = chat_message_post(session=session, client_id="c1", text=text)
    session.refresh_from_db()
    return session, receipt.case


def take(case: Case, agent: User) -> WorkItem:
    """Route CASE's chat work and let AGENT accept the offer."""
    route_pending()
    item = case_active_item(case_id=case.pk)
    assert item is not None and item.agent_id == agent.pk and item.status == WorkItem.Status.OFFERED
    return work_accept(item=item, agent=agent)


@pytest.fixture
def chat(chat_channel: Channel, on_duty: User) -> tuple[ChatSession, Case]:
    """A chat Maija has accepted: (session, case)."""
    session, case = start_chat(chat_channel)
    take(case, on_duty)
    case.refresh_from_db()
    assert case.owner_id == on_duty.pk and case.channel_id == chat_channel.pk
    return session, case


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- the case page of a chat ------------------------------------------------------------------------------------


def test_the_case_page_of_a_chat_shows_its_state_actions_and_an_enter_to_send_composer(
    chat: tuple[ChatSession, Case], on_duty: User
) -> None:
    _session, case = chat
    page = client_for(on_duty).get(reverse("console:case", args=[case.reference])).content.decode()
    assert 'id="chatbar"' in page and 'id="chat-state"' in page and 'id="chat-typing"' in page
    assert "Customer has left the chat" in page  # no widget socket is open in this test
    assert "Call the customer" in page and "Email transcript" in page
    assert 'value="liisa@example.com"' in page  # the transcript goes to the customer's address unless changed
    assert "data-chat-composer" in page and "Enter sends, Shift+Enter adds a line" in page
    assert 'id="timeline-list"' in page and "tilaukseni 1234" in page
    assert "My chats" in page  # the nav lists the chat too


def test_an_email_case_has_no_chat_bar_but_the_canned_replies(
    agent_client: Client, make_case: Callable[..., Case]
) -> None:
    email = Channel.objects.create(kind=ChannelKind.EMAIL, name="Mailbox", address="support@shop.example")
    case = make_case(channel=email, message="Where is my parcel?")
    page = agent_client.get(reverse("console:case", args=[case.reference])).content.decode()
    assert 'id="chatbar"' not in page and "Call the customer" not in page and "data-chat-composer" not in page
    assert "data-canned-open" in page and reverse("console:case-canned", args=[case.reference]) in page


def test_the_page_in_finnish(chat: tuple[ChatSession, Case], on_duty: User) -> None:
    _session, case = chat
    client = client_for(on_duty)
    client.cookies["django_language"] = "fi"
    page = client.get(reverse("console:case", args=[case.reference]), HTTP_ACCEPT_LANGUAGE="fi").content.decode()
    assert "Soita asiakkaalle" in page and "Lähetä keskustelu sähköpostilla" in page
    assert "Valmiit vastaukset" in page and "Omat chatit" in page


# --- canned replies ---------------------------------------------------------------------------------------------


@pytest.fixture
def canned(db: Any) -> list[CannedReply]:
    return [
        CannedReply.objects.create(
            title="Delivery delayed",
            shortcut="delay",
            language="en",
            body="Hi {{customer.first_name}}, sorry for the wait. Best, {{ agent.first_name }}",
        ),
        CannedReply.objects.create(
            title="Toimitus myöhässä",
            shortcut="viive",
            language="fi",
            body="Hei {{customer.first_name}}! Pahoittelut viiveestä. Terveisin {{agent.first_name}}",
        ),
        CannedReply.objects.create(title="Greeting", shortcut="hi", body="Hello {{customer.name}}!"),
        CannedReply.objects.create(title="Old delivery text", shortcut="old", body="Gone", active=False),
    ]


def test_canned_replies_are_found_by_title_or_shortcut_and_only_active_ones(canned: list[CannedReply]) -> None:
    assert [r.title for r in canned_replies_for(query="deliv")] == ["Delivery delayed"]
    assert [r.title for r in canned_replies_for(query="/viive")] == ["Toimitus myöhässä"]
    assert "Old delivery text" not in [r.title for r in canned_replies_for()]
    # The agent's language first, then replies for any language, other languages last.
    assert [r.title for r in canned_replies_for(language="fi")] == ["Greeting", "Toimitus myöhässä", "Delivery delayed"]


def test_placeholders_are_filled_for_the_customer_and_the_agent(
    canned: list[CannedReply], chat: tuple[ChatSession, Case], on_duty: User
) -> None:
    _session, case = chat
    assert canned_reply_fill(body=canned[0].body, case=case, agent=on_duty) == (
        "Hi Liisa, sorry for the wait. Best, Maija"
    )
    assert canned_reply_fill(body=canned[2].body, case=case, agent=on_duty) == "Hello Liisa Laine!"
    assert canned_reply_fill(body="{{ unknown.thing }}", case=case, agent=on_duty) == "{{ unknown.thing }}"


def test_the_picker_lists_filled_in_replies_for_the_case(
    canned: list[CannedReply], agent_client: Client, make_case: Callable[..., Case]
) -> None:
    email = Channel.objects.create(kind=ChannelKind.EMAIL, name="Mailbox", address="support@shop.example")
    case = make_case(channel=email, customer=None)
    case.customer.name = "Pekka Puup"
    case.customer.save()
    url = reverse("console:case-canned", args=[case.reference])
    html = agent_client.get(url, {"q": "delay"}).content.decode()
    assert 'role="listbox"' in html and "Delivery delayed" in html and "/delay" in html
    assert 'data-canned-text="Hi Pekka, sorry for the wait. Best, Maija"' in html
    assert "Toimitus" not in html
    empty = agent_client.get(url, {"q": "nothing-like-this"}).content.decode()
    assert "No canned reply matches" in empty


def test_the_picker_is_for_agents_only(
    canned: list[CannedReply], client: Client, make_case: Callable[..., Case]
) -> None:
    case = make_case()
    url = reverse("console:case-canned", args=[case.reference])
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(User.objects.create_user("asiakas"))
    assert client.get(url).status_code == 403
    client.force_login(agent_create(username="liisa", password=None, role="agent"))
    assert client.get(reverse("console:case-canned", args=["TSK-999999"])).status_code == 404
    assert client.post(url).status_code == 405


def test_an_administrator_adds_a_canned_reply_in_the_admin(administrator: User) -> None:
    client = client_for(administrator)
    response = client.post(
        reverse("admin:cases_cannedreply_add"),
        {"title": "Refund", "body": "Hi {{customer.first_name}}", "language": "", "shortcut": "refund", "active": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    reply = CannedReply.objects.get(title="Refund")
    assert reply.created_by == administrator and reply.shortcut == "refund"


# --- escalating to a call ---------------------------------------------------------------------------------------


def test_an_agent_escalates_the_chat_to_a_call(chat: tuple[ChatSession, Case], on_duty: User) -> None:
    _session, case = chat
    chat_channel = case.channel
    assert agent_state(on_duty).load == units_for("chat")
    response = client_for(on_duty).post(
        reverse("console:case-call", args=[case.reference]), {"number": "040 123 4567"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and response.headers["HX-Refresh"] == "true"
    case.refresh_from_db()
    assert case.channel is not None and case.channel.kind == ChannelKind.PHONE
    event = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.ESCALATED_TO_CALL)
    assert event.actor == on_duty and event.data["number"] == "+358401234567"
    assert event.data["from_channel"] == chat_channel.pk  # type: ignore[union-attr]
    # The work is phone work now, still Maija's, weighing what a call weighs.
    item = case_active_item(case_id=case.pk)
    assert item is not None and item.agent_id == on_duty.pk and item.status == WorkItem.Status.ASSIGNED
    assert item.channel_kind == "phone" and item.units == units_for("phone")
    assert AgentState.objects.get(user=on_duty).load == units_for("phone")
    # The customer is told in the chat, who calls and where.
    notice = Message.objects.filter(case=case, author=Message.Author.SYSTEM).latest("pk")
    assert notice.channel_id == chat_channel.pk and notice.direction == Message.Direction.OUT  # type: ignore[union-attr]
    assert "Maija" in notice.body_text and "+358401234567" in notice.body_text
    assert notice.body_text.startswith("Maija soittaa sinulle nyt numeroon")  # the chat is in Finnish
    assert Identity.objects.filter(customer=case.customer, kind="phone", value="+358401234567").exists()
    # One timeline: the chat, the escalation, and the call panel on top.
    page = client_for(on_duty).get(reverse("console:case", args=[case.reference])).content.decode()
    assert "tilaukseni 1234" in page and "escalated the chat to a call to +358401234567" in page
    assert 'id="callpanel"' in page and 'href="tel:+358401234567"' in page and "Call ended" in page
    assert "Call the customer" not in page  # one call at a time


def test_during_and_after_the_call_replies_still_go_to_the_chat(chat: tuple[ChatSession, Case], on_duty: User) -> None:
    _session, case = chat
    chat_channel = case.channel
    client = client_for(on_duty)
    client.post(reverse("console:case-call", args=[case.reference]), {"number": "0401234567"})
    page = client.get(reverse("console:case", args=[case.reference])).content.decode()
    assert "data-chat-composer" in page and "Reply to Liisa Laine by Chat" in page
    response = client.post(reverse("console:case-reply", args=[case.reference]), {"body": "Soitan nyt."})
    assert response.status_code == 302
    reply = Message.objects.filter(case=case, author=Message.Author.AGENT).latest("pk")
    assert reply.channel_id == chat_channel.pk and reply.body_text == "Soitan nyt."  # type: ignore[union-attr]
    case.refresh_from_db()
    assert case.channel is not None and case.channel.kind == ChannelKind.PHONE  # the case stays a phone case


def test_a_reply_goes_only_to_a_channel_the_customer_wrote_on(chat: tuple[ChatSession, Case], on_duty: User) -> None:
    _session, case = chat
    sms = Channel.objects.create(kind=ChannelKind.SMS, name="SMS line", address="+358401111111")
    with pytest.raises(CaseReplyError, match="has not written on SMS line"):
        message_reply(case=case, actor=on_duty, body="Hei", channel=sms)
    assert not Message.objects.filter(case=case, channel=sms).exists()


def test_the_number_is_asked_for_and_must_be_a_phone_number(chat: tuple[ChatSession, Case], on_duty: User) -> None:
    _session, case = chat
    client = client_for(on_duty)
    url = reverse("console:case-call", args=[case.reference])
    response = client.post(url, {"number": "call me maybe"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400 and "is not a phone number" in response.content.decode()
    assert response.headers["HX-Retarget"] == "#chat-errors"
    response = client.post(url, {"number": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400 and "Give the number to call." in response.content.decode()
    case.refresh_from_db()
    assert case.channel is not None and case.channel.kind == ChannelKind.CHAT
    assert not CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.ESCALATED_TO_CALL).exists()


def test_only_a_chat_is_escalated_and_only_once(
    chat: tuple[ChatSession, Case], on_duty: User, make_case: Callable[..., Case]
) -> None:
    _session, case = chat
    client = client_for(on_duty)
    url = reverse("console:case-call", args=[case.reference])
    assert client.post(url, {"number": "0401234567"}).status_code == 302
    again = client.post(url, {"number": "0401234567"}, HTTP_HX_REQUEST="true")
    assert again.status_code == 400 and "going on already" in again.content.decode()
    email = Channel.objects.create(kind=ChannelKind.EMAIL, name="Mailbox", address="support@shop.example")
    other = make_case(channel=email, owner=on_duty)
    refused = client.post(reverse("console:case-call", args=[other.reference]), {"number": "0401234567"})
    assert refused.status_code == 302
    assert not CaseEvent.objects.filter(case=other, kind=CaseEvent.Kind.ESCALATED_TO_CALL).exists()


def test_escalating_and_ending_calls_are_for_the_agent_of_the_case_or_a_lead(
    chat: tuple[ChatSession, Case], other_agent: User, team_lead: User, client: Client
) -> None:
    _session, case = chat
    call = reverse("console:case-call", args=[case.reference])
    end = reverse("console:case-call-end", args=[case.reference])
    transcript = reverse("console:case-transcript", args=[case.reference])
    assert client.post(call, {"number": "0401234567"}).status_code == 302  # anonymous: to the login page
    client.force_login(User.objects.create_user("asiakas"))
    assert client.post(call, {"number": "0401234567"}).status_code == 403  # not an agent
    client.force_login(other_agent)
    for url in (call, end, transcript):
        assert client.post(url, {"number": "0401234567"}).status_code == 403
    assert client.get(call).status_code == 405
    assert client.post(reverse("console:case-call", args=["TSK-999999"]), {"number": "1"}).status_code == 404
    client.force_login(team_lead)
    assert client.post(call, {"number": "0401234567"}).status_code == 302
    assert CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.ESCALATED_TO_CALL, actor=team_lead).exists()


def test_the_end_of_the_call_is_recorded_with_its_length(chat: tuple[ChatSession, Case], on_duty: User) -> None:
    _session, case = chat
    client = client_for(on_duty)
    end = reverse("console:case-call-end", args=[case.reference])
    refused = client.post(end, HTTP_HX_REQUEST="true")
    assert refused.status_code == 400 and "No call is going on" in refused.content.decode()
    client.post(reverse("console:case-call", args=[case.reference]), {"number": "+358 40 123 4567"})
    response = client.post(end, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response.headers["HX-Refresh"] == "true"
    ended = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.CALL_ENDED)
    assert ended.data["number"] == "+358401234567" and ended.data["duration_s"] >= 0 and ended.actor == on_duty
    page = client.get(reverse("console:case", args=[case.reference])).content.decode()
    assert "Call to +358401234567 ended · 0:0" in page and 'id="callpanel"' not in page


# --- transcript -------------------------------------------------------------------------------------------------


def test_the_transcript_is_emailed_to_the_customer(
    chat: tuple[ChatSession, Case], on_duty: User, run_tasks: Callable[[], None]
) -> None:
    _session, case = chat
    message_reply(case=case, actor=on_duty, body="Tarkistan tilauksen heti.")
    response = client_for(on_duty).post(
        reverse("console:case-transcript", args=[case.reference]), {"to": ""}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and response.headers["HX-Refresh"] == "true"
    run_tasks()
    sent = [m for m in mail.outbox if m.to == ["liisa@example.com"]]
    assert len(sent) == 1
    assert "tilaukseni 1234" in sent[0].body and "Tarkistan tilauksen heti." in sent[0].body


def test_a_transcript_without_an_address_says_so(chat_channel: Channel, on_duty: User) -> None:
    _session, case = start_chat(chat_channel, email="")
    take(case, on_duty)
    client = client_for(on_duty)
    url = reverse("console:case-transcript", args=[case.reference])
    response = client.post(url, {"to": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400 and "No email address is known" in response.content.decode()
    bad = client.post(url, {"to": "not-an-address"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 400 and "valid email address" in bad.content.decode()


# --- transfer keeps the chat ------------------------------------------------------------------------------------


def test_a_chat_transferred_to_a_colleague_arrives_with_the_whole_transcript(
    chat: tuple[ChatSession, Case], on_duty: User, other_agent: User
) -> None:
    session, case = chat
    message_reply(case=case, actor=on_duty, body="Katson asiaa, hetki.")
    chat_message_post(session=session, client_id="c2", text="Kiitos! Tilausnumero on 1234.")
    presence_set(user=other_agent, presence="online")
    response = client_for(on_duty).post(
        reverse("console:case-transfer", args=[case.reference]), {"target": f"agent:{other_agent.pk}", "note": "FI"}
    )
    assert response.status_code == 302
    item = case_active_item(case_id=case.pk)
    assert item is not None and item.agent_id == other_agent.pk and item.channel_kind == "chat"
    page = client_for(other_agent).get(reverse("console:case", args=[case.reference])).content.decode()
    for text in ("tilaukseni 1234", "Katson asiaa, hetki.", "Tilausnumero on 1234."):
        assert text in page
    assert 'id="chatbar"' in page and "Call the customer" in page  # the new agent can call too
    assert page.index("tilaukseni 1234") < page.index("Katson asiaa") < page.index("Tilausnumero on 1234")
    assert my_chats(user=other_agent)[0].case == case and my_chats(user=on_duty) == []


def test_a_chat_transferred_to_a_queue_is_offered_with_the_transcript(
    chat: tuple[ChatSession, Case], on_duty: User
) -> None:
    _session, case = chat
    queue = Queue.objects.create(name="Billing chats")
    colleague = agent_create(username="kalle", password=None, role="agent", first_name="Kalle")
    state = agent_state(colleague)
    state.queues.add(queue)
    presence_set(user=colleague, presence="online")
    response = client_for(on_duty).post(
        reverse("console:case-transfer", args=[case.reference]), {"target": f"queue:{queue.pk}"}
    )
    assert response.status_code == 302
    route_pending()
    item = case_active_item(case_id=case.pk)
    assert item is not None and item.agent_id == colleague.pk and item.status == WorkItem.Status.OFFERED
    work_accept(item=item, agent=colleague)
    page = client_for(colleague).get(reverse("console:case", args=[case.reference])).content.decode()
    assert "tilaukseni 1234" in page and 'id="chatbar"' in page


# --- My chats ---------------------------------------------------------------------------------------------------


def test_my_chats_counts_the_customers_messages_after_the_last_reply(
    chat: tuple[ChatSession, Case], on_duty: User, chat_channel: Channel
) -> None:
    session, case = chat
    chat_message_post(session=session, client_id="c2", text="Onko ketään?")
    rows = my_chats(user=on_duty)
    assert [(row.case, row.unanswered) for row in rows] == [(case, 2)]
    message_reply(case=case, actor=on_duty, body="Olen tässä.")
    assert my_chats(user=on_duty)[0].unanswered == 0
    html = client_for(on_duty).get(reverse("console:inbox")).content.decode()
    assert 'id="my-chats"' in html and "Liisa Laine" in html
    # A second chat: the newest message first, with its own count.
    _second_session, second = start_chat(chat_channel, text="Toinen kysymys", email="pekka@example.com")
    take(second, on_duty)
    assert [(row.case, row.unanswered) for row in my_chats(user=on_duty)] == [(second, 1), (case, 0)]


# --- the console socket: chat pushes ----------------------------------------------------------------------------

live = pytest.mark.django_db(transaction=True)


async def until(page: Any, *needles: str, seconds: float = 10.0) -> str:
    """Return the frames PAGE receives until all NEEDLES have arrived (fail after SECONDS: a loaded machine is
    slow, a missing push never comes)."""
    received = ""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not all(needle in received for needle in needles):
        assert loop.time() < deadline, f"{needles} did not arrive; got: {received[-2000:]}"
        received += "".join(await frames(page, 0.2))
    return received


@live
def test_a_customer_message_is_appended_to_the_open_case_and_my_chats_live(
    chat: tuple[ChatSession, Case], on_duty: User
) -> None:
    session, case = chat
    browser = login(on_duty)

    async def scenario() -> None:
        page = socket(browser, f"?lang=en&case={case.reference}")
        assert (await page.connect())[0]
        await until(page, 'id="presence"')  # the state on connect
        receipt = await database_sync_to_async(chat_message_post)(session=session, client_id="c9", text="Vieläkö?")
        message = receipt.message
        received = await until(page, f'id="message-{message.pk}"', "2 unanswered messages")
        assert 'hx-swap-oob="beforeend:#timeline-list"' in received
        assert f'id="message-{message.pk}"' in received and "Vieläkö?" in received and "msg--chat" in received
        assert 'id="my-chats"' in received and "2 unanswered messages" in received
        await page.disconnect()

    run(scenario)


@live
def test_the_customer_typing_and_leaving_show_on_the_open_case(chat: tuple[ChatSession, Case], on_duty: User) -> None:
    _session, case = chat
    browser = login(on_duty)
    layer = get_channel_layer()

    async def scenario() -> None:
        page = socket(browser, f"?lang=fi&case={case.reference}")
        await page.connect()
        await until(page, 'id="presence"')
        group = f"case.{case.pk}"
        await layer.group_send(group, {"type": "chat.typing", "case_id": case.pk, "who": "customer", "on": True})
        typing = await until(page, 'id="chat-typing"')
        assert 'id="chat-typing"' in typing and "Liisa Laine kirjoittaa…" in typing
        await layer.group_send(group, {"type": "chat.typing", "case_id": case.pk, "who": "customer", "on": False})
        stopped = await until(page, 'id="chat-typing"')
        assert 'id="chat-typing"' in stopped and "kirjoittaa" not in stopped
        await layer.group_send(group, {"type": "chat.state", "case_id": case.pk, "state": "disconnected"})
        left = await until(page, 'id="chat-state"')
        assert 'id="chat-state"' in left and "Asiakas on poistunut chatista" in left
        await layer.group_send(group, {"type": "chat.state", "case_id": case.pk, "state": "connected"})
        assert "Asiakas on chatissa" in await until(page, 'id="chat-state"')
        await page.disconnect()

    run(scenario)


@live
def test_the_agent_typing_reaches_the_customer_at_most_once_a_second(
    chat: tuple[ChatSession, Case], on_duty: User
) -> None:
    _session, case = chat
    browser = login(on_duty)
    layer = get_channel_layer()

    async def scenario() -> None:
        widget = await layer.new_channel()
        await layer.group_add(widget_group(case.pk), widget)
        page = socket(browser, f"?lang=en&case={case.reference}")
        await page.connect()
        await until(page, 'id="presence"')
        for _ in range(3):  # a burst of keys
            await page.send_json_to({"type": "typing", "on": True})
        await page.send_json_to({"type": "typing", "on": False})
        got = [await asyncio.wait_for(layer.receive(widget), 10), await asyncio.wait_for(layer.receive(widget), 10)]
        with pytest.raises(TimeoutError):
            got.append(await asyncio.wait_for(layer.receive(widget), 0.5))
        assert got == [
            {"type": "chat.typing", "who": "agent", "name": "Maija", "on": True},
            {"type": "chat.typing", "who": "agent", "name": "Maija", "on": False},
        ]
        await page.disconnect()

    run(scenario)


@live
def test_typing_on_a_page_that_is_not_a_chat_goes_nowhere(
    chat: tuple[ChatSession, Case], on_duty: User, make_case: Callable[..., Case]
) -> None:
    _session, case = chat
    email = Channel.objects.create(kind=ChannelKind.EMAIL, name="Mailbox", address="support@shop.example")
    other = make_case(channel=email, message="Hello")
    browser = login(on_duty)
    layer = get_channel_layer()

    async def scenario() -> None:
        widget = await layer.new_channel()
        await layer.group_add(widget_group(case.pk), widget)
        await layer.group_add(widget_group(other.pk), widget)
        page = socket(browser, f"?lang=en&case={other.reference}")
        await page.connect()
        await until(page, 'id="presence"')
        await page.send_json_to({"type": "typing", "on": True})
        await frames(page, 0.5)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(layer.receive(widget), 0.3)
        await page.disconnect()

    run(scenario)


@live
def test_another_page_of_the_agent_gets_my_chats_but_not_the_message(
    chat: tuple[ChatSession, Case], on_duty: User, other_agent: User
) -> None:
    session, _case = chat
    mine, theirs = login(on_duty), login(other_agent)

    async def scenario() -> None:
        inbox = socket(mine, "?lang=en")
        colleague = socket(theirs, "?lang=en")
        for page in (inbox, colleague):
            await page.connect()
            await until(page, 'id="presence"')
        await database_sync_to_async(chat_message_post)(session=session, client_id="c9", text="Haloo?")
        received = await until(inbox, 'id="my-chats"', "2 unanswered messages")
        received += "".join(await frames(inbox, 0.5))
        assert 'id="my-chats"' in received and "Haloo?" not in received and "timeline-list" not in received
        assert await colleague.receive_nothing(timeout=0.3)  # not their chat, not their page
        await inbox.disconnect()
        await colleague.disconnect()

    run(scenario)
