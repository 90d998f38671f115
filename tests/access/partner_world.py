"""A small company with a partner, for the access tests: imported as a fixture by the test modules.

Chatly Oy runs the chat and Messenger channels and the chat queue. Its agent Sanna sees the chat case, the case
handed to Chatly's team and the case queued in the chat queue; never the email case or the other customer.
Bea is a read-only billing colleague; Maija an ordinary agent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.conftest import PASSWORD
from tiski.accounts.models import Partner, Team
from tiski.accounts.roles import PARTNER_AGENT, READ_ONLY
from tiski.accounts.services import agent_create
from tiski.cases.models import Case, Message, Note
from tiski.channels.models import Channel, ChannelKind
from tiski.customers.models import Customer, ExternalRecord, Identity
from tiski.routing.models import Queue, WorkItem


@dataclass
class World:
    partner: Partner
    chat: Channel
    messenger: Channel
    email: Channel
    q_chat: Queue
    q_general: Queue
    t_partner: Team
    t_billing: Team
    sanna: User  # partner agent
    bea: User  # read-only
    maija: User  # agent
    anssi: Customer  # chat case and email case
    olli: Customer  # an invisible email case and a visible queued one
    other: Customer  # Nora: only an invisible email case
    c_chat: Case  # on the granted chat channel: visible
    c_mail: Case  # Anssi's email case: invisible
    c_handed: Case  # email, handed to the partner's team: visible
    c_queued: Case  # email, queued in the granted chat queue: visible
    c_other: Case  # Nora's email case: invisible, and so is Nora
    c_olli: Case  # Olli's email case: invisible (Olli is visible through c_queued only)
    chat_identity: Identity
    email_identity: Identity
    phone_identity: Identity

    def client_for(self, user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    @property
    def visible(self) -> list[Case]:
        return [self.c_chat, self.c_handed, self.c_queued]

    @property
    def invisible(self) -> list[Case]:
        return [self.c_mail, self.c_other, self.c_olli]


def _message(case: Case, channel: Channel, body: str, identity: Identity | None = None, **extra: Any) -> Message:
    return Message.objects.create(
        case=case,
        channel=channel,
        direction=extra.pop("direction", Message.Direction.IN),
        author=extra.pop("author", Message.Author.CUSTOMER),
        sender_name=case.customer.name,
        body_text=body,
        identity=identity,
        **extra,
    )


def world_create() -> World:
    chat = Channel.objects.create(kind=ChannelKind.CHAT, name="Shop chat", address="shop")
    messenger = Channel.objects.create(kind=ChannelKind.MESSENGER, name="Messenger", address="shop-fb")
    email = Channel.objects.create(kind=ChannelKind.EMAIL, name="Support mail", address="support@shop.example")
    t_partner = Team.objects.create(name="Chatly team")
    t_chat_owner = Team.objects.create(name="Chat desk")
    t_billing = Team.objects.create(name="Billing")
    q_chat = Queue.objects.create(name="Chat queue", team=t_chat_owner)
    q_general = Queue.objects.create(name="General queue")
    partner = Partner.objects.create(name="Chatly Oy")
    partner.channels.set([chat, messenger])
    partner.queues.set([q_chat])
    t_partner.partner = partner
    t_partner.save()
    sanna = agent_create(
        username="sanna", password=PASSWORD, role=PARTNER_AGENT, partner=partner, first_name="Sanna", last_name="Salo"
    )
    bea = agent_create(username="bea", password=PASSWORD, role=READ_ONLY, first_name="Bea", teams=[t_billing])
    maija = agent_create(username="maija", password=PASSWORD, role="agent", first_name="Maija")
    anssi = Customer.objects.create(name="Anssi Asiakas", notes="Prefers phone calls. VIP since 2019.")
    chat_identity = Identity.objects.create(customer=anssi, kind="chat", value="chat-visitor-1")
    email_identity = Identity.objects.create(customer=anssi, kind="email", value="anssi@example.com")
    phone_identity = Identity.objects.create(customer=anssi, kind="phone", value="+358401111111")
    ExternalRecord.objects.create(
        customer=anssi, kind="order", source="crm", external_id="ORD-778", title="Bike Helkama 28"
    )
    other = Customer.objects.create(name="Olli Other")
    Identity.objects.create(customer=other, kind="email", value="olli@example.com")
    c_chat = Case.objects.create(subject="Which helmet size", customer=anssi, channel=chat)
    _message(c_chat, chat, "Hi, which helmet size fits a 58 cm head?", chat_identity)
    c_mail = Case.objects.create(subject="Invoice overdue ORD-778", customer=anssi, channel=email)
    _message(c_mail, email, "My invoice secret-invoice-text is wrong", email_identity)
    Note.objects.create(case=c_mail, author=maija, body="internal-mail-note: credit check pending")
    c_handed = Case.objects.create(subject="Chat follow-up", customer=anssi, channel=email, team=t_partner)
    _message(c_handed, email, "Following up on the chat", email_identity)
    c_olli = Case.objects.create(subject="Olli's delivery", customer=other, channel=email)
    _message(c_olli, email, "Where is my parcel olli-secret", None)
    c_queued = Case.objects.create(subject="Queued for chat desk", customer=other, channel=email)
    WorkItem.objects.create(case=c_queued, queue=q_chat, channel_kind="email", units=1, status=WorkItem.Status.DONE)
    # c_queued makes Olli visible too, through that case only; a second customer with nothing visible:
    nobody = Customer.objects.create(name="Nora Nobody")
    Identity.objects.create(customer=nobody, kind="email", value="nora@example.com")
    c_other = Case.objects.create(subject="Nora's return", customer=nobody, channel=email)
    _message(c_other, email, "Return my skis nora-secret", None)
    Note.objects.create(case=c_chat, author=maija, body="internal-chat-note: offered a discount code")
    return World(
        partner=partner,
        chat=chat,
        messenger=messenger,
        email=email,
        q_chat=q_chat,
        q_general=q_general,
        t_partner=t_partner,
        t_billing=t_billing,
        sanna=sanna,
        bea=bea,
        maija=maija,
        anssi=anssi,
        olli=other,
        other=nobody,
        c_chat=c_chat,
        c_mail=c_mail,
        c_handed=c_handed,
        c_queued=c_queued,
        c_other=c_other,
        c_olli=c_olli,
        chat_identity=chat_identity,
        email_identity=email_identity,
        phone_identity=phone_identity,
    )


@pytest.fixture
def world(db: Any) -> World:
    return world_create()
