"""The one webhook view (/hooks/<kind>/<channel id>/), channel secrets, and delivery reports' ordering.

Exercised through the SMS adapter (Twilio's signature) with Django's test client; tests/channels/sms/ covers
the same view over real HTTP from the Twilio simulator.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client

from tiski.cases.models import Case, CaseEvent, Message
from tiski.cases.services import message_reply
from tiski.channels.exceptions import ChannelConfigError
from tiski.channels.interface import InboundMessage, StatusUpdate, Threading
from tiski.channels.models import Channel, ChannelKind, QuarantinedMail
from tiski.channels.secrets import channel_secret, channel_setting
from tiski.channels.services import delivery_status_apply, message_receive
from tiski.customers.models import Customer
from tiski.customers.services import Handle
from tiski.simulators.twilio import new_sid, twilio_signature

from .sms.fixtures import TOKEN, TOKEN_VARIABLE, client_post_signed, sms_channel_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def sms_channel(db, monkeypatch) -> Channel:  # type: ignore[no-untyped-def]
    return sms_channel_create(monkeypatch)


INBOUND = {
    "MessageSid": "SM" + "a" * 32,
    "AccountSid": "AC" + "5f" * 16,
    "From": "+358401234567",
    "To": "+358451112222",
    "Body": "Hei",
    "NumMedia": "0",
}


# --- the view -------------------------------------------------------------------------------------------


def test_an_unknown_channel_is_404(client: Client, sms_channel: Channel) -> None:
    assert client_post_signed(client, sms_channel, INBOUND).status_code == 200  # the real one answers
    assert (
        client.post(
            "/hooks/sms/999999/", data=urlencode(INBOUND), content_type="application/x-www-form-urlencoded"
        ).status_code
        == 404
    )


def test_a_channel_called_as_another_kind_is_404(client: Client, sms_channel: Channel) -> None:
    response = client.post(
        f"/hooks/whatsapp/{sms_channel.pk}/", data=urlencode(INBOUND), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 404


def test_a_kind_without_a_webhook_adapter_is_404(client: Client) -> None:
    mailbox = Channel.objects.create(kind=ChannelKind.EMAIL, name="Mail", address="tuki@example.fi")
    assert client.post(f"/hooks/email/{mailbox.pk}/", data=b"", content_type="text/plain").status_code == 404


def test_an_inactive_channel_is_404_and_stores_nothing(client: Client, sms_channel: Channel) -> None:
    Channel.objects.filter(pk=sms_channel.pk).update(active=False)
    assert client_post_signed(client, sms_channel, INBOUND).status_code == 404
    assert Message.objects.count() == 0


def test_get_is_refused_for_sms_which_has_no_subscription_handshake(client: Client, sms_channel: Channel) -> None:
    assert client.get(f"/hooks/sms/{sms_channel.pk}/?hub.challenge=1").status_code == 403


def test_other_methods_are_not_allowed(client: Client, sms_channel: Channel) -> None:
    assert client.put(f"/hooks/sms/{sms_channel.pk}/", data=b"").status_code == 405


def test_a_bad_signature_is_403_and_stores_nothing(client: Client, sms_channel: Channel) -> None:
    response = client_post_signed(client, sms_channel, INBOUND, token="another-token")
    assert response.status_code == 403
    assert (Message.objects.count(), Customer.objects.count(), QuarantinedMail.objects.count()) == (0, 0, 0)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"Foo": "bar"}, "no MessageSid"),
        ({"MessageSid": "SM" + "b" * 32, "Body": "Kuka olen?"}, "has no From number"),
        ({"MessageSid": "SM" + "c" * 32, "From": "+358401234567", "Body": ""}, "needs a text"),
    ],
    ids=["no-sid", "no-sender", "empty"],
)
def test_a_signed_call_that_cannot_be_read_is_quarantined_and_answered_200(
    fields: dict[str, str], reason: str, client: Client, sms_channel: Channel
) -> None:
    response = client_post_signed(client, sms_channel, fields)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml"
    kept = QuarantinedMail.objects.get()
    assert reason in kept.reason
    assert kept.source == "webhook:sms"
    assert bytes(kept.raw) == urlencode(fields).encode()
    assert Message.objects.count() == 0


def test_a_signed_json_body_is_quarantined(client: Client, sms_channel: Channel) -> None:
    body = b'{"MessageSid": "SM1"}'
    path = f"/hooks/sms/{sms_channel.pk}/?bodySHA256={hashlib.sha256(body).hexdigest()}"
    signature = twilio_signature(auth_token=TOKEN, url=f"http://testserver{path}")
    response = client.post(path, data=body, content_type="application/json", headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200
    assert bytes(QuarantinedMail.objects.get().raw) == body


def test_a_missing_secret_is_503_with_a_message_naming_the_variable(
    client: Client, sms_channel: Channel, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv(TOKEN_VARIABLE)
    response = client_post_signed(client, sms_channel, INBOUND)
    assert response.status_code == 503
    assert f"The environment variable {TOKEN_VARIABLE}" in response.content.decode()
    assert "is not set" in response.content.decode()
    assert Message.objects.count() == 0


def test_a_channel_naming_no_secret_is_503_saying_where_to_set_it(client: Client, sms_channel: Channel) -> None:
    Channel.objects.filter(pk=sms_channel.pk).update(config={"account_sid": "AC1"})
    response = client_post_signed(client, sms_channel, INBOUND)
    assert response.status_code == 503
    assert '"secrets": {"auth_token": "VARIABLE_NAME"}' in response.content.decode()


# --- channels.secrets -----------------------------------------------------------------------------------


def test_channel_secret_reads_the_variable_the_settings_name(sms_channel: Channel, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert channel_secret(sms_channel, "auth_token") == TOKEN
    monkeypatch.setenv(TOKEN_VARIABLE, "")
    with pytest.raises(ChannelConfigError, match=f"The environment variable {TOKEN_VARIABLE}"):
        channel_secret(sms_channel, "auth_token")
    with pytest.raises(ChannelConfigError, match="names no environment variable for its app_secret"):
        channel_secret(sms_channel, "app_secret")
    sms_channel.config = {"secrets": ["TISKI_X"]}
    with pytest.raises(ChannelConfigError, match="names no environment variable"):
        channel_secret(sms_channel, "auth_token")


def test_channel_setting_returns_the_value_or_says_where_to_set_it(sms_channel: Channel) -> None:
    assert channel_setting(sms_channel, "account_sid").startswith("AC")
    with pytest.raises(ChannelConfigError, match='has no "from_number" in its settings'):
        channel_setting(sms_channel, "from_number")


# --- delivery_status_apply ------------------------------------------------------------------------------


@pytest.fixture
def sent_reply(sms_channel: Channel, agent: Any) -> Message:
    """An SMS reply the outbox has handed to Twilio (status sent, Twilio's SID as its external id)."""
    inbound = InboundMessage(
        channel=sms_channel,
        handles=[Handle("phone", "+358401234567")],
        body_text="Hei",
        external_id=new_sid("SM"),
        threading=Threading.CONVERSATION,
    )
    case = message_receive(inbound=inbound).case
    message = message_reply(case=case, actor=agent, body="Moi, autan mielelläni.")
    Message.objects.filter(pk=message.pk).update(delivery_status=Message.Delivery.SENT, external_id="SM" + "d" * 32)
    message.refresh_from_db()
    return message


def report(status: str, error: str = "") -> Message | None:
    return delivery_status_apply(
        kind="sms", update=StatusUpdate(external_id="SM" + "d" * 32, status=status, error=error)
    )


def status_of(message: Message) -> tuple[str, str]:
    message.refresh_from_db()
    return message.delivery_status, message.delivery_error


def test_delivery_reports_only_move_a_message_forward(sent_reply: Message) -> None:
    report(Message.Delivery.DELIVERED)
    assert status_of(sent_reply) == (Message.Delivery.DELIVERED, "")
    report(Message.Delivery.SENT)  # a late "sent"
    assert status_of(sent_reply) == (Message.Delivery.DELIVERED, "")
    report(Message.Delivery.READ)
    report(Message.Delivery.DELIVERED)  # the "delivered" that arrived after the "read"
    assert status_of(sent_reply) == (Message.Delivery.READ, "")


def test_a_failure_after_the_customer_read_the_message_is_ignored(sent_reply: Message) -> None:
    report(Message.Delivery.READ)
    report(Message.Delivery.FAILED, "Undelivered: 30003")
    assert status_of(sent_reply) == (Message.Delivery.READ, "")


def test_a_failure_is_recorded_once_with_its_error(sent_reply: Message) -> None:
    report(Message.Delivery.DELIVERED)
    report(Message.Delivery.FAILED, "Undelivered: 30003")
    report(Message.Delivery.FAILED, "Undelivered: 30003")  # the provider repeated itself
    assert status_of(sent_reply) == (Message.Delivery.FAILED, "Undelivered: 30003")
    assert CaseEvent.objects.filter(case=sent_reply.case, kind=CaseEvent.Kind.DELIVERY_FAILED).count() == 1


def test_a_report_that_arrives_before_the_outbox_recorded_sent_is_applied(sent_reply: Message) -> None:
    Message.objects.filter(pk=sent_reply.pk).update(delivery_status=Message.Delivery.QUEUED)
    assert report(Message.Delivery.DELIVERED) is not None
    assert status_of(sent_reply) == (Message.Delivery.DELIVERED, "")


def test_a_report_for_an_unknown_message_or_another_kind_changes_nothing(sent_reply: Message) -> None:
    assert delivery_status_apply(kind="sms", update=StatusUpdate(external_id="SM404", status="delivered")) is None
    other_kind = StatusUpdate(external_id=sent_reply.external_id or "", status="delivered")
    assert delivery_status_apply(kind="whatsapp", update=other_kind) is None
    assert status_of(sent_reply) == (Message.Delivery.SENT, "")
    assert Case.objects.count() == 1
