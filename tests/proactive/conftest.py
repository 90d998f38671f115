"""Proactive-service fixtures: customers with phone and email, records of the tyre hotel and contracts, rules."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tests.api.conftest import anonymous, api, nobody, nobody_api  # noqa: F401  (the API's token fixtures)
from tests.routing.conftest import make_agent, online_agent  # noqa: F401  (routing's agent fixtures)
from tiski.channels.models import Channel, ChannelKind
from tiski.customers.models import Customer, ExternalRecord, Identity
from tiski.proactive import services
from tiski.proactive.models import ProactiveRule
from tiski.routing.models import Queue

_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def _clock_ready():  # type: ignore[no-untyped-def]
    """The clock runs at most every few minutes per process: each test starts with it due."""
    services._next_check = 0.0
    yield
    services._next_check = 0.0


@pytest.fixture
def channels(db: None) -> dict[str, Channel]:
    return {
        "phone": Channel.objects.create(kind=ChannelKind.PHONE, name="Service line", address="+358201234567"),
        "email": Channel.objects.create(kind=ChannelKind.EMAIL, name="Service mail", address="palvelu@shop.example"),
    }


@pytest.fixture
def outreach(db: None) -> Queue:
    return Queue.objects.create(name="Outreach", name_fi="Yhteydenotot", priority=6)


@pytest.fixture
def make_customer(db: None) -> Callable[..., Customer]:
    """make_customer("Liisa", phone=True, email=True, interests="…", marketing_suppressed=False)."""

    def make(name: str = "", *, phone: bool = True, email: bool = True, **fields: Any) -> Customer:
        n = next(_numbers)
        customer = Customer.objects.create(name=name or f"Customer {n}", **fields)
        if phone:
            Identity.objects.create(customer=customer, kind=Identity.Kind.PHONE, value=f"+35840{n:07d}")
        if email:
            Identity.objects.create(customer=customer, kind=Identity.Kind.EMAIL, value=f"c{n}@example.com")
        return customer

    return make


@pytest.fixture
def make_record(db: None) -> Callable[..., ExternalRecord]:
    """make_record(customer, kind="asset", attributes={…}, renewal_date=…)."""

    def make(customer: Customer | None, *, kind: str = "asset", **fields: Any) -> ExternalRecord:
        n = next(_numbers)
        fields.setdefault("title", f"Record {n}")
        fields.setdefault("source", "erp")
        return ExternalRecord.objects.create(customer=customer, kind=kind, external_id=f"X-{n}", **fields)

    return make


@pytest.fixture
def tyre_rule(outreach: Queue) -> ProactiveRule:
    rule = ProactiveRule(
        name="Winter tyres worn out",
        trigger=ProactiveRule.Trigger.THRESHOLD,
        record_kind="asset",
        attribute="tyre_tread_mm",
        comparison="lt",
        threshold=4,
        work_kind="call",
        queue=outreach,
        priority=3,
        subject_template="Winter tyres worn out: {customer} ({value} mm)",
        reason="The stored winter tyres are worn out: offer new ones before the season.",
    )
    rule.full_clean()
    rule.save()
    return rule


@pytest.fixture
def renewal_rule(outreach: Queue) -> ProactiveRule:
    rule = ProactiveRule(
        name="Contract renewal",
        trigger=ProactiveRule.Trigger.DATE,
        record_kind="contract",
        record_statuses="active",
        date_field="renewal_date",
        days_ahead=30,
        work_kind="message",
        queue=outreach,
        subject_template="Contract renews on {date}: {record}",
        reason="Tell the customer what renewing includes.",
    )
    rule.full_clean()
    rule.save()
    return rule


@pytest.fixture
def icy_rule(outreach: Queue) -> ProactiveRule:
    rule = ProactiveRule(
        name="Icy evening: four-wheel drive",
        trigger=ProactiveRule.Trigger.EVENT,
        event_name="icy_evening",
        interests="neliveto, nelivetoinen\nfour-wheel drive, ÄLYRENGAS",
        work_kind="call",
        queue=outreach,
        marketing=True,
        subject_template="{event}: four-wheel drive for {customer}",
        reason="The first icy evening: the customer has asked about four-wheel drive.",
    )
    rule.full_clean()
    rule.save()
    return rule


def in_days(days: int):  # type: ignore[no-untyped-def]
    return timezone.localdate() + timedelta(days=days)
