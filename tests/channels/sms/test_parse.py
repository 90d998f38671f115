"""What the SMS adapter makes of Twilio's fields: senders, text, locations and status callbacks.

Posted signed and form-encoded through Django's test client (test_inbound.py goes over real HTTP)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tiski.cases.models import Message
from tiski.cases.services import message_reply
from tiski.channels.models import Channel, QuarantinedMail
from tiski.simulators.twilio import new_sid, twilio_signature

from .fixtures import ACCOUNT, CUSTOMER, OUR_NUMBER, TOKEN, client_post_signed, hook_path

pytestmark = pytest.mark.django_db


def inbound(**fields: str) -> dict[str, str]:
    sid = new_sid("SM")
    base = {"MessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT, "From": CUSTOMER, "To": OUR_NUMBER}
    return {**base, "Body": "Hei", "NumMedia": "0", "SmsStatus": "received", **fields}


def test_null_bytes_are_dropped_from_the_text(client: Client, sms_channel: Channel) -> None:
    assert client_post_signed(client, sms_channel, inbound(Body="remove\x00 null bytes\x00")).status_code == 200
    assert Message.objects.get().body_text == "remove null bytes"


@pytest.mark.parametrize(
    ("sender", "identity"),
    [
        ("0401234567", ("phone", "+358401234567")),  # a national number, as some gateways send it
        ("whatsapp:+358401234567", ("phone", "+358401234567")),
        ("+12345", ("other", "+12345")),  # not a possible number (a short code): kept as it came
        ("POSTI", ("other", "POSTI")),  # an alphanumeric sender id
    ],
)
def test_the_sender_becomes_an_e164_phone_identity_or_is_kept_as_it_came(
    sender: str, identity: tuple[str, str], client: Client, sms_channel: Channel
) -> None:
    assert client_post_signed(client, sms_channel, inbound(From=sender)).status_code == 200
    message = Message.objects.select_related("identity").get()
    assert message.identity is not None and (message.identity.kind, message.identity.value) == identity


def test_a_sender_that_cannot_be_a_handle_is_quarantined(client: Client, sms_channel: Channel) -> None:
    assert client_post_signed(client, sms_channel, inbound(From="bad\x01sender")).status_code == 200
    assert "unusable From" in QuarantinedMail.objects.get().reason
    assert Message.objects.count() == 0


def test_a_signature_over_the_channels_public_url_is_accepted(client: Client, sms_channel: Channel) -> None:
    sms_channel.config = {**sms_channel.config, "public_url": "https://tuki.example.fi"}
    sms_channel.save()
    fields = inbound()
    signed_for = f"https://tuki.example.fi{hook_path(sms_channel)}"
    signature = twilio_signature(auth_token=TOKEN, url=signed_for, params=fields)
    assert client_post_signed(client, sms_channel, fields, signature=signature).status_code == 200
    other = twilio_signature(auth_token=TOKEN, url=f"https://elsewhere.example{hook_path(sms_channel)}", params=fields)
    assert client_post_signed(client, sms_channel, inbound(), signature=other).status_code == 403


@pytest.fixture
def sent(client: Client, sms_channel: Channel, agent: Any) -> Message:
    """A reply on an SMS case that Twilio took as SM…d."""
    assert client_post_signed(client, sms_channel, inbound()).status_code == 200
    reply = message_reply(case=Message.objects.get().case, actor=agent, body="Kiitos viestistä")
    Message.objects.filter(pk=reply.pk).update(delivery_status=Message.Delivery.SENT, external_id="SM" + "d" * 32)
    return reply


def status_callback(status: str, **extra: str) -> dict[str, str]:
    sid = "SM" + "d" * 32
    fields = {"MessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT, "From": OUR_NUMBER, "To": CUSTOMER}
    return {**fields, "MessageStatus": status, "SmsStatus": status, "ApiVersion": "2010-04-01", **extra}


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["queued", "sending"], (Message.Delivery.SENT, "")),
        (["sent", "delivered"], (Message.Delivery.DELIVERED, "")),
        (["delivered", "read"], (Message.Delivery.READ, "")),
        (["failed"], (Message.Delivery.FAILED, "Failed: Unknown error from the carrier.")),
    ],
)
def test_status_callbacks_move_the_reply(
    statuses: list[str], expected: tuple[str, str], client: Client, sms_channel: Channel, sent: Message
) -> None:
    for status in statuses:
        extra = {"ErrorCode": "30008"} if status == "failed" else {}
        response = client_post_signed(client, sms_channel, status_callback(status, **extra))
        assert response.status_code == 200
        assert response.content == b'<?xml version="1.0" encoding="UTF-8"?><Response/>'
    sent.refresh_from_db()
    assert sent.delivery_status == expected[0]
    assert sent.delivery_error.startswith(expected[1])
    assert Message.objects.filter(direction=Message.Direction.IN).count() == 1  # a callback is never a message


def test_an_error_message_twilio_gives_is_shown_with_the_code(
    client: Client, sms_channel: Channel, sent: Message
) -> None:
    fields = status_callback("undelivered", ErrorCode="30006", ErrorMessage="Landline or unreachable carrier")
    assert client_post_signed(client, sms_channel, fields).status_code == 200
    sent.refresh_from_db()
    assert sent.delivery_error == (
        "Undelivered: Landline or unreachable carrier: the number cannot receive SMS. "
        "(Twilio error 30006: Landline or unreachable carrier) https://www.twilio.com/docs/errors/30006"
    )


def test_a_forged_status_callback_changes_nothing(client: Client, sms_channel: Channel, sent: Message) -> None:
    assert client_post_signed(client, sms_channel, status_callback("failed"), token="guess").status_code == 403
    sent.refresh_from_db()
    assert sent.delivery_status == Message.Delivery.SENT
