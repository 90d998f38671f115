"""The screen-pop in the agent's console: what it shows for a known and an unknown caller, picking the case a
call is logged on, and the wrap-up (with the server-side checks of who may do either)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tiski.cases.models import Case, Note
from tiski.cases.services import case_create
from tiski.channels.interface import CallEvent
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.voice.models import Call
from tiski.channels.voice.selectors import screen_pops_for
from tiski.channels.voice.services import call_event_apply

pytestmark = pytest.mark.django_db
CALLER = "+358401234567"
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def phone(db) -> Channel:  # type: ignore[no-untyped-def]
    return Channel.objects.create(kind=ChannelKind.PHONE, name="Phone", config={"provider": "generic"})


def ring(phone: Channel, *, number: str = CALLER, agent: str = "maija", call_id: str = "c1") -> Call:
    return call_event_apply(
        channel=phone, event=CallEvent(call_id=call_id, event="ringing", number=number, agent=agent)
    )


def test_known_caller_shows_their_open_cases_newest_first(phone, liisa, agent) -> None:
    older = case_create(customer=liisa, subject="Invoice 1234", actor=None)
    newer = case_create(customer=liisa, subject="Broken grinder", actor=None)
    Case.objects.filter(pk=older.pk).update(updated_at=timezone.now() - timedelta(days=2))
    closed = case_create(customer=liisa, subject="Old matter", actor=None)
    Case.objects.filter(pk=closed.pk).update(status=Case.Status.CLOSED)
    ring(phone)
    [pop] = screen_pops_for(user=agent)
    assert pop.live and pop.call.customer == liisa
    assert [case.subject for case in pop.open_cases] == ["Broken grinder", "Invoice 1234"]
    assert newer in pop.open_cases and pop.suggestions == []


def test_unknown_number_suggests_customers_with_the_same_number_ending(phone, liisa, agent) -> None:
    ring(phone, number="+46401234567")  # the same subscriber digits under another country code
    [pop] = screen_pops_for(user=agent)
    assert pop.call.customer is None and pop.suggestions == [liisa]


def test_the_console_page_draws_the_screen_pop_of_the_agents_ringing_call(client: Client, phone, liisa, agent) -> None:
    case = case_create(customer=liisa, subject="Broken grinder", actor=None)
    ring(phone)
    client.force_login(agent)
    page = client.get(reverse("console:inbox"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="screen-pop"' in page and "Incoming call" in page and "Liisa Laine" in page
    assert case.reference in page and "This one" in page


def test_other_agents_do_not_see_the_call(client: Client, phone, liisa, agent, other_agent) -> None:
    call = ring(phone)
    assert screen_pops_for(user=other_agent) == []
    client.force_login(other_agent)
    case = case_create(customer=liisa, subject="Broken grinder", actor=None)
    response = client.post(reverse("console:call-case", args=[call.pk]), {"case": case.reference}, **HX)
    assert response.status_code == 404  # not theirs to know about
    call.refresh_from_db()
    assert call.case is None


def test_agent_picks_the_case_and_the_call_is_logged_there_when_it_ends(client: Client, phone, liisa, agent) -> None:
    case = case_create(customer=liisa, subject="Broken grinder", actor=None)
    call = ring(phone)
    client.force_login(agent)
    response = client.post(reverse("console:call-case", args=[call.pk]), {"case": case.reference}, **HX)
    assert response.status_code == 200 and "The call is logged here" in response.content.decode()
    call_event_apply(channel=phone, event=CallEvent(call_id="c1", event="answered"))
    call_event_apply(channel=phone, event=CallEvent(call_id="c1", event="ended"))
    call.refresh_from_db()
    assert call.case == case and Case.objects.count() == 1
    assert case.events.filter(kind="call_ended").count() == 1


def test_wrap_up_keeps_the_reason_and_adds_the_note_to_the_case(client: Client, phone, liisa, agent) -> None:
    call = ring(phone)
    client.force_login(agent)
    early = client.post(reverse("console:call-wrap-up", args=[call.pk]), {"reason_code": "billing", "note": "x"}, **HX)
    assert early.status_code == 400 and "when it has ended" in early.content.decode()
    call_event_apply(channel=phone, event=CallEvent(call_id="c1", event="answered"))
    call_event_apply(channel=phone, event=CallEvent(call_id="c1", event="ended"))
    [pop] = screen_pops_for(user=agent)
    assert not pop.live  # waiting for the wrap-up
    bad = client.post(reverse("console:call-wrap-up", args=[call.pk]), {"reason_code": "nonsense"}, **HX)
    assert bad.status_code == 400
    done = client.post(
        reverse("console:call-wrap-up", args=[call.pk]),
        {"reason_code": "billing", "note": "Promised a credit note by Friday."},
        **HX,
    )
    assert done.status_code == 200 and 'data-call="' not in done.content.decode()  # gone from the screen-pop
    call.refresh_from_db()
    assert (call.reason_code, call.wrap_up_note) == ("billing", "Promised a credit note by Friday.")
    note = Note.objects.get(case=call.case)
    assert note.author == agent and "Promised a credit note by Friday." in note.body and "billing" in note.body
    assert screen_pops_for(user=agent) == []
