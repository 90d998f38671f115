"""Escalating a chat to a call at the service level: what it refuses, and the routing work it changes."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from tiski.cases.exceptions import CaseClosedError, CaseInvalidError, CasePermissionError
from tiski.cases.models import Case, CaseEvent
from tiski.cases.services import call_in_progress, case_call_end, case_call_escalate
from tiski.channels.chat.services import chat_message_post, chat_session_start
from tiski.channels.models import Channel, ChannelKind
from tiski.routing.models import AgentState, Queue, WorkItem
from tiski.routing.selectors import case_active_item
from tiski.routing.services import agent_state, units_for, work_channel_change


@pytest.fixture
def chat_case(db: Any) -> Case:
    channel = Channel.objects.create(kind=ChannelKind.CHAT, name="Shop chat", config={})
    session, _token = chat_session_start(channel=channel, language="en", prechat={"name": "Liisa Laine"})
    return chat_message_post(session=session, client_id="c1", text="Please call me.").case


def test_only_agents_escalate(chat_case: Case) -> None:
    with pytest.raises(CasePermissionError):
        case_call_escalate(case=chat_case, actor=User.objects.create_user("asiakas"), number="0401234567")
    assert call_in_progress(case=chat_case) is None


def test_a_closed_case_is_not_called(chat_case: Case, agent: User) -> None:
    Case.objects.filter(pk=chat_case.pk).update(status=Case.Status.CLOSED)
    with pytest.raises(CaseClosedError):
        case_call_escalate(case=chat_case, actor=agent, number="0401234567")


def test_queued_chat_work_becomes_phone_work_without_an_agent_load(chat_case: Case, agent: User) -> None:
    item = case_active_item(case_id=chat_case.pk)
    assert item is not None and item.status == WorkItem.Status.QUEUED and item.units == units_for("chat")
    event = case_call_escalate(case=chat_case, actor=agent, number="+358 40 123 4567")
    item.refresh_from_db()
    assert item.channel_kind == "phone" and item.units == units_for("phone") and item.status == WorkItem.Status.QUEUED
    assert AgentState.objects.filter(load__gt=0).count() == 0
    assert call_in_progress(case=chat_case) == event
    with pytest.raises(CaseInvalidError):
        case_call_escalate(case=chat_case, actor=agent, number="0401234567")
    ended = case_call_end(case=chat_case, actor=agent)
    assert ended.kind == CaseEvent.Kind.CALL_ENDED and call_in_progress(case=chat_case) is None
    with pytest.raises(CaseInvalidError):
        case_call_end(case=chat_case, actor=agent)


def test_fewer_units_free_the_agent_and_no_work_is_no_change(chat_case: Case, agent: User) -> None:
    queue = Queue.objects.get(is_default=True)
    item = WorkItem.objects.get(case=chat_case)
    state = agent_state(agent)
    state.load = item.units
    state.save(update_fields=["load"])
    WorkItem.objects.filter(pk=item.pk).update(status=WorkItem.Status.ASSIGNED, agent=agent, queue=queue)
    changed = work_channel_change(case=chat_case, kind="email")
    assert changed is not None and changed.units == units_for("email")
    assert AgentState.objects.get(user=agent).load == units_for("email")
    WorkItem.objects.filter(pk=item.pk).update(status=WorkItem.Status.DONE)
    assert work_channel_change(case=chat_case, kind="phone") is None
