"""Replies by SMS: message_reply → the outbox → Twilio's Messages API (the simulator), and Twilio's status
callbacks back over real HTTP to the webhook."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from tiski.cases.models import Case, CaseEvent, Message
from tiski.cases.services import message_reply
from tiski.channels.interface import InboundMessage, Threading
from tiski.channels.models import Channel, Delivery
from tiski.channels.outbox import outbox_attempt
from tiski.channels.services import message_receive
from tiski.customers.services import Handle
from tiski.simulators.twilio import TwilioSimulator, new_sid

from .fixtures import ACCOUNT, CUSTOMER, OUR_NUMBER, TOKEN_VARIABLE


def sms_case(channel: Channel, number: str = CUSTOMER) -> Case:
    """Return the case an inbound SMS from NUMBER opened."""
    inbound = InboundMessage(
        channel=channel,
        handles=[Handle("phone", number)],
        body_text="Milloin paketti tulee?",
        external_id=new_sid("SM"),
        threading=Threading.CONVERSATION,
    )
    return message_receive(inbound=inbound).case


def reply(case: Case, agent: Any, body: str = "Paketti lähti tänään, seurantakoodi tulee erikseen.") -> Message:
    message = message_reply(case=case, actor=agent, body=body)
    assert message.delivery_status == Message.Delivery.QUEUED
    return message


def attempt(message: Message) -> Message:
    outbox_attempt(delivery_id=Delivery.objects.get(message=message).pk)
    message.refresh_from_db()
    return message


@pytest.mark.django_db(transaction=True)  # the live server takes Twilio's status callbacks in its own thread
@pytest.mark.parametrize("outcome", ["delivered", "undelivered"])
def test_reply_goes_out_through_twilio_and_its_status_callbacks_show_on_the_message(
    outcome: str, twilio: TwilioSimulator, sms_channel: Channel, agent: Any, live_server: Any, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.TISKI_WEBHOOK_BASE_URL = live_server.url
    twilio.outcome = outcome
    case = sms_case(sms_channel)
    message = attempt(reply(case, agent))

    assert message.delivery_status == Message.Delivery.SENT
    [sent] = twilio.messages
    assert message.external_id == sent.sid and sent.sid.startswith("SM") and len(sent.sid) == 34
    assert (sent.account_sid, sent.to, sent.from_) == (ACCOUNT, CUSTOMER, OUR_NUMBER)
    assert sent.body == "Paketti lähti tänään, seurantakoodi tulee erikseen."
    assert sent.status_callback == f"{live_server.url}/hooks/sms/{sms_channel.pk}/?reference=tiski-message-{message.pk}"

    twilio.release_callbacks()
    callbacks = twilio.wait_callbacks()
    assert [(c.params["MessageStatus"], c.status) for c in callbacks] == [("sent", 200), (outcome, 200)]

    message.refresh_from_db()
    if outcome == "delivered":
        assert message.delivery_status == Message.Delivery.DELIVERED
        assert message.delivery_error == ""
    else:
        assert message.delivery_status == Message.Delivery.FAILED
        assert message.delivery_error.startswith("Undelivered: Unreachable destination handset")
        assert "Twilio error 30003" in message.delivery_error
        assert "https://www.twilio.com/docs/errors/30003" in message.delivery_error
        assert CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.DELIVERY_FAILED).exists()


@pytest.mark.django_db
def test_without_a_public_url_no_status_callback_is_asked_for(
    twilio: TwilioSimulator, sms_channel: Channel, agent: Any, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.TISKI_WEBHOOK_BASE_URL = ""
    message = attempt(reply(sms_case(sms_channel), agent))
    assert message.delivery_status == Message.Delivery.SENT
    assert "StatusCallback" not in twilio.messages[0].params


@pytest.mark.django_db
def test_a_channel_public_url_and_messaging_service_are_used(
    twilio: TwilioSimulator, sms_channel: Channel, agent: Any, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.TISKI_WEBHOOK_BASE_URL = "https://wrong.example"
    sms_channel.config = {
        **sms_channel.config,
        "public_url": "https://tuki.example.fi/",
        "messaging_service_sid": "MG" + "1" * 32,
    }
    sms_channel.save()
    message = attempt(reply(sms_case(sms_channel), agent))
    [sent] = twilio.messages
    assert (
        sent.status_callback
        == f"https://tuki.example.fi/hooks/sms/{sms_channel.pk}/?reference=tiski-message-{message.pk}"
    )
    assert sent.messaging_service_sid == "MG" + "1" * 32


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("number", "explanation", "code"),
    [
        ("+358401119999", "The customer's number is not a valid phone number for SMS.", 21211),
        ("+358401110000", "The customer has unsubscribed from this number (replied STOP)", 21610),
        ("+74951234567", "Sending SMS to this country is not enabled in the Twilio account", 21408),
    ],
    ids=["invalid-to", "unsubscribed", "region-not-enabled"],
)
def test_twilio_refusing_a_reply_fails_it_at_once_with_a_clear_error(
    number: str, explanation: str, code: int, twilio: TwilioSimulator, sms_channel: Channel, agent: Any, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.TISKI_WEBHOOK_BASE_URL = ""
    message = attempt(reply(sms_case(sms_channel, number), agent))

    assert message.delivery_status == Message.Delivery.FAILED
    assert explanation in message.delivery_error
    assert f"Twilio error {code}" in message.delivery_error
    assert message.delivery_error.startswith("DeliveryPermanentError: Twilio refused the SMS.")
    assert Delivery.objects.get(message=message).status == Delivery.Status.FAILED
    assert twilio.messages == []


@pytest.mark.django_db
def test_wrong_credentials_fail_the_reply_saying_so(
    twilio: TwilioSimulator, sms_channel: Channel, agent: Any, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(TOKEN_VARIABLE, "not-the-auth-token")
    message = attempt(reply(sms_case(sms_channel), agent))

    assert message.delivery_status == Message.Delivery.FAILED
    assert "Twilio refused the channel's credentials" in message.delivery_error
    assert "Twilio error 20003" in message.delivery_error


@pytest.mark.django_db
@pytest.mark.parametrize("status", [500, 429])
def test_twilio_failing_or_busy_retries_the_reply_and_the_next_attempt_sends_it(
    status: int, twilio: TwilioSimulator, sms_channel: Channel, agent: Any
) -> None:
    twilio.fail_next(status)
    message = attempt(reply(sms_case(sms_channel), agent))

    assert message.delivery_status == Message.Delivery.RETRYING
    assert "Twilio is busy or failing; the SMS is retried." in message.delivery_error
    assert Delivery.objects.get(message=message).status == Delivery.Status.PENDING

    Delivery.objects.filter(message=message).update(next_attempt_at=timezone.now())
    message = attempt(message)
    assert message.delivery_status == Message.Delivery.SENT
    assert message.external_id == twilio.messages[0].sid


@pytest.mark.django_db
def test_twilio_unreachable_retries_the_reply(twilio: TwilioSimulator, sms_channel: Channel, agent: Any) -> None:
    case = sms_case(sms_channel)
    twilio.stop()
    message = attempt(reply(case, agent))

    assert message.delivery_status == Message.Delivery.RETRYING
    assert "Twilio could not be reached" in message.delivery_error


@pytest.mark.django_db
def test_a_missing_auth_token_retries_with_a_message_naming_the_variable(
    twilio: TwilioSimulator, sms_channel: Channel, agent: Any, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    case = sms_case(sms_channel)
    monkeypatch.delenv(TOKEN_VARIABLE)
    message = attempt(reply(case, agent))

    assert message.delivery_status == Message.Delivery.RETRYING
    assert f"The environment variable {TOKEN_VARIABLE}" in message.delivery_error
    assert twilio.messages == []


@pytest.mark.django_db
def test_a_reply_longer_than_one_sms_conversation_message_fails_before_calling_twilio(
    twilio: TwilioSimulator, sms_channel: Channel, agent: Any
) -> None:
    message = attempt(reply(sms_case(sms_channel), agent, body="x" * 1601))

    assert message.delivery_status == Message.Delivery.FAILED
    assert "an SMS can carry at most 1600" in message.delivery_error
    assert twilio.messages == []
