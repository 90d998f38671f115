"""Callback requests end to end through the real webhook, the router and the services: the caller asks for a
callback in Twilio's queue (TwiML <Gather>, signed with the twilio SDK's algorithm) or in the generic format,
a missed call or the chat widget asks for one, the router offers it to a free agent as callback work with its
own target, attempts are logged, retried by policy, and an unreachable customer is told by SMS or email.
Calls hold the agent's capacity while they last."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from tests.channels.voice.calls import CALLER, LINE, T0, pbx_event, pbx_post, twilio_post, twilio_status
from tiski.cases.models import Case, CaseEvent, Message
from tiski.cases.services import message_reply
from tiski.channels.chat.services import chat_callback_request
from tiski.channels.interface import InboundMessage, Threading
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.services import message_receive, written_channel_for
from tiski.channels.voice.callbacks import (
    CallbackError,
    callback_attempt_record,
    callback_cancel,
    callback_request,
    callbacks_due,
)
from tiski.channels.voice.models import Call, CallbackAttempt, CallbackRequest
from tiski.customers.models import Customer, Identity
from tiski.customers.services import Handle
from tiski.routing.models import AgentState, Queue, WorkItem
from tiski.routing.router import route_pending, timers_run
from tiski.routing.services import agent_state, presence_set, work_accept, work_enqueue

pytestmark = pytest.mark.django_db
Outcome = CallbackAttempt.Outcome


@pytest.fixture
def online(agent: User) -> User:
    """Maija, online and serving the default queue, with room for one call."""
    state = agent_state(agent)
    state.queues.set([Queue.objects.get(is_default=True)])
    presence_set(user=agent, presence="online")
    return agent


@pytest.fixture
def sms(db, monkeypatch) -> Channel:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TISKI_TEST_SMS_TOKEN", "sms-token")
    return Channel.objects.create(
        kind=ChannelKind.SMS,
        name="SMS",
        address="+358504242420",
        config={"account_sid": "AC" + "3" * 32, "secrets": {"auth_token": "TISKI_TEST_SMS_TOKEN"}},
    )


@pytest.fixture
def mailbox(db) -> Channel:  # type: ignore[no-untyped-def]
    return Channel.objects.create(kind=ChannelKind.EMAIL, name="Support mail", address="tuki@example.fi")


@pytest.fixture
def loads_exact() -> Iterator[None]:
    """After the test every agent's load is the units of the work and the calls they hold."""
    yield
    from tests.routing.conftest import loads_wrong

    assert loads_wrong() == []


def offered_to(agent: User) -> WorkItem:
    route_pending()
    return WorkItem.objects.get(agent=agent, status=WorkItem.Status.OFFERED)


# --- where requests come from ---------------------------------------------------------------------------------


def test_twilio_queue_offers_a_callback_after_the_wait_and_key_1_requests_it(
    client: Client, twilio_phone: Channel, liisa: Customer, online: User, loads_exact: None
) -> None:
    sid = {"CallSid": "CA" + "9" * 32, "From": CALLER, "To": LINE}
    assert (
        twilio_post(client, twilio_phone, twilio_status("ringing", T0, **sid), query="queue=Support").status_code == 200
    )

    short = twilio_post(client, twilio_phone, {**sid, "QueueTime": "30"}, query="step=wait&queue=Support")
    assert short["Content-Type"] == "application/xml"
    assert "<Gather" not in short.content.decode() and "<Say" in short.content.decode()

    long = twilio_post(client, twilio_phone, {**sid, "QueueTime": "95"}, query="step=wait&queue=Support")
    twiml = long.content.decode()
    assert '<Gather numDigits="1"' in twiml and "step=callback" in twiml and "press 1" in twiml
    assert CallbackRequest.objects.count() == 0

    other_key = twilio_post(client, twilio_phone, {**sid, "Digits": "5"}, query="step=callback&queue=Support")
    assert "<Enqueue" in other_key.content.decode() and CallbackRequest.objects.count() == 0

    pressed = twilio_post(client, twilio_phone, {**sid, "Digits": "1"}, query="step=callback&queue=Support")
    assert "<Hangup/>" in pressed.content.decode()
    request = CallbackRequest.objects.get()
    assert (request.source, request.number, request.customer, request.status) == ("keypress", CALLER, liisa, "queued")
    assert request.case.subject == f"Callback request: {CALLER}" and request.queue == "Support"
    item = WorkItem.objects.get(case=request.case)
    assert (item.channel_kind, item.units, item.due_at) == ("callback", 100, request.due_at)
    assert abs((request.due_at - timezone.now()) - timedelta(minutes=15)) < timedelta(seconds=30)

    # The caller hangs up after the confirmation: logged on the callback's case, and no second callback.
    done = twilio_status("completed", T0 + timedelta(seconds=100), **sid)
    assert twilio_post(client, twilio_phone, done).status_code == 200
    call = Call.objects.get()
    assert (call.status, call.case) == ("missed", request.case)
    assert CallbackRequest.objects.count() == 1

    # The router offers it to Maija with the case (and so the customer's 360° view) behind it.
    assert offered_to(online).pk == item.pk


