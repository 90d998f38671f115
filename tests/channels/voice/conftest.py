"""Phone channels (Twilio and a generic PBX) and a caller the voice tests share."""

from __future__ import annotations

import pytest

from tests.channels.voice.calls import CALLER, LINE, SECRET, TOKEN
from tiski.channels.models import Channel, ChannelKind
from tiski.customers.models import Customer, Identity


@pytest.fixture
def twilio_phone(db, monkeypatch) -> Channel:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TISKI_TEST_VOICE_TOKEN", TOKEN)
    return Channel.objects.create(
        kind=ChannelKind.PHONE,
        name="Phone (Twilio)",
        address=LINE,
        config={"provider": "twilio", "secrets": {"auth_token": "TISKI_TEST_VOICE_TOKEN"}},
    )


@pytest.fixture
def pbx_phone(db, monkeypatch) -> Channel:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TISKI_TEST_PBX_SECRET", SECRET)
    return Channel.objects.create(
        kind=ChannelKind.PHONE,
        name="Phone (PBX)",
        address=LINE,
        config={"provider": "generic", "secrets": {"signing_secret": "TISKI_TEST_PBX_SECRET"}},
    )


@pytest.fixture
def liisa(db) -> Customer:  # type: ignore[no-untyped-def]
    customer = Customer.objects.create(name="Liisa Laine")
    Identity.objects.create(customer=customer, kind=Identity.Kind.PHONE, value=CALLER)
    return customer


@pytest.fixture(autouse=True)
def _round_the_clock(db) -> None:  # type: ignore[no-untyped-def]
    """Callback targets count the default calendar's opening hours; these tests run at any hour, so without one
    (the test of opening hours sets its own)."""
    from tiski.sla.models import BusinessCalendar

    BusinessCalendar.objects.filter(is_default=True).update(is_default=False)
