"""The Twilio simulator answers as Twilio documents: the Message resource, its errors, media behind auth."""

from __future__ import annotations

import re

import httpx

from tiski.simulators.twilio import TwilioSimulator

from .fixtures import ACCOUNT, TOKEN

MESSAGES = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"


def test_creating_a_message_answers_201_with_the_message_resource(twilio: TwilioSimulator) -> None:
    response = httpx.post(
        twilio.url + MESSAGES,
        data={"To": "+358401234567", "From": "+358451112222", "Body": "Hei"},
        auth=(ACCOUNT, TOKEN),
    )
    assert response.status_code == 201
    resource = response.json()
    assert re.fullmatch(r"SM[0-9a-f]{32}", resource["sid"])
    assert resource["status"] == "queued"
    assert (resource["to"], resource["from"], resource["body"]) == ("+358401234567", "+358451112222", "Hei")
    assert resource["direction"] == "outbound-api"
    assert resource["uri"] == f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{resource['sid']}.json"
    assert [m.sid for m in twilio.messages] == [resource["sid"]]


def test_errors_are_answered_as_twilio_sends_them(twilio: TwilioSimulator) -> None:
    wrong = httpx.post(twilio.url + MESSAGES, data={"To": "+358401234567", "Body": "x"}, auth=(ACCOUNT, "nope"))
    assert wrong.status_code == 401
    assert wrong.json() == {
        "code": 20003,
        "message": "Authentication Error - invalid username",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }
    invalid = httpx.post(
        twilio.url + MESSAGES, data={"To": "040 123", "From": "+1", "Body": "x"}, auth=(ACCOUNT, TOKEN)
    )
    assert (invalid.status_code, invalid.json()["code"]) == (400, 21211)
    assert twilio.messages == []


def test_media_is_served_only_with_the_accounts_credentials(twilio: TwilioSimulator) -> None:
    url = twilio.add_media(account_sid=ACCOUNT, content_type="image/gif", content=b"GIF89a")
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, auth=(ACCOUNT, "nope")).status_code == 401
    served = httpx.get(url, auth=(ACCOUNT, TOKEN))
    assert (served.status_code, served.headers["content-type"], served.content) == (200, "image/gif", b"GIF89a")
