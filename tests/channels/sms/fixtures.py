"""Fixtures and helpers of the SMS channel tests: a local Twilio (the simulator, over real HTTP) and an SMS channel.

Imported by conftest.py here and by tests/channels/test_webhooks.py."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from django.test import Client

from tiski.channels.models import Channel, ChannelKind
from tiski.simulators.twilio import TwilioSimulator, twilio_signature

ACCOUNT = "AC" + "5f" * 16
TOKEN = "0b7c8b3b2a1d4e5f6a7b8c9d0e1f2a3b"
TOKEN_VARIABLE = "TISKI_TEST_TWILIO_TOKEN"
OUR_NUMBER = "+358451112222"
CUSTOMER = "+358401234567"


@pytest.fixture
def twilio(settings) -> Iterator[TwilioSimulator]:  # type: ignore[no-untyped-def]
    """A running Twilio simulator that TISKI_TWILIO_API_URL points at; status callbacks wait for release."""
    simulator = TwilioSimulator(
        auth_tokens={ACCOUNT: TOKEN},
        unsubscribed={"+358401110000"},
        invalid={"+358401119999"},
        blocked_prefixes=("+7",),
        hold_callbacks=True,
        callback_delay=0,
    )
    simulator.start()
    settings.TISKI_TWILIO_API_URL = simulator.url
    yield simulator
    simulator.stop()


def sms_channel_create(monkeypatch: pytest.MonkeyPatch) -> Channel:
    """Create the SMS channel of OUR_NUMBER on ACCOUNT, its auth token in the environment variable it names."""
    monkeypatch.setenv(TOKEN_VARIABLE, TOKEN)
    return Channel.objects.create(
        kind=ChannelKind.SMS,
        name="SMS support",
        address=OUR_NUMBER,
        config={"account_sid": ACCOUNT, "secrets": {"auth_token": TOKEN_VARIABLE}},
    )


@pytest.fixture
def sms_channel(db, monkeypatch) -> Channel:  # type: ignore[no-untyped-def]
    return sms_channel_create(monkeypatch)


def hook_path(channel: Channel) -> str:
    return f"/hooks/sms/{channel.pk}/"


def client_post_signed(
    client: Client, channel: Channel, params: dict[str, str], *, token: str = TOKEN, signature: str | None = None
):  # type: ignore[no-untyped-def]
    """POST PARAMS form-encoded through Django's test client, signed for http://testserver/… as Twilio signs."""
    path = hook_path(channel)
    if signature is None:
        signature = twilio_signature(auth_token=token, url=f"http://testserver{path}", params=params)
    headers = {"X-Twilio-Signature": signature} if signature else {}
    return client.post(path, data=urlencode(params), content_type="application/x-www-form-urlencoded", headers=headers)
