"""Click-to-call: the agent calls the customer from a case through the telephony system's API (the local Twilio
simulator over real HTTP, or a generic system's dial URL on loopback); the call is logged on that case."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.channels.voice.test_call_events import twilio_post, twilio_status
from tiski.cases.models import Case, CaseEvent
from tiski.cases.services import case_create
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.voice.adapter import generic_signature
from tiski.channels.voice.models import Call
from tiski.channels.voice.services import CallError, call_start
from tiski.customers.models import Customer, Identity
from tiski.simulators.twilio import TwilioSimulator

pytestmark = pytest.mark.django_db
ACCOUNT = "AC" + "7e" * 16
TOKEN = "4f1c2b3a5d6e7f8091a2b3c4d5e6f708"
CUSTOMER = "+358401234567"
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def twilio(settings) -> Iterator[TwilioSimulator]:  # type: ignore[no-untyped-def]
    simulator = TwilioSimulator(auth_tokens={ACCOUNT: TOKEN}, invalid={"+358401119999"})
    simulator.start()
    settings.TISKI_TWILIO_API_URL = simulator.url
    yield simulator
    simulator.stop()


@pytest.fixture
def twilio_phone(db, monkeypatch) -> Channel:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TISKI_TEST_VOICE_TOKEN", TOKEN)
    return Channel.objects.create(
        kind=ChannelKind.PHONE,
        name="Phone",
        address="+35891234567",
        config={
            "provider": "twilio",
            "account_sid": ACCOUNT,
            "public_url": "https://support.example.com",
            "secrets": {"auth_token": "TISKI_TEST_VOICE_TOKEN"},
        },
    )


@pytest.fixture
def case(db) -> Case:  # type: ignore[no-untyped-def]
    liisa = Customer.objects.create(name="Liisa Laine")
    Identity.objects.create(customer=liisa, kind=Identity.Kind.PHONE, value=CUSTOMER)
    return case_create(customer=liisa, subject="Grinder makes a noise", actor=None)


def test_twilio_places_the_call_and_its_events_log_it_on_the_case(
    client: Client, twilio: TwilioSimulator, twilio_phone: Channel, case: Case, agent
) -> None:
    call = call_start(case=case, actor=agent, number="040 123 4567")
    [placed] = twilio.calls
    assert (placed["to"], placed["from"]) == (CUSTOMER, "+35891234567")
    form = placed["form"]
    assert form["Twiml"] == "<Response><Dial><Client>maija</Client></Dial></Response>"
    assert form["StatusCallback"] == f"https://support.example.com/hooks/phone/{twilio_phone.pk}/?agent=maija"
    assert form["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert (call.provider_call_id, call.direction, call.case, call.agent, call.number) == (
        placed["sid"],
        "outbound",
        case,
        agent,
        CUSTOMER,
    )

    base = {"CallSid": placed["sid"], "From": "+35891234567", "To": CUSTOMER, "Direction": "outbound-api"}
    t0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    twilio_post(client, twilio_phone, twilio_status("in-progress", t0, **base), query="agent=maija")
    twilio_post(
        client,
        twilio_phone,
        twilio_status("completed", t0 + timedelta(seconds=70), CallDuration="70", **base),
        query="agent=maija",
    )
    call.refresh_from_db()
    assert (call.status, call.talk_s, call.case) == ("ended", 70, case)
    assert Case.objects.count() == 1
    assert CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.CALL_ENDED).data["direction"] == "outbound"


def test_twilio_refusal_and_bad_input_are_explained(
    twilio: TwilioSimulator, twilio_phone: Channel, case: Case, agent
) -> None:
    with pytest.raises(CallError, match="not a valid phone number"):
        call_start(case=case, actor=agent, number="+358401119999")  # Twilio's lookup refuses it (21211)
    with pytest.raises(CallError, match="is not a phone number"):
        call_start(case=case, actor=agent, number="call me")
    assert not Call.objects.exists()


def test_without_a_phone_channel_that_can_dial_the_agent_is_told_why(case: Case, agent) -> None:
    Channel.objects.create(kind=ChannelKind.PHONE, name="Events only", config={"provider": "generic"})
    with pytest.raises(CallError, match="No phone channel can place calls"):
        call_start(case=case, actor=agent, number=CUSTOMER)


class _Pbx(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def pbx() -> Iterator[str]:
    _Pbx.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pbx)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/dial"
    server.shutdown()
    server.server_close()


def test_generic_system_gets_a_signed_dial_request_and_reports_with_its_call_id(
    client: Client, pbx: str, case: Case, agent, monkeypatch
) -> None:
    monkeypatch.setenv("TISKI_TEST_PBX_SECRET", "pbx-secret")
    phone = Channel.objects.create(
        kind=ChannelKind.PHONE,
        name="PBX",
        address="+35891234567",
        config={"provider": "generic", "dial_url": pbx, "secrets": {"signing_secret": "TISKI_TEST_PBX_SECRET"}},
    )
    call = call_start(case=case, actor=agent, number=CUSTOMER)
    [(headers, body)] = _Pbx.received
    assert headers["x-tiski-signature"] == generic_signature(secret="pbx-secret", body=body)
    request = json.loads(body)
    assert request == {
        "call_id": call.provider_call_id,
        "to": CUSTOMER,
        "from": "+35891234567",
        "agent": "maija",
        "case": case.reference,
    }
    event = json.dumps(
        {"call_id": call.provider_call_id, "event": "ended", "direction": "outbound", "talk_s": 30}
    ).encode()
    client.post(
        f"/hooks/phone/{phone.pk}/",
        data=event,
        content_type="application/json",
        headers={"X-Tiski-Signature": generic_signature(secret="pbx-secret", body=event)},
    )
    call.refresh_from_db()
    assert call.case == case and call.status == "missed"  # no answer was reported before the end


def test_case_page_offers_call_by_each_number_and_the_button_places_it(
    client: Client, twilio: TwilioSimulator, twilio_phone: Channel, case: Case, agent
) -> None:
    client.force_login(agent)
    page = client.get(reverse("console:case", args=[case.reference]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'aria-label="Call {CUSTOMER}"' in page
    response = client.post(reverse("console:case-dial", args=[case.reference]), {"number": CUSTOMER}, **HX)
    assert response.status_code == 200 and "Calling" in response.content.decode()
    assert len(twilio.calls) == 1 and Call.objects.get().case == case
    refused = client.post(reverse("console:case-dial", args=[case.reference]), {"number": "+358401119999"}, **HX)
    assert refused.status_code == 400 and "not a valid phone number" in refused.content.decode()