def test_generic_queue_wait_is_answered_and_a_congestion_callback_waits_for_its_window(
    client: Client, pbx_phone: Channel, liisa: Customer
) -> None:
    wait = pbx_post(client, pbx_phone, pbx_event("queue_wait", T0, wait_s=30))
    assert wait.json() == {"offer_callback": False}
    assert pbx_post(client, pbx_phone, pbx_event("queue_wait", T0, wait_s=90)).json() == {"offer_callback": True}

    opens = timezone.now() + timedelta(hours=2)
    asked = pbx_event(
        "callback_requested",
        T0,
        reason="congestion",
        topic="Laskun eräpäivä",
        window_start=opens.isoformat(),
        window_end=(opens + timedelta(hours=2)).isoformat(),
    )
    assert pbx_post(client, pbx_phone, asked).status_code == 200
    request = CallbackRequest.objects.get()
    assert (request.source, request.topic, request.status) == ("congestion", "Laskun eräpäivä", "scheduled")
    assert not WorkItem.objects.filter(case=request.case).exists()  # not before the window opens

    assert callbacks_due(now=opens - timedelta(minutes=1)) == 0
    assert callbacks_due(now=opens + timedelta(seconds=1)) == 1
    request.refresh_from_db()
    assert request.status == "queued"
    assert WorkItem.objects.get(case=request.case).channel_kind == "callback"


def test_the_router_loops_clock_queues_callbacks_whose_time_has_come(liisa: Customer, pbx_phone: Channel) -> None:
    later = timezone.now() + timedelta(minutes=30)
    request, _new = callback_request(customer=liisa, number=CALLER, source="api", window_start=later)
    timers_run(now=later + timedelta(seconds=1))
    request.refresh_from_db()
    assert request.status == "queued"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"reason": "bored"}, "reason must be keypress or congestion"),
        ({"window_start": "tomorrow"}, "window_start must be an ISO 8601 time"),
        ({"wait_s": "long"}, "wait_s must be a whole number"),
    ],
)
def test_generic_callback_events_that_cannot_be_read_are_quarantined(
    client: Client, pbx_phone: Channel, payload: dict[str, str], reason: str
) -> None:
    from tiski.channels.models import QuarantinedMail

    assert pbx_post(client, pbx_phone, pbx_event("callback_requested", T0, **payload)).status_code == 200
    assert reason in QuarantinedMail.objects.get().reason
    assert CallbackRequest.objects.count() == 0


def test_bad_requests_are_refused_with_the_reason(liisa: Customer, pbx_phone: Channel) -> None:
    with pytest.raises(CallbackError, match="not a phone number"):
        callback_request(customer=liisa, number="call me maybe", source="api")
    start = timezone.now() + timedelta(hours=1)
    with pytest.raises(CallbackError, match="ends before it starts"):
        callback_request(customer=liisa, number=CALLER, source="api", window_start=start, window_end=start)
    with pytest.raises(CallbackError, match="already over"):
        callback_request(customer=liisa, number=CALLER, source="api", window_end=timezone.now() - timedelta(hours=1))
    assert CallbackRequest.objects.count() == 0


