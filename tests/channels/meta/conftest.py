"""Fixtures of the Meta channel tests: secrets in the environment, the Graph API simulator, one channel per kind."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from tiski.channels.models import Channel, ChannelKind
from tiski.simulators.meta import MetaSimulator

APP_SECRET = "3f1c0a9d5e7b4c2a8f6e1d0b9a7c5e3f"
ACCESS_TOKEN = "EAAG-test-access-token-0123456789"
VERIFY_TOKEN = "tiski-verify-7Hq2"
SECRETS = {"app_secret": "TEST_META_APP_SECRET", "access_token": "TEST_META_TOKEN", "verify_token": "TEST_META_VERIFY"}
PHONE_NUMBER_ID = "106540352242922"
PAGE_ID = "104560078900001"
IG_USER_ID = "17841400000000001"


@pytest.fixture(autouse=True)
def meta_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_META_APP_SECRET", APP_SECRET)
    monkeypatch.setenv("TEST_META_TOKEN", ACCESS_TOKEN)
    monkeypatch.setenv("TEST_META_VERIFY", VERIFY_TOKEN)


@pytest.fixture
def meta(settings: Any) -> Iterator[MetaSimulator]:
    """The Graph API simulator, with status callbacks held until the test releases them."""
    simulator = MetaSimulator(
        app_secret=APP_SECRET,
        access_tokens=[ACCESS_TOKEN],
        phone_number_id=PHONE_NUMBER_ID,
        page_id=PAGE_ID,
        ig_user_id=IG_USER_ID,
        hold_callbacks=True,
        callback_delay=0,
    )
    with simulator:
        settings.TISKI_META_GRAPH_URL = simulator.url
        yield simulator


@pytest.fixture
def whatsapp(db: None) -> Channel:
    return Channel.objects.create(
        kind=ChannelKind.WHATSAPP,
        name="WhatsApp support",
        address="+358451112222",
        config={"phone_number_id": PHONE_NUMBER_ID, "waba_id": "102290129340398", "secrets": SECRETS},
    )


@pytest.fixture
def messenger(db: None) -> Channel:
    return Channel.objects.create(
        kind=ChannelKind.MESSENGER, name="Facebook page", config={"page_id": PAGE_ID, "secrets": SECRETS}
    )


@pytest.fixture
def instagram(db: None) -> Channel:
    return Channel.objects.create(
        kind=ChannelKind.INSTAGRAM,
        name="Instagram",
        config={"ig_user_id": IG_USER_ID, "page_id": PAGE_ID, "secrets": SECRETS},
    )


def hook(channel: Channel) -> str:
    """Return the path of CHANNEL's webhook."""
    return f"/hooks/{channel.kind}/{channel.pk}/"


def deliver(
    client: Client, channel: Channel, payload: Any, *, meta: MetaSimulator | None = None, **headers: str
) -> Any:
    """POST PAYLOAD to CHANNEL's webhook through Django's test client, signed by the simulator (or with HEADERS)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload, separators=(",", ":")).encode()
    signer = meta or MetaSimulator(app_secret=APP_SECRET, access_tokens=[])
    sent = headers or {"X-Hub-Signature-256": signer.sign(body)["X-Hub-Signature-256"]}
    return client.post(hook(channel), data=body, content_type="application/json", headers=sent)
