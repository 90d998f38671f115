"""Case selectors: filters, search and permission scoping."""

from __future__ import annotations

import pytest

from tiski.cases.exceptions import CaseNotFoundError, CasePermissionError
from tiski.cases.models import Case
from tiski.cases.selectors import CaseFilters, case_get_for_agent, case_list, case_timeline
from tiski.cases.services import case_update, message_reply, note_add
from tiski.customers.models import Identity

pytestmark = pytest.mark.django_db


def test_search_finds_by_reference_email_phone_subject_and_name_without_repeats(receive, agent):
    anssi = receive(email="anssi@example.com", name="Anssi Asiakas", subject="Paita väärän värinen").case
    receive(email="maija@example.com", name="Maija", subject="Lasku")
    Identity.objects.create(customer=anssi.customer, kind="phone", value="+358401234567")
    Identity.objects.create(customer=anssi.customer, kind="email", value="anssi@work.example")

    def search(text: str) -> list[Case]:
        return list(case_list(user=agent, filters=CaseFilters(q=text)))

    assert search(anssi.reference) == [anssi]
    assert search("ANSSI@example.com") == [anssi]
    assert search("040 123 4567") == [anssi]
    assert search("väärän") == [anssi]
    assert search("asiakas") == [anssi]
    assert search("nobody@example.com") == []


def test_filters_narrow_the_list(receive, agent, other_agent, team_lead):
    mine = receive(subject="mine").case
    theirs = receive(subject="theirs").case
    unassigned = receive(subject="unassigned").case
    case_update(case=mine, actor=agent, owner=agent, priority=Case.Priority.URGENT)
    case_update(case=theirs, actor=team_lead, owner=other_agent, status=Case.Status.SOLVED)

    def subjects(**filters) -> set[str]:
        return {c.subject for c in case_list(user=agent, filters=CaseFilters(**filters))}

    assert subjects(owner="me") == {"mine"}
    assert subjects(owner="unassigned") == {"unassigned"}
    assert subjects(owner=str(other_agent.pk)) == {"theirs"}
    assert subjects(status=["active"]) == {"mine", "unassigned"}
    assert subjects(status=["solved"]) == {"theirs"}
    assert subjects(priority=[Case.Priority.URGENT]) == {"mine"}
    assert subjects(channel=[mine.channel_id]) == {"mine", "theirs", "unassigned"}
    assert subjects(channel=[999999]) == set()
    assert unassigned.owner is None


def test_list_is_newest_activity_first(receive, agent):
    old = receive(subject="old").case
    new = receive(subject="new").case
    assert list(case_list(user=agent)) == [new, old]
    note_add(case=old, actor=agent, body="touch")
    assert next(iter(case_list(user=agent))) == old


def test_non_agents_see_nothing(receive, django_user_model):
    receive()
    outsider = django_user_model.objects.create_user(username="outsider", password="x")
    with pytest.raises(CasePermissionError):
        case_list(user=outsider)
    with pytest.raises(CasePermissionError):
        case_get_for_agent(user=outsider, reference="TSK-1001")


def test_get_by_reference_or_pk(receive, agent):
    case = receive().case
    assert case_get_for_agent(user=agent, reference=case.reference) == case
    assert case_get_for_agent(user=agent, reference=case.pk) == case
    for bad in ("TSK-999999", "garbage", ""):
        with pytest.raises(CaseNotFoundError):
            case_get_for_agent(user=agent, reference=bad)


def test_timeline_holds_messages_notes_and_events_in_time_order(receive, agent):
    case = receive(body="first").case
    note_add(case=case, actor=agent, body="internal")
    message_reply(case=case, actor=agent, body="answer")
    kinds = [
        (entry.kind, getattr(entry.item, "body_text", getattr(entry.item, "body", "")))
        for entry in case_timeline(case=case)
    ]
    assert [k for k, _ in kinds if k != "event"] == ["message", "note", "message"]
    assert [text for k, text in kinds if k != "event"] == ["first", "internal", "answer"]
    times = [entry.at for entry in case_timeline(case=case)]
    assert times == sorted(times)
