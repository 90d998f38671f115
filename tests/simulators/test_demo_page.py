"""The demo's provider simulators and its simulator page: a customer's SMS reaches Tiski as a signed webhook over
real HTTP, and the reply an agent sends reaches the simulated provider, which reports it delivered."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD
from tiski.cases.models import Case, Message
from tiski.cases.services import message_reply
from tiski.channels.meta.models import WhatsAppTemplate
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.outbox import outbox_attempt
from tiski.simulators import demo
from tiski.simulators.environment import SECRETS

pytestmark = pytest.mark.django_db(transaction=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def providers(live_server, settings, monkeypatch) -> Iterator[demo.Providers]:  # type: ignore[no-untyped-def]
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    settings.TISKI_BASE_URL = live_server.url
    settings.TISKI_TWILIO_API_URL = f"http://127.0.0.1:{_free_port()}"
    settings.TISKI_META_GRAPH_URL = f"http://127.0.0.1:{_free_port()}/v21.0"
    Channel.objects.create(kind=ChannelKind.SMS, name="SMS", address="+358504242420")
    running = demo.providers_start()
    yield running
    running.stop()
    demo.PROVIDERS = None


def _client(user: User) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_the_page_is_not_there_without_the_demo_and_only_for_agents(agent: User) -> None:
    outsider = User.objects.create_user("outsider", password=PASSWORD)
    assert _client(agent).get(reverse("simulator")).status_code == 404
    assert _client(outsider).get(reverse("simulator")).status_code == 403
    assert Client().get(reverse("simulator")).status_code == 302  # to the login page


def test_an_sms_written_on_the_page_becomes_a_case_and_the_reply_is_delivered(
    providers: demo.Providers, agent: User
) -> None:
    channels = {c.kind: c for c in Channel.objects.all()}
    assert channels[ChannelKind.SMS].config["secrets"] == {"auth_token": "TISKI_DEMO_TWILIO_TOKEN"}
    assert {ChannelKind.WHATSAPP, ChannelKind.MESSENGER, ChannelKind.INSTAGRAM} <= set(channels)
    templates = WhatsAppTemplate.objects.filter(channel=channels[ChannelKind.WHATSAPP], status="approved")
    assert {(t.name, t.language) for t in templates} >= {("order_update", "fi"), ("order_update", "en")}
    client = _client(agent)
    answer = client.post(
        reverse("simulator"), {"kind": "sms", "sender": "040 123 4567", "name": "Anssi", "text": "Missä tilaukseni on?"}
    )
    assert answer.status_code == 302
    message = Message.objects.get(direction=Message.Direction.IN)
    assert message.body_text == "Missä tilaukseni on?"
    assert message.identity is not None and message.identity.value == "+358401234567"
    case = Case.objects.get(pk=message.case_id)
    assert case.channel == channels[ChannelKind.SMS]

    reply = message_reply(case=case, actor=agent, body="Se on matkalla, perillä huomenna.")
    assert outbox_attempt(delivery_id=reply.delivery.pk) == "sent"
    sent = providers.twilio.messages[-1]
    assert (sent.to, sent.body) == ("+358401234567", "Se on matkalla, perillä huomenna.")
    deadline = time.monotonic() + 10
    while Message.objects.get(pk=reply.pk).delivery_status != Message.Delivery.DELIVERED:
        assert time.monotonic() < deadline, "the simulated provider's delivery report did not arrive"
        time.sleep(0.1)
    page = client.get(reverse("simulator")).content.decode()
    assert "Se on matkalla, perillä huomenna." in page and "Delivered" in page


def test_a_bad_number_gets_a_clear_error_and_sends_nothing(providers: demo.Providers, agent: User) -> None:
    answer = _client(agent).post(reverse("simulator"), {"kind": "sms", "sender": "not a number", "text": "Hei"})
    assert answer.status_code == 200
    assert "Write a phone number" in answer.content.decode()
    assert not Message.objects.exists()


def test_a_caller_waits_in_the_phone_queue_and_presses_1_for_a_callback(providers: demo.Providers, agent: User) -> None:
    from tiski.channels.voice.models import Call, CallbackRequest
    from tiski.routing.models import WorkItem

    client = _client(agent)
    client.post(reverse("simulator"), {"phone": "call", "caller": "040 765 4321"}, HTTP_ACCEPT_LANGUAGE="en")
    page = client.get(reverse("simulator"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "in the queue, waited 0:00" in page and "Thank you for waiting" in page and "Press 1" not in page
    assert Call.objects.get().status == "ringing"

    client.post(reverse("simulator"), {"phone": "wait"})
    client.post(reverse("simulator"), {"phone": "wait"})  # a minute: the demo line offers a callback
    page = client.get(reverse("simulator"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "waited 1:00" in page and "press 1" in page and "Press 1: call me back" in page

    answer = client.post(reverse("simulator"), {"phone": "press"}, HTTP_ACCEPT_LANGUAGE="en", follow=True)
    request = CallbackRequest.objects.get()
    assert f"Callback requested: {request.case.reference} waits in the console" in answer.content.decode()
    assert (request.source, request.number, request.status) == ("keypress", "+358407654321", "queued")
    assert Call.objects.get().case == request.case  # the call, which ended in the queue, is logged there
    assert WorkItem.objects.get(case=request.case).channel_kind == "callback"


def test_a_call_placed_from_the_console_is_played_through_by_the_demos_twilio(
    providers: demo.Providers, agent: User
) -> None:
    from tiski.channels.voice.models import Call
    from tiski.customers.models import Customer, Identity

    providers.twilio.answer_calls_after, providers.twilio.talk_s = 0.2, 0.3
    customer = Customer.objects.create(name="Liisa Laine")
    Identity.objects.create(customer=customer, kind=Identity.Kind.PHONE, value="+358401234567")
    case = Case.objects.create(customer=customer, subject="Soittopyyntö")
    client = _client(agent)
    client.post(reverse("console:case-dial", args=[case.reference]), {"number": "+358401234567"})
    # Wait on the simulator, not the database: polling SQLite's shared in-memory test database while the
    # server thread writes to it can find the table locked.
    deadline = time.monotonic() + 15
    played = []
    while time.monotonic() < deadline and len(played) < 3:
        played = [c for c in providers.twilio.callbacks if c.params.get("CallStatus")]
        time.sleep(0.1)
    assert [c.params["CallStatus"] for c in played] == ["ringing", "in-progress", "completed"]
    assert {c.status for c in played} == {200}
    call = Call.objects.get()
    assert (call.status, call.direction, call.case, call.agent, call.talk_s) == ("ended", "outbound", case, agent, 0)
