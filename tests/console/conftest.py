"""Console fixtures: logged-in clients per role and a small factory for cases on any channel."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tiski.cases.models import Case, Message
from tiski.channels.models import Channel, ChannelKind
from tiski.customers.models import Customer, Identity


def login(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


@pytest.fixture
def agent_client(client: Client, agent: User) -> Client:
    return login(client, agent)


@pytest.fixture
def lead_client(client: Client, team_lead: User) -> Client:
    return login(client, team_lead)


@pytest.fixture
def admin_client_(client: Client, administrator: User) -> Client:
    return login(client, administrator)


@pytest.fixture
def email_channel(db: Any) -> Channel:
    return Channel.objects.create(kind=ChannelKind.EMAIL, name="Support mailbox", address="support@shop.example")


@pytest.fixture
def phone_channel(db: Any) -> Channel:
    return Channel.objects.create(kind=ChannelKind.PHONE, name="Phone line", address="+358401234567")


@pytest.fixture
def make_case(db: Any) -> Callable[..., Case]:
    """Create a case with a customer (and an email identity) directly, for list and filter tests."""
    counter = {"n": 0}

    def make(
        *,
        subject: str = "Order question",
        channel: Channel | None = None,
        customer: Customer | None = None,
        email: str | None = None,
        message: str = "",
        **fields: Any,
    ) -> Case:
        counter["n"] += 1
        if customer is None:
            customer = Customer.objects.create(name=f"Customer {counter['n']}")
            Identity.objects.create(customer=customer, kind="email", value=email or f"c{counter['n']}@example.com")
        case = Case.objects.create(subject=subject, customer=customer, channel=channel, **fields)
        if message and channel is not None:
            Message.objects.create(
                case=case,
                channel=channel,
                direction=Message.Direction.IN,
                author=Message.Author.CUSTOMER,
                sender_name=customer.name,
                body_text=message,
            )
        return case

    return make
