"""Applying a macro to one case: one transaction, the timeline marked as done by the macro, usage counted."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from tiski.cases.models import Case, CaseEvent, Message
from tiski.macros.exceptions import MacroInvalidError, MacroNotApplicableError, MacroPermissionError
from tiski.macros.models import MacroRun, MacroUse
from tiski.macros.selectors import macro_usage, macros_for
from tiski.macros.services import macro_apply, macro_create, macro_update

pytestmark = pytest.mark.django_db


def test_apply_to_one_case_replies_sets_pending_tags_and_counts_the_use(
    email_case: Any, outage_macro: Any, agent: Any, run_tasks: Any
) -> None:
    case = email_case()
    use = macro_apply(macro=outage_macro, case=case, actor=agent)

    case.refresh_from_db()
    assert case.status == Case.Status.PENDING
    assert list(case.tags.values_list("name", flat=True)) == ["outage-2026-11"]
    [reply] = Message.objects.filter(case=case, direction=Message.Direction.OUT)
    assert reply.body_text == f"Hei Anssi, korjaamme häiriötä. Viite {case.reference}."
    assert reply.channel_id == case.channel_id
    assert use.outcome == MacroUse.Outcome.APPLIED and len(use.summaries) == 3
    run = use.run
    assert (run.bulk, run.status, run.total, run.done_count) == (False, MacroRun.Status.DONE, 1, 1)
    sources = {
        e.data.get("source", {}).get("macro") for e in CaseEvent.objects.filter(case=case, kind="status_changed")
    }
    assert sources == {outage_macro.pk}
    assert macro_usage() == {outage_macro.pk: 1}
    assert next(m for m in macros_for(user=agent) if m.pk == outage_macro.pk).use_count == 1

    run_tasks()  # the outbox sends it by email
    [sent] = [m for m in mail.outbox if "korjaamme häiriötä" in m.body]  # (an acknowledgement may go too)
    assert sent.to == ["anssi@example.com"] and case.reference in sent.body


def test_apply_to_a_closed_case_changes_nothing_and_says_why(email_case: Any, outage_macro: Any, agent: Any) -> None:
    case = email_case()
    Case.objects.filter(pk=case.pk).update(status=Case.Status.CLOSED)
    with pytest.raises(MacroNotApplicableError, match="closed"):
        macro_apply(macro=outage_macro, case=case, actor=agent)
    assert not Message.objects.filter(case=case, direction=Message.Direction.OUT).exists()
    assert not MacroRun.objects.exists() and macro_usage() == {}


def test_a_failing_action_rolls_back_the_earlier_ones(email_case: Any, team_lead: Any, agent: Any) -> None:
    macro = macro_create(
        actor=team_lead,
        name="Note then hand over",
        shared=True,
        actions=[{"action": "note", "body": "Handing over"}, {"action": "set_owner", "agent": "nobody-here"}],
    )
    case = email_case()
    with pytest.raises(MacroNotApplicableError, match="nobody-here"):
        macro_apply(macro=macro, case=case, actor=agent)
    assert not case.notes.exists()


def test_bad_action_json_gets_a_clear_error_and_saves_nothing(agent: Any) -> None:
    with pytest.raises(MacroInvalidError) as error:
        macro_create(
            actor=agent,
            name="Broken",
            actions=[{"action": "set_status", "status": "sleeping"}, {"action": "teleport"}, {"action": "reply"}],
        )
    text = " ".join(error.value.errors)
    assert "Status must be one of" in text
    assert "unknown action “teleport”" in text
    assert "Text is required" in text
    with pytest.raises(MacroInvalidError, match="list"):
        macro_create(actor=agent, name="Not a list", actions={"action": "note"})
    with pytest.raises(MacroInvalidError, match="name"):
        macro_create(actor=agent, name="  ", actions=[{"action": "note", "body": "x"}])
    with pytest.raises(MacroInvalidError, match="placeholder"):
        macro_create(
            actor=agent, name="Bad placeholder", actions=[{"action": "note", "body": "Hei {% if customer.name %}"}]
        )
    assert not macros_for(user=agent).exists()


def test_names_are_unique_among_shared_and_among_each_agents_own(team_lead: Any, agent: Any, other_agent: Any) -> None:
    note = [{"action": "note", "body": "x"}]
    macro_create(actor=team_lead, name="Same", actions=note, shared=True)
    with pytest.raises(MacroInvalidError, match="shared macro called"):
        macro_create(actor=team_lead, name="Same", actions=note, shared=True)
    mine = macro_create(actor=agent, name="Same", actions=note)  # a personal one may share a shared one's name
    macro_create(actor=other_agent, name="Same", actions=note)
    with pytest.raises(MacroInvalidError, match="You have a macro"):
        macro_create(actor=agent, name="Same", actions=note)
    assert macro_update(macro=mine, actor=agent, name="Same", actions=note).name == "Same"  # itself is no clash


def test_agents_cannot_create_or_change_shared_macros_leads_can(agent: Any, team_lead: Any, outage_macro: Any) -> None:
    note = [{"action": "note", "body": "x"}]
    with pytest.raises(MacroPermissionError):
        macro_create(actor=agent, name="Team macro", actions=note, shared=True)
    with pytest.raises(MacroPermissionError):
        macro_update(macro=outage_macro, actor=agent, name="Hijacked", actions=note)
    assert macro_update(macro=outage_macro, actor=team_lead, name="Outage v2", actions=note).name == "Outage v2"


def test_personal_macros_are_seen_by_their_owner_only(agent: Any, other_agent: Any, outage_macro: Any) -> None:
    mine = macro_create(actor=agent, name="Mine", actions=[{"action": "note", "body": "x"}])
    assert set(macros_for(user=agent)) == {outage_macro, mine}
    assert set(macros_for(user=other_agent)) == {outage_macro}
    with pytest.raises(MacroPermissionError):
        macro_update(macro=mine, actor=other_agent, name="Stolen", actions=[{"action": "note", "body": "y"}])