def test_a_missed_call_becomes_callback_work_once(client: Client, pbx_phone: Channel, liisa: Customer) -> None:
    pbx_post(client, pbx_phone, pbx_event("ringing", T0, agent=""))
    pbx_post(client, pbx_phone, pbx_event("missed", T0 + timedelta(seconds=40), agent="", outcome="no-answer"))
    request = CallbackRequest.objects.get()
    call = Call.objects.get()
    assert (request.source, request.call, request.case, request.status) == ("missed_call", call, call.case, "queued")
    assert call.case.subject == f"Missed call from {CALLER}"
    assert WorkItem.objects.get(case=call.case).channel_kind == "callback"

    # Calling again and hanging up again while the request is open: the same request, noted on its case.
    pbx_post(client, pbx_phone, pbx_event("ringing", T0, call_id="pbx-4712", agent=""))
    pbx_post(client, pbx_phone, pbx_event("missed", T0 + timedelta(seconds=9), call_id="pbx-4712", agent=""))
    assert CallbackRequest.objects.count() == 1
    assert CaseEvent.objects.filter(kind="callback_requested", data__again=True).count() == 1


def test_voicemail_asks_for_a_callback_and_a_channel_can_turn_it_off(
    client: Client, pbx_phone: Channel, liisa: Customer
) -> None:
    pbx_post(client, pbx_phone, pbx_event("voicemail", T0, agent="", recording_url="https://pbx.example/vm/1.wav"))
    assert CallbackRequest.objects.get().source == "voicemail"

    CallbackRequest.objects.all().delete()
    pbx_phone.config = {**pbx_phone.config, "missed_call_callback": False}
    pbx_phone.save()
    pbx_post(client, pbx_phone, pbx_event("missed", T0, call_id="pbx-2", agent=""))
    assert CallbackRequest.objects.count() == 0


def test_the_chat_widget_asks_for_a_callback_with_topic_and_time(db) -> None:  # type: ignore[no-untyped-def]
    chat = Channel.objects.create(kind=ChannelKind.CHAT, name="Web chat")
    receipt = chat_callback_request(
        channel=chat, name="Liisa", phone="040 123 4567", topic="Tilaus 1234", preferred_time="klo 14–16"
    )
    request = CallbackRequest.objects.get()
    assert (request.source, request.number, request.topic, request.preferred_time) == (
        "widget",
        CALLER,
        "Tilaus 1234",
        "klo 14–16",
    )
    assert request.case == receipt.case
    assert list(WorkItem.objects.filter(case=receipt.case).values_list("channel_kind", flat=True)) == ["callback"]


# --- attempts, retries, unreachable ---------------------------------------------------------------------------


@pytest.fixture
def queued(liisa: Customer, pbx_phone: Channel, online: User) -> CallbackRequest:
    request, _new = callback_request(customer=liisa, number=CALLER, source="api", topic="Lasku")
    work_accept(item=offered_to(online), agent=online)
    request.refresh_from_db()
    return request


def test_reached_closes_the_request_and_the_work(queued: CallbackRequest, online: User, loads_exact: None) -> None:
    callback_attempt_record(request=queued, actor=online, outcome=Outcome.REACHED, note="Sovittu uusi eräpäivä.")
    queued.refresh_from_db()
    assert (queued.status, queued.attempts) == ("done", 1)
    assert WorkItem.objects.get(case=queued.case).status == "done"
    assert AgentState.objects.get(user=online).load == 0
    assert queued.case.notes.get().body == "Sovittu uusi eräpäivä."
    attempted, closed = (
        queued.case.events.get(kind="callback_attempted"),
        queued.case.events.get(kind="callback_closed"),
    )
    assert (attempted.data["outcome"], attempted.actor, closed.data["status"]) == ("reached", online, "done")
    with pytest.raises(CallbackError, match="closed already"):
        callback_attempt_record(request=queued, actor=online, outcome=Outcome.REACHED)


