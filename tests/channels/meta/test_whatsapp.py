"""WhatsApp Cloud API webhooks through the one webhook view: handshake, signature, retries, media, routing.

Media are fetched from the Graph API simulator over real HTTP (GET /{media id} → URL → bytes, both with the
access token); webhook bodies are signed by the simulator's own implementation of Meta's rule.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tiski.cases.models import Attachment, Case, Message
from tiski.cases.services import message_reply
from tiski.channels.models import Channel, ChannelKind, QuarantinedMail
from tiski.customers.models import Customer, Identity
from tiski.customers.services import Handle, customer_create
from tiski.simulators.meta import MetaSimulator

from .conftest import ACCESS_TOKEN, SECRETS, VERIFY_TOKEN, deliver, hook

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4


def test_subscription_handshake_answers_the_challenge_for_the_right_verify_token(
    client: Client, whatsapp: Channel
) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    response = client.get(hook(whatsapp), query)
    assert response.status_code == 200
    assert response.content == b"1158201444"


@pytest.mark.parametrize(
    "query",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "guessed", "hub.challenge": "1158201444"},
        {"hub.mode": "subscribe", "hub.challenge": "1158201444"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"},
        {},
    ],
)
def test_subscription_handshake_with_a_wrong_token_or_mode_is_refused(
    client: Client, whatsapp: Channel, query: dict[str, str]
) -> None:
    response = client.get(hook(whatsapp), query)
    assert response.status_code == 403
    assert b"1158201444" not in response.content


def test_signed_text_message_is_stored_with_the_senders_name_and_e164_number(
    client: Client, whatsapp: Channel, meta: MetaSimulator
) -> None:
    payload = meta.whatsapp_body(from_="358401234567", text="Hei, missä tilaukseni on?", name="Anssi Asiakas")
    response = deliver(client, whatsapp, payload, meta=meta)
    assert response.status_code == 200
    message = Message.objects.get()
    assert message.body_text == "Hei, missä tilaukseni on?"
    assert message.sender_name == "Anssi Asiakas"
    assert message.external_id == payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    assert message.channel == whatsapp
    assert message.identity is not None
    assert (message.identity.kind, message.identity.value) == ("phone", "+358401234567")
    assert message.case.customer.name == "Anssi Asiakas"


@pytest.mark.parametrize(
    "headers",
    [
        {},  # no signature
        {"X-Hub-Signature-256": "sha256=" + "0" * 64},  # forged
        {"X-Hub-Signature-256": "sha256=zz"},  # garbage
    ],
)
def test_unsigned_or_forged_webhook_gets_403_and_stores_nothing(
    client: Client, whatsapp: Channel, meta: MetaSimulator, headers: dict[str, str]
) -> None:
    payload = meta.whatsapp_body(from_="358401234567", text="Hei")
    body = json.dumps(payload).encode()
    response = client.post(hook(whatsapp), data=body, content_type="application/json", headers=headers)
    assert response.status_code == 403
    assert not Message.objects.exists()
    assert not Customer.objects.exists()
    assert not QuarantinedMail.objects.exists()


def test_signature_with_an_old_app_secret_or_over_another_body_is_refused(
    client: Client, whatsapp: Channel, meta: MetaSimulator
) -> None:
    payload = meta.whatsapp_body(from_="358401234567", text="Hei")
    body = json.dumps(payload).encode()
    stale = MetaSimulator(app_secret="the-secret-before-it-was-reset", access_tokens=[]).sign(body)
    response = client.post(hook(whatsapp), data=body, content_type="application/json", headers=stale)
    assert response.status_code == 403
    other = meta.sign(body + b" ")
    response = client.post(hook(whatsapp), data=body, content_type="application/json", headers=other)
    assert response.status_code == 403
    assert not Message.objects.exists()


def test_a_retried_delivery_is_stored_once(client: Client, whatsapp: Channel, meta: MetaSimulator) -> None:
    payload = meta.whatsapp_body(from_="358401234567", text="Hei")
    for _ in range(3):
        assert deliver(client, whatsapp, payload, meta=meta).status_code == 200
    assert Message.objects.count() == 1
    assert Case.objects.count() == 1


def test_next_message_continues_the_customers_open_case(client: Client, whatsapp: Channel, meta: MetaSimulator) -> None:
    deliver(client, whatsapp, meta.whatsapp_body(from_="358401234567", text="Hei"), meta=meta)
    deliver(client, whatsapp, meta.whatsapp_body(from_="358401234567", text="Tilaus 1042"), meta=meta)
    assert Case.objects.count() == 1
    assert Case.objects.get().messages.count() == 2


def test_image_is_downloaded_through_the_graph_api_and_stored_with_its_caption(
    client: Client, whatsapp: Channel, meta: MetaSimulator
) -> None:
    payload = meta.whatsapp_body(from_="358401234567", media=(JPEG, "image/jpeg", "image"), caption="Rikki tuli")
    assert deliver(client, whatsapp, payload, meta=meta).status_code == 200
    message = Message.objects.get()
    assert message.body_text == "Rikki tuli"
    attachment = Attachment.objects.get()
    assert attachment.content_type == "image/jpeg"
    assert attachment.file.read() == JPEG
    assert attachment.filename.endswith(".jpg")
    media_id = payload["entry"][0]["changes"][0]["value"]["messages"][0]["image"]["id"]
    assert ("GET", f"/{media_id}") in meta.requests
    assert ("GET", f"/download/{media_id}") in meta.requests


def test_document_keeps_its_file_name(client: Client, whatsapp: Channel, meta: MetaSimulator) -> None:
    payload = meta.whatsapp_body(from_="358401234567", media=(PDF, "application/pdf", "document"))
    deliver(client, whatsapp, payload, meta=meta)
    attachment = Attachment.objects.get()
    assert attachment.filename == "document.pdf"
    assert attachment.file.read() == PDF


def test_media_that_cannot_be_fetched_is_stored_as_a_readable_note(
    client: Client, whatsapp: Channel, meta: MetaSimulator
) -> None:
    message = {"type": "image", "image": {"id": "999000111", "mime_type": "image/jpeg", "caption": "Kuva"}}
    deliver(client, whatsapp, meta.whatsapp_body(from_="358401234567", message=message), meta=meta)
    stored = Message.objects.get()
    assert stored.body_text.startswith("Kuva\n[image 999000111 could not be downloaded from WhatsApp")
    assert b"999000111" in bytes(stored.raw)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            {"type": "location", "location": {"latitude": 60.17, "longitude": 24.94, "name": "Kauppatori"}},
            "📍 Location: Kauppatori (60.17, 24.94)",
        ),
        (
            {
                "type": "contacts",
                "contacts": [{"name": {"formatted_name": "Chandler Bing"}, "phones": [{"phone": "+1 555-555-5555"}]}],
            },
            "Shared contact(s):\nChandler Bing +1 555-555-5555",
        ),
        (
            {
                "type": "unsupported",
                "errors": [{"code": 131051, "error_data": {"details": "Message type is currently not supported."}}],
            },
            "[unsupported WhatsApp message (unsupported): Message type is currently not supported.]",
        ),
        ({"type": "button", "button": {"text": "Kyllä", "payload": "yes"}}, "Kyllä"),
    ],
)
def test_non_text_messages_become_readable_text(
    client: Client, whatsapp: Channel, meta: MetaSimulator, message: dict[str, Any], expected: str
) -> None:
    deliver(client, whatsapp, meta.whatsapp_body(from_="358401234567", message=message), meta=meta)
    assert Message.objects.get().body_text.startswith(expected)


def test_reaction_is_not_a_message(client: Client, whatsapp: Channel, meta: MetaSimulator) -> None:
    message = {"type": "reaction", "reaction": {"message_id": "wamid.x", "emoji": "👍"}}
    assert (
        deliver(client, whatsapp, meta.whatsapp_body(from_="358401234567", message=message), meta=meta).status_code
        == 200
    )
    assert not Message.objects.exists()


def test_whatsapp_number_is_the_same_customer_as_their_phone_identity(
    client: Client, whatsapp: Channel, meta: MetaSimulator
) -> None:
    known = customer_create(name="Anssi Asiakas", identities=[Handle("phone", "040 123 4567")])
    deliver(client, whatsapp, meta.whatsapp_body(from_="358401234567", text="Hei"), meta=meta)
    message = Message.objects.get()
    assert message.case.customer == known
    assert Identity.objects.filter(customer=known).count() == 1


def test_body_for_another_number_of_the_same_app_goes_to_that_channel(
    client: Client, whatsapp: Channel, meta: MetaSimulator
) -> None:
    sales = Channel.objects.create(
        kind=ChannelKind.WHATSAPP, name="WhatsApp sales", config={"phone_number_id": "222000333", "secrets": SECRETS}
    )
    payload = meta.whatsapp_body(from_="358401234567", text="Tarjous?", phone_number_id="222000333")
    assert deliver(client, whatsapp, payload, meta=meta).status_code == 200
    assert Message.objects.get().channel == sales


def test_body_for_an_unknown_number_is_ignored(client: Client, whatsapp: Channel, meta: MetaSimulator) -> None:
    payload = meta.whatsapp_body(from_="358401234567", text="Hei", phone_number_id="555666777")
    assert deliver(client, whatsapp, payload, meta=meta).status_code == 200
    assert not Message.objects.exists()


def test_body_that_is_not_json_is_quarantined_not_lost(client: Client, whatsapp: Channel, meta: MetaSimulator) -> None:
    response = deliver(client, whatsapp, b"{not json", meta=meta)
    assert response.status_code == 200
    assert bytes(QuarantinedMail.objects.get().raw) == b"{not json"


def test_channel_without_app_secret_variable_answers_503_so_meta_retries(
    client: Client, whatsapp: Channel, meta: MetaSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEST_META_APP_SECRET")
    response = deliver(client, whatsapp, meta.whatsapp_body(from_="358401234567", text="Hei"), meta=meta)
    assert response.status_code == 503
    assert b"TEST_META_APP_SECRET" in response.content
    assert not Message.objects.exists()


def test_message_answering_an_earlier_one_threads_by_its_context(
    client: Client, whatsapp: Channel, meta: MetaSimulator
) -> None:
    first = meta.whatsapp_body(from_="358401234567", text="Eka")
    deliver(client, whatsapp, first, meta=meta)
    case = Case.objects.get()
    case.status = Case.Status.CLOSED
    case.save()
    first_id = first["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    reply = {"type": "text", "text": {"body": "Vastaus"}, "context": {"from": "358451112222", "id": first_id}}
    deliver(client, whatsapp, meta.whatsapp_body(from_="358401234567", message=reply, timestamp=time.time()), meta=meta)
    assert Message.objects.count() == 2  # a closed case is not reopened: the pipeline opens a follow-up
    assert Case.objects.count() == 2


def test_failed_status_with_metas_re_engagement_error_is_explained_on_the_reply(
    client: Client, whatsapp: Channel, meta: MetaSimulator, agent: User, run_tasks: Any
) -> None:
    deliver(client, whatsapp, meta.whatsapp_body(from_="358401234567", text="Hei"), meta=meta)
    meta.wrote_at("358401234567", time.time())  # delivered by the test client: tell the simulator's window
    reply = message_reply(case=Case.objects.get(), actor=agent, body="Vastaus")
    run_tasks()
    reply.refresh_from_db()
    status = {
        "id": reply.external_id,
        "status": "failed",
        "timestamp": str(int(time.time())),
        "recipient_id": "358401234567",
        "errors": [{"code": 131047, "title": "Re-engagement message", "message": "Re-engagement message"}],
    }
    payload = meta.whatsapp_body(from_="358401234567", text="x")
    value = payload["entry"][0]["changes"][0]["value"]
    del value["messages"], value["contacts"]
    value["statuses"] = [status]
    assert deliver(client, whatsapp, payload, meta=meta).status_code == 200
    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.FAILED
    assert reply.delivery_error == (
        "error 131047: more than 24 hours have passed since the customer last wrote; "
        "only an approved template can be sent"
    )


def test_each_number_is_routed_to_its_own_queue_by_a_channel_rule(
    client: Client, whatsapp: Channel, meta: MetaSimulator
) -> None:
    from tiski.routing.models import Queue, RoutingRule, WorkItem

    sales = Channel.objects.create(
        kind=ChannelKind.WHATSAPP, name="WhatsApp sales", config={"phone_number_id": "222000333", "secrets": SECRETS}
    )
    queue = Queue.objects.create(name="Sales")
    RoutingRule.objects.create(name="Sales number", queue=queue).channels.add(sales)
    deliver(client, whatsapp, meta.whatsapp_body(from_="358401234567", text="Tuki?"), meta=meta)
    deliver(
        client,
        whatsapp,
        meta.whatsapp_body(from_="358407654321", text="Myynti?", phone_number_id="222000333"),
        meta=meta,
    )
    queues = {item.case.messages.get().body_text: item.queue.name for item in WorkItem.objects.select_related("queue")}
    assert queues["Myynti?"] == "Sales"
    assert queues["Tuki?"] != "Sales"


def test_reply_with_files_uploads_them_and_sends_each_as_media(
    client: Client, whatsapp: Channel, meta: MetaSimulator, agent: User, run_tasks: Any
) -> None:
    from tiski.cases.services import FileIn

    deliver(client, whatsapp, meta.whatsapp_body(from_="358401234567", text="Lähetättekö kuitin?"), meta=meta)
    meta.wrote_at("358401234567", time.time())
    files = [FileIn("kuitti.pdf", "application/pdf", PDF), FileIn("kuva.jpg", "image/jpeg", JPEG)]
    reply = message_reply(case=Case.objects.get(), actor=agent, body="Tässä kuitti ja kuva.", files=files)
    run_tasks()
    kinds = [sent.payload["type"] for sent in meta.sent]
    assert kinds == ["text", "document", "image"]
    document, image = meta.sent[1].payload, meta.sent[2].payload
    assert document["document"]["filename"] == "kuitti.pdf"
    bearer = {"authorization": f"Bearer {ACCESS_TOKEN}"}
    uploaded = {
        media: meta.handle("GET", f"/download/{media}", bearer, b"")[2]
        for media in (document["document"]["id"], image["image"]["id"])
    }
    assert list(uploaded.values()) == [PDF, JPEG]
    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.SENT
    assert reply.external_id == meta.sent[0].message_id
