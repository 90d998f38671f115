"""Recorded Twilio webhooks from other projects (Zammad, Chatwoot), posted signed and form-encoded as Twilio
sends them, and what Tiski makes of them. See ../shared/corpus/external/webhooks/README.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tiski.cases.models import Attachment, Case, Message
from tiski.cases.services import case_update
from tiski.channels.models import Channel, QuarantinedMail
from tiski.simulators.twilio import TwilioSimulator

from .fixtures import ACCOUNT, OUR_NUMBER, client_post_signed

pytestmark = pytest.mark.django_db

CORPUS = Path(__file__).resolve().parents[4] / "shared/corpus/external/webhooks/twilio"
ZAMMAD = CORPUS / "zammad"
CHATWOOT = sorted((CORPUS / "chatwoot").glob("*.json")) if CORPUS.exists() else []
needs_corpus = pytest.mark.skipif(not CORPUS.exists(), reason=f"the shared corpus is not at {CORPUS}")

# What each Chatwoot sample becomes: the sender's identity (kind, value), the sender's name, the text.
# "+12345"-style test numbers are not possible phone numbers: kept as an "other" handle, as they came.
EXPECTED: dict[str, tuple[tuple[str, str], str, str]] = {
    "params.json": (("other", "+1234567890"), "", "Test message"),
    "uses_profilename_as_contact_name.json": (("other", "+1234567890"), "John Doe", "Hello with profile name"),
    "falls_back_to_formatted_phone_number_when_profilename_is_blank.json": (
        ("other", "+1234567890"),
        "",
        "Hello without profile name",
    ),
    "creates_appropriate_conversations_message_and_contacts_if_contact_does.json": (
        ("phone", "+5541988887777"),
        "João Silva",
        "Test message from Brazil",
    ),
    "appends_to_existing_contact_when_contact_inbox_exists_with_same_format.json": (
        ("phone", "+541123456789"),
        "Ana García",
        "Test message from Argentina",
    ),
    "params_with_location.json": (
        ("other", "+12345"),
        "",
        "Location: 12.160894393921, 75.265205383301 "
        "https://www.openstreetmap.org/?mlat=12.160894393921&mlon=75.265205383301",
    ),
    "removes_null_bytes.json": (("other", "+12345"), "", "removeu0000 null bytesu0000"),
}


def payload(path: Path) -> dict[str, str]:
    data: dict[str, Any] = json.loads(path.read_text())
    fields = data.get("payload", data)
    fields = {key: value for key, value in fields.items() if not key.startswith("_")}
    for key, value in list(fields.items()):
        if isinstance(value, str) and value.startswith("<ruby:"):
            fields[key] = {"To": OUR_NUMBER, "MessagingServiceSid": "MG" + "0" * 32}[key]
    return {key: str(value) for key, value in fields.items()}


@needs_corpus
def test_zammad_new_sms_follow_up_duplicate_and_new_case_after_close(
    client: Client, sms_channel: Channel, agent
) -> None:  # type: ignore[no-untyped-def]
    first, second, third = (payload(ZAMMAD / f"inbound_sms{n}.json") for n in (1, 2, 3))

    response = client_post_signed(client, sms_channel, first)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml"
    assert response.content == b'<?xml version="1.0" encoding="UTF-8"?><Response/>'
    case = Case.objects.get()
    assert case.subject.startswith("Ldfhxhcuffufuf. Fifififig.  Fifififiif F")
    message = case.messages.get()
    assert message.identity is not None and message.identity.value == "+491710000000"
    assert message.author == Message.Author.CUSTOMER

    assert client_post_signed(client, sms_channel, second).status_code == 200
    assert case.messages.count() == 2  # the follow-up continues the case
    assert client_post_signed(client, sms_channel, second).status_code == 200
    assert case.messages.count() == 2  # Twilio's retry of it is not stored again

    case_update(case=case, actor=agent, status=Case.Status.CLOSED)
    assert client_post_signed(client, sms_channel, third).status_code == 200
    new = Case.objects.exclude(pk=case.pk).get()
    assert new.subject == "new 2"
    assert new.customer_id == case.customer_id


@needs_corpus
@pytest.mark.parametrize("path", CHATWOOT, ids=[path.stem[:50] for path in CHATWOOT])
def test_chatwoot_samples_are_stored_or_kept(
    path: Path, client: Client, sms_channel: Channel, twilio: TwilioSimulator
) -> None:
    fields = payload(path)
    for index in range(int(fields.get("NumMedia", "0"))):
        if path.name != "params_with_attachment_error.json":  # that one's URL stays unreachable
            fields[f"MediaUrl{index}"] = twilio.add_media(
                account_sid=ACCOUNT, content_type=fields[f"MediaContentType{index}"], content=f"file {index}".encode()
            )

    response = client_post_signed(client, sms_channel, fields)

    assert response.status_code == 200
    if not fields.get("Body") and "Latitude" not in fields:  # an empty SMS: nothing to store, kept for an administrator
        assert Message.objects.count() == 0
        assert "needs a text" in QuarantinedMail.objects.get().reason
        return
    message = Message.objects.select_related("identity").get()
    assert message.external_id == fields["SmsSid"]
    assert message.identity is not None
    if path.name in EXPECTED:
        (kind, value), name, text = EXPECTED[path.name]
        assert (message.identity.kind, message.identity.value) == (kind, value)
        assert message.sender_name == name
        assert message.body_text == text
    else:
        assert message.body_text.startswith(fields["Body"])
    attachments = Attachment.objects.filter(message=message)
    if path.name == "params_with_attachment_error.json":
        assert not attachments.exists()
        assert "[Attachment 1 (image/jpeg) was not downloaded" in message.body_text
        assert "https://chatwoot-assets.local/sample.png" in message.body_text
    else:
        assert attachments.count() == int(fields.get("NumMedia", "0"))
