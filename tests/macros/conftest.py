"""Macro fixtures: cases on email, SMS (Twilio simulator over HTTP) and chat, each opened through its real intake."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User

from tests.channels.sms.fixtures import sms_channel, twilio  # noqa: F401  (fixtures used by these tests)
from tiski.cases.models import Case
from tiski.channels.chat.services import chat_message_post, chat_session_start
from tiski.channels.interface import InboundMessage, Threading
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.services import message_receive
from tiski.customers.services import Handle
from tiski.macros.models import Macro
from tiski.macros.services import macro_create
from tiski.simulators.twilio import new_sid

OUTAGE_ACTIONS = [
    {"action": "reply", "body": "Hei {{ customer.first_name }}, korjaamme häiriötä. Viite {{ case.reference }}."},
    {"action": "set_status", "status": "pending"},
    {"action": "add_tags", "tags": ["outage-2026-11"]},
]


@pytest.fixture
def mailbox(db: Any) -> Channel:
    return Channel.objects.create(kind=ChannelKind.EMAIL, name="Support mailbox", address="support@shop.example")


@pytest.fixture
def chat_channel(db: Any) -> Channel:
    return Channel.objects.create(
        kind=ChannelKind.CHAT, name="Shop chat", config={"allowed_origins": ["https://shop.example"]}
    )


@pytest.fixture
def email_case(mailbox: Channel) -> Callable[..., Case]:
    def make(address: str = "anssi@example.com", name: str = "Anssi Asiakas", subject: str = "Tilaus ei näy") -> Case:
        inbound = InboundMessage(
            channel=mailbox,
            handles=[Handle("email", address)],
            subject=subject,
            body_text="Verkkokauppa ei toimi.",
            sender_name=name,
            external_id=f"<{new_sid('EM')}@example.com>",
        )
        return message_receive(inbound=inbound).case

    return make


@pytest.fixture
def sms_case(sms_channel: Channel) -> Callable[..., Case]:  # noqa: F811
    def make(number: str = "+358401234567", name: str = "") -> Case:
        inbound = InboundMessage(
            channel=sms_channel,
            handles=[Handle("phone", number)],
            body_text="Sivusto ei aukea",
            sender_name=name,
            external_id=new_sid("SM"),
            threading=Threading.CONVERSATION,
        )
        return message_receive(inbound=inbound).case

    return make


@pytest.fixture
def chat_case(chat_channel: Channel) -> Callable[..., Case]:
    def make(name: str = "Liisa Chat", email: str = "liisa@example.com") -> Case:
        session, _token = chat_session_start(channel=chat_channel, prechat={"name": name, "email": email})
        receipt = chat_message_post(session=session, client_id=new_sid("CL"), text="Kassa ei toimi")
        return receipt.case

    return make


@pytest.fixture
def outage_macro(team_lead: User) -> Macro:
    return macro_create(actor=team_lead, name="Outage status update", actions=OUTAGE_ACTIONS, shared=True)
