"""The chat's HTTP edges and services without a socket: attachment upload and download (token-checked, limited),
the shop's identity token, the sample page, and replies on chat cases that have no live chat."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.channels.chat.conftest import SECRET, SHOP
from tiski.cases.models import Case, Message
from tiski.cases.services import message_reply
from tiski.channels.chat.exceptions import ChatIdentityExpiredError, ChatIdentityInvalidError
from tiski.channels.chat.identity import identity_token_sign, identity_token_verify
from tiski.channels.chat.services import chat_callback_request, chat_session_start
from tiski.channels.models import Channel
from tiski.channels.outbox import outbox_attempt

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def upload(
    channel: Channel,
    *,
    token: str,
    name: str = "receipt.png",
    content: bytes = PNG,
    kind: str = "image/png",
    origin: str = SHOP,
    client_id: str = "f-1",
) -> tuple[int, dict[str, str], dict[str, str]]:
    response = Client().post(
        f"/chat/{channel.pk}/attachments/",
        {"token": token, "id": client_id, "file": SimpleUploadedFile(name, content, content_type=kind)},
        HTTP_ORIGIN=origin,
    )
    return response.status_code, response.json(), dict(response.headers)


def test_an_attachment_is_stored_on_the_chats_case_as_the_customers_message(chat_channel: Channel) -> None:
    _session, token = chat_session_start(channel=chat_channel, language="en", prechat={"email": "anssi@example.com"})
    status, body, headers = upload(chat_channel, token=token)
    assert status == 201, body
    assert headers["Access-Control-Allow-Origin"] == SHOP
    message = Message.objects.get(author="customer")
    assert body["id"] == f"m{message.pk}" and body["case"] == message.case.reference
    assert message.case.customer.identities.get().value == "anssi@example.com"
    [attachment] = message.attachments.all()
    assert attachment.filename == "receipt.png" and attachment.size == len(PNG)
    # the same upload again (a retry) is stored once
    assert upload(chat_channel, token=token)[1]["duplicate"] is True
    assert Message.objects.filter(author="customer").count() == 1
    # the customer downloads it with the token; nobody else can
    url = f"/chat/{chat_channel.pk}/attachments/{attachment.pk}/"
    downloaded = Client().get(url, {"token": token})
    assert downloaded.status_code == 200 and b"".join(downloaded.streaming_content) == PNG
    assert Client().get(url, {"token": "guess"}).status_code == 404
    _other, other_token = chat_session_start(channel=chat_channel, language="en")
    assert Client().get(url, {"token": other_token}).status_code == 404


def test_an_upload_without_a_valid_token_or_from_a_foreign_site_is_refused_and_nothing_is_stored(
    chat_channel: Channel,
) -> None:
    _session, token = chat_session_start(channel=chat_channel, language="en")
    assert upload(chat_channel, token="not-a-token")[0] == 403
    status, body, _headers = upload(chat_channel, token=token, origin="https://evil.example")
    assert status == 403 and body["code"] == "origin_refused"
    assert not Message.objects.exists()


def test_uploads_are_limited_in_size_and_type(chat_channel: Channel, settings: object) -> None:
    settings.TISKI_CHAT_MAX_ATTACHMENT_BYTES = 1024  # type: ignore[attr-defined]
    _session, token = chat_session_start(channel=chat_channel, language="en")
    status, body, _headers = upload(chat_channel, token=token, content=PNG * 20)
    assert status == 413 and body["code"] == "file_too_large"
    status, body, _headers = upload(chat_channel, token=token, name="run.exe", kind="application/x-msdownload")
    assert status == 415 and body["code"] == "file_type"
    assert not Message.objects.exists()


def test_identity_tokens_verify_only_with_the_channels_secret_and_before_expiry(chat_channel: Channel) -> None:
    now = int(time.time())
    good = identity_token_sign(secret=SECRET, email="anssi@example.com", name="Anssi", external_id="42", exp=now + 60)
    shop = identity_token_verify(channel=chat_channel, token=good)
    assert (shop.email, shop.name, shop.external_id) == ("anssi@example.com", "Anssi", "42")
    payload, signature = good.split(".")
    tampered = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + signature
    for bad in (tampered, good + "0", "x", ""):
        with pytest.raises(ChatIdentityInvalidError):
            identity_token_verify(channel=chat_channel, token=bad)
    with pytest.raises(ChatIdentityExpiredError):
        identity_token_verify(channel=chat_channel, token=good, now=now + 3600)
    chat_channel.config = {}
    with pytest.raises(ChatIdentityInvalidError):  # a channel without a secret accepts no token
        identity_token_verify(channel=chat_channel, token=good)


def test_a_reply_to_a_callback_request_with_an_email_goes_by_email(
    chat_channel: Channel, agent: User, settings: object
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # type: ignore[attr-defined]
    receipt = chat_callback_request(
        channel=chat_channel, name="Pekka", phone="040 123 4567", email="pekka@example.com", language="en"
    )
    reply = message_reply(case=receipt.case, actor=agent, body="We tried to call you.")
    assert outbox_attempt(delivery_id=reply.delivery.pk) in ("sent", "skipped")
    reply.refresh_from_db()
    assert reply.delivery_status == Message.Delivery.SENT
    [sent] = mail.outbox
    assert sent.to == ["pekka@example.com"]


def test_the_sample_page_carries_the_widgets_one_script_tag(chat_channel: Channel) -> None:
    html = Client().get("/chat/demo/", {"lang": "fi"}).content.decode()
    assert f'data-channel="{chat_channel.pk}"' in html and 'data-lang="fi"' in html
    assert "/static/chat/widget.js" in html and 'lang="fi"' in html
    assert Case.objects.count() == 0