def test_not_reached_retries_by_policy_then_tells_the_customer_by_sms(
    queued: CallbackRequest, online: User, sms: Channel, settings, loads_exact: None
) -> None:
    settings.TISKI_CALLBACK_RETRY_MINUTES = [15, 60]
    before = timezone.now()
    callback_attempt_record(request=queued, actor=online, outcome=Outcome.NO_ANSWER)
    queued.refresh_from_db()
    assert queued.status == "scheduled" and queued.attempts == 1
    assert timedelta(minutes=15) <= queued.next_attempt_at - before < timedelta(minutes=16)
    assert WorkItem.objects.get(case=queued.case).status == "done"  # the attempt was the work

    assert callbacks_due(now=queued.next_attempt_at + timedelta(seconds=1)) == 1
    work_accept(item=offered_to(online), agent=online)
    callback_attempt_record(request=queued, actor=online, outcome=Outcome.BUSY)
    queued.refresh_from_db()
    assert queued.status == "scheduled" and queued.next_attempt_at - timezone.now() > timedelta(minutes=59)

    callbacks_due(now=queued.next_attempt_at + timedelta(seconds=1))
    work_accept(item=offered_to(online), agent=online)
    callback_attempt_record(request=queued, actor=online, outcome=Outcome.VOICEMAIL)
    queued.refresh_from_db()
    assert (queued.status, queued.attempts) == ("unreachable", 3)
    told = Message.objects.get(case=queued.case, direction="out")
    assert told.channel == sms and "could not reach you" in told.body_text and queued.case.reference in told.body_text
    assert queued.customer_told_at is not None
    assert Case.objects.get(pk=queued.case.pk).status == "pending"
    closed = queued.case.events.get(kind="callback_closed")
    assert (closed.data["status"], closed.data["told_by"]) == ("unreachable", "sms")
    assert not WorkItem.objects.filter(case=queued.case, status__in=WorkItem.ACTIVE).exists()


def test_a_wrong_number_is_told_by_email_never_by_sms(
    queued: CallbackRequest, online: User, sms: Channel, mailbox: Channel, liisa: Customer
) -> None:
    Identity.objects.create(customer=liisa, kind=Identity.Kind.EMAIL, value="liisa@example.fi")
    callback_attempt_record(request=queued, actor=online, outcome=Outcome.WRONG_NUMBER)
    queued.refresh_from_db()
    assert queued.status == "unreachable" and queued.attempts == 1
    assert Message.objects.get(case=queued.case, direction="out").channel == mailbox


def test_cancel_and_the_permission_checks(queued: CallbackRequest, online: User, make_user_without_perms) -> None:
    with pytest.raises(CallbackError, match="permission"):
        callback_attempt_record(request=queued, actor=make_user_without_perms, outcome=Outcome.REACHED)
    with pytest.raises(CallbackError, match="permission"):
        callback_cancel(request=queued, actor=make_user_without_perms)
    with pytest.raises(CallbackError, match="how the call went"):
        callback_attempt_record(request=queued, actor=online, outcome="maybe")
    callback_cancel(request=queued, actor=online, reason="Asia hoitui sähköpostilla")
    queued.refresh_from_db()
    assert queued.status == "cancelled"
    assert WorkItem.objects.get(case=queued.case).status == "done"


@pytest.fixture
def make_user_without_perms(db) -> User:  # type: ignore[no-untyped-def]
    return User.objects.create_user("vieras", password=None)


