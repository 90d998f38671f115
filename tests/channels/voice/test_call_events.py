"""Call events through the real webhook view: Twilio Voice (signed with the twilio SDK's algorithm) and the
generic JSON format (HMAC-SHA256), from ringing to the call logged on the right case."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.channels.voice.calls import CALLER, LINE, T0, pbx_event, pbx_post, twilio_post, twilio_status
from tiski.cases.models import Case, CaseEvent
from tiski.channels.models import Channel, QuarantinedMail
from tiski.channels.voice.models import Call
from tiski.customers.models import Customer

# --- Twilio -----------------------------------------------------------------------------------------------------


def test_twilio_call_rings_is_answered_and_ends_logged_with_durations_on_the_callers_case(
    client: Client, twilio_phone: Channel, liisa: Customer, agent
) -> None:
    assert twilio_post(client, twilio_phone, twilio_status("ringing", T0), query="queue=Support").status_code == 200
    call = Call.objects.get()
    assert (call.status, call.number, call.customer, call.agent, call.queue) == (
        "ringing",
        CALLER,
        liisa,
        agent,
        "Support",
    )
    assert (
        twilio_post(client, twilio_phone, twilio_status("in-progress", T0 + timedelta(seconds=20))).status_code == 200
    )
    ended = twilio_status("completed", T0 + timedelta(seconds=332), CallDuration="312")
    assert twilio_post(client, twilio_phone, ended).status_code == 200
    assert twilio_post(client, twilio_phone, ended).status_code == 200  # Twilio retried: logged once

    call.refresh_from_db()
    assert (call.status, call.outcome, call.wait_s, call.talk_s) == ("ended", "completed", 20, 312)
    case = Case.objects.get()
    assert call.case == case and case.customer == liisa and case.channel == twilio_phone
    assert case.subject == f"Call from {CALLER}"
    logged = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.CALL_ENDED)
    assert logged.actor == agent
    assert logged.data | {"call_id": 0} == {
        "call_id": 0,
        "direction": "inbound",
        "number": CALLER,
        "agent": "Maija Mäkinen",
        "queue": "Support",
        "started_at": T0.isoformat(),
        "wait_s": 20,
        "duration_s": 312,
        "outcome": "completed",
        "recording_url": "",
    }


def test_twilio_call_with_a_wrong_signature_is_refused_and_nothing_stored(
    client: Client, twilio_phone: Channel
) -> None:
    response = twilio_post(client, twilio_phone, twilio_status("ringing", T0), token="not-the-token")
    assert response.status_code == 403
    assert not Call.objects.exists()


def test_twilio_call_nobody_answered_is_a_missed_call_case(client: Client, twilio_phone: Channel, agent) -> None:
    twilio_post(client, twilio_phone, twilio_status("ringing", T0, To=LINE))
    twilio_post(
        client, twilio_phone, twilio_status("completed", T0 + timedelta(seconds=95), To=LINE, CallDuration="95")
    )
    call = Call.objects.get()
    assert (call.status, call.outcome, call.wait_s, call.talk_s, call.agent) == ("missed", "abandoned", 95, None, None)
    case = call.case
    assert case is not None and case.subject == f"Missed call from {CALLER}"
    assert case.customer.identities.get().value == CALLER  # an unknown number becomes a (provisional) customer
    assert CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.CALL_MISSED).count() == 1


def test_twilio_busy_and_recordings(client: Client, twilio_phone: Channel, liisa: Customer, agent) -> None:
    twilio_post(client, twilio_phone, twilio_status("busy", T0, CallSid="CA" + "3" * 32))
    busy = Call.objects.get(provider_call_id="CA" + "3" * 32)
    assert (busy.status, busy.outcome) == ("missed", "busy")

    # A recording of a call nobody answered is a voicemail.
    voicemail = twilio_status("ringing", T0, CallSid="CA" + "4" * 32, To=LINE)
    twilio_post(client, twilio_phone, voicemail)
    recording = {
        "CallSid": "CA" + "4" * 32,
        "AccountSid": "AC" + "2" * 32,
        "RecordingSid": "RE" + "5" * 32,
        "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE5",
        "RecordingStatus": "completed",
    }
    twilio_post(client, twilio_phone, recording)
    call = Call.objects.get(provider_call_id="CA" + "4" * 32)
    assert (call.status, call.recording_url) == ("voicemail", recording["RecordingUrl"])
    assert (
        CaseEvent.objects.get(case=call.case, kind=CaseEvent.Kind.CALL_MISSED).data["recording_url"]
        == recording["RecordingUrl"]
    )

    # A recording of an answered call that arrives after it ended is added to its case.
    sid = "CA" + "6" * 32
    for status, seconds in (("ringing", 0), ("in-progress", 5), ("completed", 65)):
        twilio_post(client, twilio_phone, twilio_status(status, T0 + timedelta(seconds=seconds), CallSid=sid))
    twilio_post(client, twilio_phone, recording | {"CallSid": sid, "RecordingUrl": "https://api.twilio.com/rec/RE6"})
    answered = Call.objects.get(provider_call_id=sid)
    assert (answered.status, answered.talk_s, answered.recording_url) == ("ended", 60, "https://api.twilio.com/rec/RE6")
    event = CaseEvent.objects.get(case=answered.case, kind=CaseEvent.Kind.CALL_RECORDED)
    assert event.data["recording_url"] == "https://api.twilio.com/rec/RE6"


def test_twilio_outbound_call_is_logged_as_a_call_to_the_customer(
    client: Client, twilio_phone: Channel, liisa: Customer, agent
) -> None:
    sid = "CA" + "7" * 32
    base = {"CallSid": sid, "From": "client:maija", "To": CALLER, "Direction": "outbound-api"}
    twilio_post(client, twilio_phone, twilio_status("ringing", T0, **base))
    twilio_post(client, twilio_phone, twilio_status("in-progress", T0 + timedelta(seconds=8), **base))
    twilio_post(
        client, twilio_phone, twilio_status("completed", T0 + timedelta(seconds=128), CallDuration="120", **base)
    )
    call = Call.objects.get()
    assert (call.direction, call.number, call.agent, call.customer, call.talk_s) == (
        "outbound",
        CALLER,
        agent,
        liisa,
        120,
    )
    assert call.case is not None and call.case.subject == f"Call to {CALLER}"


# --- the generic format ------------------------------------------------------------------------------------------


def test_generic_events_log_the_call_with_times_from_the_telephony_system(
    client: Client, pbx_phone: Channel, liisa: Customer, agent
) -> None:
    for event, seconds in (("ringing", 0), ("answered", 42)):
        assert pbx_post(client, pbx_phone, pbx_event(event, T0 + timedelta(seconds=seconds))).status_code == 200
    ended = pbx_event("ended", T0 + timedelta(seconds=642), recording_url="https://pbx.example.com/rec/4711.mp3")
    assert pbx_post(client, pbx_phone, {"events": [ended, ended]}).status_code == 200
    call = Call.objects.get()
    assert (call.number, call.customer, call.agent, call.status) == (CALLER, liisa, agent, "ended")
    assert (call.wait_s, call.talk_s, call.recording_url) == (42, 600, "https://pbx.example.com/rec/4711.mp3")
    logged = CaseEvent.objects.get(kind=CaseEvent.Kind.CALL_ENDED)
    assert logged.case.customer == liisa and logged.data["duration_s"] == 600 and logged.data["wait_s"] == 42


def test_generic_events_out_of_order_keep_the_call_ended(client: Client, pbx_phone: Channel, agent) -> None:
    pbx_post(client, pbx_phone, pbx_event("ended", T0 + timedelta(seconds=90), talk_s=60))
    pbx_post(client, pbx_phone, pbx_event("answered", T0 + timedelta(seconds=30)))  # arrived late
    call = Call.objects.get()
    assert call.status == "missed"  # the end came first, with no answer known then: logged as missed, once
    assert CaseEvent.objects.filter(kind__in=["call_ended", "call_missed"]).count() == 1


def test_generic_withheld_number_is_an_unknown_caller(client: Client, pbx_phone: Channel) -> None:
    pbx_post(client, pbx_phone, pbx_event("missed", T0, **{"from": "anonymous", "agent": ""}))
    call = Call.objects.get()
    assert call.number == "" and call.case is not None
    assert call.case.customer.name == "Unknown caller" and call.case.subject == "Missed call from an unknown number"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"event": "ringing"}, "call_id"),
        ({"call_id": "x", "event": "exploded"}, "event must be one of"),
        ({"call_id": "x", "event": "ended", "at": "yesterday"}, "ISO 8601"),
        ({"call_id": "x", "event": "ended", "talk_s": "long"}, "talk_s"),
        ({"call_id": "x", "event": "ended", "direction": "sideways"}, "direction"),
        ([1, 2], "JSON object"),
    ],
)
def test_generic_event_that_cannot_be_read_is_quarantined_not_lost(
    client: Client, pbx_phone: Channel, payload: Any, reason: str
) -> None:
    response = pbx_post(client, pbx_phone, payload)
    assert response.status_code == 200  # taken: the telephony system must not retry it forever
    quarantined = QuarantinedMail.objects.get()
    assert reason in quarantined.reason and quarantined.source == "webhook:phone"
    assert not Call.objects.exists()


def test_generic_event_signed_wrong_or_without_a_secret(client: Client, pbx_phone: Channel, monkeypatch) -> None:
    assert pbx_post(client, pbx_phone, pbx_event("ringing", T0), secret="guess").status_code == 403
    body = json.dumps(pbx_event("ringing", T0)).encode()
    unsigned = client.post(f"/hooks/phone/{pbx_phone.pk}/", data=body, content_type="application/json")
    assert unsigned.status_code == 403
    monkeypatch.delenv("TISKI_TEST_PBX_SECRET")
    assert pbx_post(client, pbx_phone, pbx_event("ringing", T0)).status_code == 503  # the system retries later
    assert not Call.objects.exists()


def test_phone_channel_without_a_provider_says_what_to_set(client: Client, pbx_phone: Channel) -> None:
    pbx_phone.config = {}
    pbx_phone.save()
    response = pbx_post(client, pbx_phone, pbx_event("ringing", T0))
    assert response.status_code == 503
    assert '"provider"' in response.content.decode()


# --- the timeline ------------------------------------------------------------------------------------------------


def test_logged_call_reads_well_in_the_case_timeline(
    client: Client, pbx_phone: Channel, liisa: Customer, agent
) -> None:
    anonymous = Client()
    for event, seconds in (("ringing", 0), ("answered", 20), ("ended", 332)):
        pbx_post(
            anonymous,
            pbx_phone,
            pbx_event(event, T0 + timedelta(seconds=seconds), recording_url="https://pbx.example.com/r.mp3"),
        )
    case = Case.objects.get()
    client.force_login(agent)
    page = client.get(reverse("console:case", args=[case.reference]), HTTP_ACCEPT_LANGUAGE="en")
    text = page.content.decode()
    assert f"Call from {CALLER} · talked 5:12 · waited 0:20 · Maija Mäkinen · Support" in text
    assert 'href="https://pbx.example.com/r.mp3"' in text
