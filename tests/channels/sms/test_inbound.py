"""Inbound SMS and MMS from the Twilio simulator to Tiski's webhook over real HTTP (the live server)."""

from __future__ import annotations

from typing import Any

import pytest

from tiski.cases.models import Attachment, Case, Message
from tiski.channels.models import Channel, QuarantinedMail
from tiski.customers.models import Customer, Identity
from tiski.customers.services import Handle, customer_create
from tiski.simulators.twilio import TwilioSimulator, new_sid, twilio_signature

from .fixtures import CUSTOMER, OUR_NUMBER, TOKEN, hook_path

pytestmark = pytest.mark.django_db(transaction=True)  # the live server stores from its own thread

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4 + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def hook(live_server: Any, sms_channel: Channel, settings) -> str:  # type: ignore[no-untyped-def]
    settings.TISKI_WEBHOOK_BASE_URL = ""  # the URL the provider called is the one it signed
    return f"{live_server.url}{hook_path(sms_channel)}"


def test_sms_is_stored_on_a_new_case_for_the_customer_who_owns_the_number(
    twilio: TwilioSimulator, hook: str, sms_channel: Channel
) -> None:
    known = customer_create(name="Anssi Asiakas", identities=[Handle("phone", "040 123 4567")])

    status = twilio.send_inbound(hook, from_=CUSTOMER, to=OUR_NUMBER, body="Hei, missä tilaukseni on?")

    assert status == 200
    assert twilio.last_answer == b'<?xml version="1.0" encoding="UTF-8"?><Response/>'
    message = Message.objects.select_related("case", "identity").get()
    assert message.body_text == "Hei, missä tilaukseni on?"
    assert message.external_id == twilio.last_params["MessageSid"]
    assert message.direction == Message.Direction.IN
    assert message.channel == sms_channel
    assert message.case.customer_id == known.pk  # the same person as the phone identity "040 123 4567"
    assert message.identity is not None and (message.identity.kind, message.identity.value) == ("phone", CUSTOMER)
    assert message.case.channel == sms_channel
    assert bytes(message.raw).startswith(b"ToCountry=")
    assert Customer.objects.count() == 1


def test_an_unknown_number_becomes_a_new_customer_with_its_e164_identity(twilio: TwilioSimulator, hook: str) -> None:
    assert twilio.send_inbound(hook, from_="+358 50 765 4321", to=OUR_NUMBER, body="Moi") == 200
    identity = Identity.objects.get()
    assert (identity.kind, identity.value) == ("phone", "+358507654321")


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param("", id="missing"),
        pytest.param(twilio_signature(auth_token="wrong-token", url="http://x/", params={}), id="forged"),
        pytest.param("stale", id="stale"),
    ],
)
def test_a_call_without_a_valid_signature_gets_403_and_stores_nothing(
    twilio: TwilioSimulator, hook: str, signature: str
) -> None:
    if signature == "stale":  # a real signature, of another message: replayed with a changed body
        signature = twilio_signature(
            auth_token=TOKEN, url=hook, params=twilio.inbound_params(from_=CUSTOMER, to=OUR_NUMBER, body="Earlier")
        )
    status = twilio.send_inbound(hook, from_=CUSTOMER, to=OUR_NUMBER, body="Pay here", signature=signature)

    assert status == 403
    assert Message.objects.count() == 0
    assert Case.objects.count() == 0
    assert Customer.objects.count() == 0
    assert QuarantinedMail.objects.count() == 0


def test_twilio_retrying_the_same_message_stores_it_once(twilio: TwilioSimulator, hook: str) -> None:
    sid = new_sid("SM")
    assert twilio.send_inbound(hook, from_=CUSTOMER, to=OUR_NUMBER, body="Once", message_sid=sid) == 200
    assert twilio.send_inbound(hook, from_=CUSTOMER, to=OUR_NUMBER, body="Once", message_sid=sid) == 200

    assert Message.objects.filter(external_id=sid).count() == 1
    assert Case.objects.count() == 1


def test_mms_media_is_downloaded_with_the_account_credentials_and_stored_as_attachments(
    twilio: TwilioSimulator, hook: str
) -> None:
    status = twilio.send_inbound(
        hook,
        from_=CUSTOMER,
        to=OUR_NUMBER,
        body="Kuva rikkinäisestä tuotteesta",
        media=[("image/jpeg", JPEG), ("image/png", PNG)],
    )

    assert status == 200
    message = Message.objects.get()
    assert message.external_id.startswith("MM")
    attachments = {a.content_type: a for a in Attachment.objects.filter(message=message)}
    assert set(attachments) == {"image/jpeg", "image/png"}
    with attachments["image/jpeg"].file.open("rb") as stored:
        assert stored.read() == JPEG
    assert attachments["image/jpeg"].filename == "media-1.jpg"
    assert attachments["image/png"].filename == "media-2.png"
    assert [path for method, path in twilio.requests if method == "GET"] == [
        twilio.last_params["MediaUrl0"].removeprefix(twilio.url),
        twilio.last_params["MediaUrl1"].removeprefix(twilio.url),
    ]


def test_media_that_cannot_be_downloaded_keeps_the_text_and_names_the_missing_file(
    twilio: TwilioSimulator, hook: str
) -> None:
    missing_url = f"{twilio.url}/media/ME{'0' * 32}"
    extra = {"NumMedia": "1", "MediaContentType0": "image/jpeg", "MediaUrl0": missing_url}

    assert twilio.send_inbound(hook, from_=CUSTOMER, to=OUR_NUMBER, body="Katso kuva", extra=extra) == 200

    message = Message.objects.get()
    assert message.body_text.startswith("Katso kuva\n[Attachment 1 (image/jpeg) was not downloaded (HTTP 404)")
    assert missing_url in message.body_text
    assert not Attachment.objects.filter(message=message).exists()


def test_a_follow_up_sms_continues_the_open_case(twilio: TwilioSimulator, hook: str) -> None:
    assert twilio.send_inbound(hook, from_=CUSTOMER, to=OUR_NUMBER, body="Tilaus 1042 ei ole tullut") == 200
    assert twilio.send_inbound(hook, from_=CUSTOMER, to=OUR_NUMBER, body="Se on nyt tullut, kiitos") == 200

    case = Case.objects.get()
    assert list(case.messages.order_by("created_at").values_list("body_text", flat=True)) == [
        "Tilaus 1042 ei ole tullut",
        "Se on nyt tullut, kiitos",
    ]


def test_numbers_of_one_company_are_channels_each_routed_to_its_own_team(
    twilio: TwilioSimulator, live_server: Any, sms_channel: Channel, settings
) -> None:  # type: ignore[no-untyped-def]
    from tiski.accounts.models import Team

    settings.TISKI_WEBHOOK_BASE_URL = ""
    sales = Team.objects.create(name="Sales")
    sales_number = Channel.objects.create(
        kind="sms", name="SMS sales", address="+358451113333", team=sales, config=sms_channel.config
    )

    assert (
        twilio.send_inbound(
            f"{live_server.url}{hook_path(sales_number)}", from_=CUSTOMER, to="+358451113333", body="Tarjous?"
        )
        == 200
    )
    assert (
        twilio.send_inbound(f"{live_server.url}{hook_path(sms_channel)}", from_=CUSTOMER, to=OUR_NUMBER, body="Tuki?")
        == 200
    )

    sales_case = Case.objects.get(channel=sales_number)
    assert sales_case.team == sales
    assert Case.objects.get(channel=sms_channel).team is None