def test_a_call_placed_from_the_case_is_the_attempt(
    client: Client, queued: CallbackRequest, online: User, pbx_phone: Channel, loads_exact: None
) -> None:
    # As call_start() leaves it: the call is the agent's, outbound, on the callback's case.
    Call.objects.create(
        channel=pbx_phone, provider_call_id="out-1", direction="outbound", number=CALLER, case=queued.case, agent=online
    )
    out = {"call_id": "out-1", "direction": "outbound", "from": LINE, "to": CALLER, "agent": "maija"}
    pbx_post(client, pbx_phone, pbx_event("answered", T0, **out))
    assert AgentState.objects.get(user=online).load == 100  # the callback work holds it; the call adds nothing
    pbx_post(client, pbx_phone, pbx_event("ended", T0 + timedelta(minutes=4), talk_s=240, **out))
    queued.refresh_from_db()
    attempt = queued.attempt_set.get()
    assert (queued.status, attempt.outcome, attempt.call.provider_call_id, attempt.agent) == (
        "done",
        "reached",
        "out-1",
        online,
    )


# --- calls hold capacity ----------------------------------------------------------------------------------------


def test_a_call_holds_the_agents_capacity_while_it_lasts(
    client: Client, pbx_phone: Channel, liisa: Customer, online: User, loads_exact: None
) -> None:
    pbx_post(client, pbx_phone, pbx_event("ringing", T0))
    pbx_post(client, pbx_phone, pbx_event("answered", T0 + timedelta(seconds=5)))
    assert (Call.objects.get().units, AgentState.objects.get(user=online).load) == (100, 100)

    email_case = Case.objects.create(customer=liisa, subject="Lasku")
    work_enqueue(case=email_case, queue=Queue.objects.get(is_default=True), channel_kind="email")
    assert route_pending() == []  # on the phone: nothing new is offered

    pbx_post(client, pbx_phone, pbx_event("ended", T0 + timedelta(minutes=3), talk_s=175))
    assert (Call.objects.get().units, AgentState.objects.get(user=online).load) == (0, 0)
    assert offered_to(online).case == email_case


def test_a_call_whose_end_is_never_reported_gives_the_capacity_back_after_hours(
    client: Client, pbx_phone: Channel, liisa: Customer, online: User, loads_exact: None
) -> None:
    from tiski.channels.voice.services import calls_stale_release

    pbx_post(client, pbx_phone, pbx_event("answered", T0))
    assert AgentState.objects.get(user=online).load == 100
    assert calls_stale_release(now=T0 + timedelta(hours=3)) == 0
    assert calls_stale_release(now=T0 + timedelta(hours=5)) == 1
    assert (Call.objects.get().units, AgentState.objects.get(user=online).load) == (0, 0)
    pbx_post(client, pbx_phone, pbx_event("ended", T0 + timedelta(hours=6), talk_s=60))  # late: logged, no release
    assert (Call.objects.get().status, AgentState.objects.get(user=online).load) == ("ended", 0)


# --- a phone case continues in writing, and back --------------------------------------------------------------


def test_a_phone_case_continues_by_sms_and_the_answer_threads_back(
    client: Client, pbx_phone: Channel, liisa: Customer, agent: User, sms: Channel
) -> None:
    pbx_post(client, pbx_phone, pbx_event("ringing", T0))
    pbx_post(client, pbx_phone, pbx_event("answered", T0 + timedelta(seconds=5)))
    pbx_post(client, pbx_phone, pbx_event("ended", T0 + timedelta(minutes=3), talk_s=175))
    case = Call.objects.get().case
    assert written_channel_for(liisa) == sms
    sent = message_reply(case=case, actor=agent, body="Tässä tilausnumero: 1234.", channel=sms)
    assert (sent.case, sent.channel) == (case, sms)

    receipt = message_receive(
        inbound=InboundMessage(
            channel=sms,
            handles=[Handle(Identity.Kind.PHONE, CALLER)],
            body_text="Kiitos!",
            external_id="SM-answer",
            threading=Threading.CONVERSATION,
        )
    )
    assert receipt.case == case and not receipt.case_created


# --- the console ------------------------------------------------------------------------------------------------


