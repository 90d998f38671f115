"""Messenger webhooks through the one webhook view: signature, retries, attachments, echoes, delivery and read."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tiski.cases.models import Attachment, Case, Message
from tiski.cases.services import message_reply
from tiski.channels.models import Channel
from tiski.customers.models import Customer
from tiski.simulators.meta import MetaSimulator

from .conftest import PAGE_ID, VERIFY_TOKEN, deliver, hook

pytestmark = pytest.mark.django_db

PSID = "6543210987654321"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))


def test_handshake(client: Client, messenger: Channel) -> None:
    good = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "42"}
    assert client.get(hook(messenger), good).content == b"42"
    assert client.get(hook(messenger), {**good, "hub.verify_token": "nope"}).status_code == 403


def test_signed_message_is_stored_for_the_page_scoped_id(
    client: Client, messenger: Channel, meta: MetaSimulator
) -> None:
    response = deliver(client, messenger, meta.page_body(kind="messenger", sender=PSID, text="Hei"), meta=meta)
    assert (response.status_code, response.content) == (200, b"EVENT_RECEIVED")
    message = Message.objects.get()
    assert message.body_text == "Hei"
    assert (message.identity.kind, message.identity.value) == ("messenger", PSID)
    assert message.external_id.startswith("m_")


def test_forged_signature_gets_403_and_stores_nothing(client: Client, messenger: Channel, meta: MetaSimulator) -> None:
    body = json.dumps(meta.page_body(kind="messenger", sender=PSID, text="Hei")).encode()
    forged = MetaSimulator(app_secret="not-the-app-secret", access_tokens=[]).sign(body)
    response = client.post(hook(messenger), data=body, content_type="application/json", headers=forged)
    assert response.status_code == 403
    assert not Message.objects.exists()
    assert not Customer.objects.exists()


def test_legacy_sha1_signature_alone_is_accepted(client: Client, messenger: Channel, meta: MetaSimulator) -> None:
    import hashlib
    import hmac

    from .conftest import APP_SECRET

    body = json.dumps(meta.page_body(kind="messenger", sender=PSID, text="Vanha")).encode()
    legacy = "sha1=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha1).hexdigest()
    response = client.post(
        hook(messenger), data=body, content_type="application/json", headers={"X-Hub-Signature": legacy}
    )
    assert response.status_code == 200
    assert Message.objects.get().body_text == "Vanha"


def test_retry_is_stored_once_and_the_conversation_continues(
    client: Client, messenger: Channel, meta: MetaSimulator
) -> None:
    first = meta.page_body(kind="messenger", sender=PSID, text="Hei")
    deliver(client, messenger, first, meta=meta)
    deliver(client, messenger, first, meta=meta)
    deliver(client, messenger, meta.page_body(kind="messenger", sender=PSID, text="Oletko siellä?"), meta=meta)
    assert Message.objects.count() == 2
    assert Case.objects.count() == 1


def test_attachment_is_downloaded_from_its_url(client: Client, messenger: Channel, meta: MetaSimulator) -> None:
    payload = meta.page_body(kind="messenger", sender=PSID, media=(PNG, "image/png", "image"))
    deliver(client, messenger, payload, meta=meta)
    attachment = Attachment.objects.get()
    assert attachment.file.read() == PNG
    assert attachment.content_type == "image/png"
    assert attachment.filename == "image.png"


def test_echo_of_the_pages_own_message_is_ignored(client: Client, messenger: Channel, meta: MetaSimulator) -> None:
    payload = meta.page_body(kind="messenger", sender=PSID, text="Meidän oma viesti")
    payload["entry"][0]["messaging"][0]["message"]["is_echo"] = True
    assert deliver(client, messenger, payload, meta=meta).status_code == 200
    assert not Message.objects.exists()


def test_postback_and_location_become_readable_text(client: Client, messenger: Channel, meta: MetaSimulator) -> None:
    postback = meta.page_body(kind="messenger", sender=PSID)
    event = postback["entry"][0]["messaging"][0]
    del event["message"]
    event["postback"] = {"title": "Aloita", "payload": "GET_STARTED", "mid": "m_postback1"}
    deliver(client, messenger, postback, meta=meta)
    location = meta.page_body(kind="messenger", sender=PSID)
    location["entry"][0]["messaging"][0]["message"]["attachments"] = [
        {"type": "location", "payload": {"coordinates": {"lat": 60.17, "long": 24.94}}}
    ]
    deliver(client, messenger, location, meta=meta)
    assert list(Message.objects.values_list("body_text", flat=True)) == ["Aloita", "📍 Location (60.17, 24.94)"]


def delivery_body(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "page",
        "entry": [
            {"id": PAGE_ID, "time": 1, "messaging": [{"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, **event}]}
        ],
    }


def test_delivery_by_mid_and_read_by_watermark(
    client: Client, messenger: Channel, meta: MetaSimulator, agent: User, run_tasks: Any
) -> None:
    deliver(client, messenger, meta.page_body(kind="messenger", sender=PSID, text="Hei"), meta=meta)
    case = Case.objects.get()
    first = message_reply(case=case, actor=agent, body="Yksi")
    second = message_reply(case=case, actor=agent, body="Kaksi")
    run_tasks()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.external_id and second.external_id
    deliver(client, messenger, delivery_body({"delivery": {"mids": [first.external_id]}}), meta=meta)
    first.refresh_from_db()
    assert first.delivery_status == Message.Delivery.DELIVERED
    assert second.delivery_status == Message.Delivery.SENT
    before_any = int(first.sent_at.timestamp() * 1000) - 60_000
    deliver(client, messenger, delivery_body({"read": {"watermark": before_any}}), meta=meta)
    first.refresh_from_db()
    assert first.delivery_status == Message.Delivery.DELIVERED  # sent after the watermark: not read
    watermark = int(second.sent_at.timestamp() * 1000) + 1000
    deliver(client, messenger, delivery_body({"read": {"watermark": watermark}}), meta=meta)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.delivery_status, second.delivery_status) == (Message.Delivery.READ, Message.Delivery.READ)


def test_reply_longer_than_messengers_limit_is_sent_in_pieces(
    client: Client, messenger: Channel, meta: MetaSimulator, agent: User, run_tasks: Any
) -> None:
    deliver(client, messenger, meta.page_body(kind="messenger", sender=PSID, text="Hei"), meta=meta)
    words = " ".join(["sana"] * 700)  # 3,499 characters
    reply = message_reply(case=Case.objects.get(), actor=agent, body=words)
    run_tasks()
    texts = [sent.payload["message"]["text"] for sent in meta.sent]
    assert len(texts) == 2
    assert all(len(text) <= 2000 for text in texts)
    assert " ".join(texts) == words
    reply.refresh_from_db()
    assert reply.external_id == meta.sent[0].message_id