def test_the_case_page_shows_the_request_and_the_agent_records_attempts(
    client: Client, queued: CallbackRequest, online: User, settings
) -> None:
    settings.TISKI_CALLBACK_RETRY_MINUTES = [15]
    client.force_login(online)
    page = client.get(f"/console/cases/{queued.case.reference}/", HTTP_ACCEPT_LANGUAGE="en")
    text = page.content.decode()
    assert 'id="callback"' in text and "Callback request" in text and CALLER in text and "Lasku" in text
    assert "0 of 2" in text and 'name="outcome" value="no_answer"' in text

    url = f"/console/callbacks/{queued.pk}/attempt/"
    answer = client.post(url, {"outcome": "no_answer", "note": "Ei vastannut."}, HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert "Attempt recorded; the callback is offered again" in answer.content.decode()
    queued.refresh_from_db()
    assert (queued.status, queued.attempts) == ("scheduled", 1)
    assert "Callback attempt 1 to" in answer.content.decode()  # the timeline tells it

    refused = client.post(url, {"outcome": "later"}, HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert "Choose how the call went." in refused.content.decode()

    cancelled = client.post(f"/console/callbacks/{queued.pk}/cancel/", HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert "Callback request cancelled." in cancelled.content.decode()
    queued.refresh_from_db()
    assert queued.status == "cancelled"
    assert 'name="outcome"' not in cancelled.content.decode()  # a closed request takes no attempts


def test_the_console_views_check_who_asks(
    client: Client, queued: CallbackRequest, make_user_without_perms: User
) -> None:
    url = f"/console/callbacks/{queued.pk}/attempt/"
    assert client.post(url, {"outcome": "reached"}).status_code == 302  # to the login page
    client.force_login(make_user_without_perms)
    assert client.post(url, {"outcome": "reached"}).status_code == 403
    assert client.post(f"/console/callbacks/{queued.pk}/cancel/").status_code == 403
    queued.refresh_from_db()
    assert queued.status == "queued"


def test_an_unknown_request_is_404_and_get_is_refused(client: Client, agent: User) -> None:
    client.force_login(agent)
    assert client.post("/console/callbacks/999/attempt/", {"outcome": "reached"}).status_code == 404
    assert client.get("/console/callbacks/999/attempt/").status_code == 405


def test_the_composer_of_a_phone_case_replies_by_sms(
    client: Client, pbx_phone: Channel, liisa: Customer, agent: User, sms: Channel
) -> None:
    pbx_post(client, pbx_phone, pbx_event("missed", T0, agent=""))
    case = Call.objects.get().case
    client.force_login(agent)
    page = client.get(f"/console/cases/{case.reference}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Reply to Liisa Laine by SMS" in page
    client.post(f"/console/cases/{case.reference}/reply/", {"body": "Soitamme pian."})
    assert Message.objects.get(case=case, direction="out").channel == sms


def test_a_phone_case_without_a_written_way_says_so_instead_of_a_reply_box(
    client: Client, pbx_phone: Channel, liisa: Customer, agent: User
) -> None:
    pbx_post(client, pbx_phone, pbx_event("missed", T0, agent=""))
    case = Call.objects.get().case
    client.force_login(agent)
    page = client.get(f"/console/cases/{case.reference}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "A phone case is answered by calling." in page and 'id="reply-body"' not in page
    refused = client.post(f"/console/cases/{case.reference}/reply/", {"body": "Hei"}, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code in (200, 302, 400) and not Message.objects.filter(case=case).exists()


def test_a_callback_asked_for_outside_opening_hours_is_due_when_they_open(liisa: Customer, pbx_phone: Channel) -> None:
    from datetime import UTC, datetime, time

    from tiski.sla.models import BusinessCalendar, OpeningHours

    office = BusinessCalendar.objects.create(name="Office", time_zone="Europe/Helsinki", country="FI", is_default=True)
    for day in range(5):
        OpeningHours.objects.create(calendar=office, weekday=day, opens=time(8), closes=time(16))
    saturday = datetime(2027, 1, 9, 10, 0, tzinfo=UTC)  # Saturday noon in Helsinki
    request, _new = callback_request(customer=liisa, number=CALLER, source="api", window_start=saturday)
    assert request.due_at == datetime(2027, 1, 11, 6, 15, tzinfo=UTC)  # Monday 8:15 in Helsinki
