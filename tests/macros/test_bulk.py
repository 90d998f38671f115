"""Bulk runs: one macro over cases on email, SMS and chat, each replied to on its own channel by the real outbox
worker; cases that cannot take it are skipped with the reason; a retried task never processes a case twice."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.db.models.signals import post_save
from django_tasks_db.models import DBTaskResult

from tiski.cases.models import Case, Message
from tiski.channels.models import Delivery
from tiski.customers.models import Identity
from tiski.macros.exceptions import MacroInvalidError
from tiski.macros.models import MacroRun, MacroUse
from tiski.macros.selectors import macro_preview_bulk, macro_usage
from tiski.macros.services import macro_run_process, macro_run_start
from tiski.macros.tasks import macro_run_execute

pytestmark = pytest.mark.django_db


def _replies(case: Case) -> list[Message]:
    return list(Message.objects.filter(case=case, direction=Message.Direction.OUT, author=Message.Author.AGENT))


def test_bulk_run_replies_on_each_cases_own_channel_and_skips_with_reasons(
    email_case: Any, sms_case: Any, chat_case: Any, outage_macro: Any, agent: Any, twilio: Any, run_tasks: Any
) -> None:
    emailed = [email_case(f"asiakas{n}@example.com", f"Asiakas{n} Sähköposti") for n in range(3)]
    texted = [sms_case(f"+35840555000{n}") for n in range(2)]
    chatted = chat_case()
    closed = email_case("suljettu@example.com", "Suljettu Asiakas")
    Case.objects.filter(pk=closed.pk).update(status=Case.Status.CLOSED)
    unreachable = sms_case("+358405559999")
    Identity.objects.filter(customer=unreachable.customer).delete()  # no number left to text
    selection = [*emailed, *texted, chatted, closed, unreachable]

    run = macro_run_start(macro=outage_macro, actor=agent, case_ids=[c.pk for c in selection])
    assert (run.status, run.total, run.bulk) == (MacroRun.Status.QUEUED, 8, True)
    assert DBTaskResult.objects.filter(task_path__endswith="macro_run_execute").count() == 1

    run_tasks()  # the macro's task, then the outbox deliveries it queued

    run.refresh_from_db()
    assert (run.status, run.done_count, run.skipped_count, run.failed_count) == (MacroRun.Status.DONE, 6, 2, 0)
    assert run.started_at and run.finished_at and run.percent == 100
    for case in [*emailed, *texted, chatted]:
        case.refresh_from_db()
        [reply] = _replies(case)
        assert reply.channel_id == case.channel_id, case.channel.kind
        assert reply.body_text.endswith(f"Viite {case.reference}.")
        assert reply.delivery_status == Message.Delivery.SENT, (case.channel.kind, reply.delivery_error)
        assert case.status == Case.Status.PENDING
        assert "outage-2026-11" in case.tags.values_list("name", flat=True)

    mailed = {m.to[0]: m.body for m in mail.outbox if "korjaamme häiriötä" in m.body}
    assert set(mailed) == {f"asiakas{n}@example.com" for n in range(3)}
    assert all(f"Viite {c.reference}." in mailed[c.customer.identities.get().value] for c in emailed)
    texts = [m for m in twilio.messages if "korjaamme häiriötä" in m.body]  # (acknowledgements may go too)
    assert sorted(m.to for m in texts) == ["+358405550000", "+358405550001"]
    assert Delivery.objects.get(message=_replies(chatted)[0]).status == Delivery.Status.SENT
    assert _replies(chatted)[0].external_id == f"chat-{_replies(chatted)[0].pk}"

    reasons = dict(MacroUse.objects.filter(run=run, outcome="skipped").values_list("case_id", "reason"))
    assert "closed" in reasons[closed.pk]
    assert "no address" in reasons[unreachable.pk] and "SMS" in reasons[unreachable.pk]
    assert not _replies(closed) and not _replies(unreachable)
    assert macro_usage() == {outage_macro.pk: 6}


def test_a_retried_task_never_processes_a_case_twice(email_case: Any, outage_macro: Any, agent: Any) -> None:
    cases = [email_case(f"uusinta{n}@example.com", f"Uusinta{n} Asiakas") for n in range(5)]
    run = macro_run_start(macro=outage_macro, actor=agent, case_ids=[c.pk for c in cases])
    # The first attempt died after two cases (their uses committed with their changes) ...
    from tiski.macros.services import _process_one

    for case in cases[:2]:
        _process_one(run, case.pk, agent)
    assert MacroUse.objects.filter(run=run).count() == 2
    # ... the task runs again, and then a third time (a duplicate delivery of the task).
    macro_run_execute.call(run_id=run.pk)
    MacroRun.objects.filter(pk=run.pk).update(status=MacroRun.Status.RUNNING, finished_at=None)
    assert macro_run_process(run_id=run.pk).status == MacroRun.Status.DONE

    run.refresh_from_db()
    assert (run.done_count, run.skipped_count, run.failed_count) == (5, 0, 0)
    assert MacroUse.objects.filter(run=run).count() == 5
    for case in cases:
        assert len(_replies(case)) == 1


def test_progress_is_saved_after_every_batch(email_case: Any, outage_macro: Any, agent: Any) -> None:
    cases = [email_case(f"eriin{n}@example.com", f"Erä{n} Asiakas") for n in range(5)]
    run = macro_run_start(macro=outage_macro, actor=agent, case_ids=[c.pk for c in cases])
    seen: list[tuple[str, int, int]] = []

    def watch(sender: Any, instance: MacroRun, **kwargs: Any) -> None:  # what a poll of the run would read
        fresh = MacroRun.objects.get(pk=instance.pk)
        seen.append((fresh.status, fresh.processed, fresh.total))

    post_save.connect(watch, sender=MacroRun)
    try:
        macro_run_process(run_id=run.pk, batch_size=2)
    finally:
        post_save.disconnect(watch, sender=MacroRun)
    assert seen == [("running", 0, 5), ("running", 2, 5), ("running", 4, 5), ("running", 5, 5), ("done", 5, 5)]


def test_a_case_the_agent_may_not_change_is_skipped_not_the_run(
    email_case: Any, team_lead: Any, agent: Any, other_agent: Any
) -> None:
    from tiski.cases.services import case_update
    from tiski.macros.services import macro_create

    macro = macro_create(
        actor=team_lead, name="Give to Minna", shared=True, actions=[{"action": "set_owner", "agent": "minna"}]
    )
    free, owned = email_case("vapaa@example.com"), email_case("varattu@example.com")
    case_update(case=owned, actor=other_agent, owner=other_agent)
    run = macro_run_process(run_id=macro_run_start(macro=macro, actor=agent, case_ids=[free.pk, owned.pk]).pk)
    assert (run.status, run.done_count, run.skipped_count) == (MacroRun.Status.DONE, 0, 2)
    assert Case.objects.get(pk=owned.pk).owner == other_agent
    lead_run = macro_run_start(macro=macro, actor=team_lead, case_ids=[free.pk, owned.pk])
    assert macro_run_process(run_id=lead_run.pk).done_count == 2  # a team lead may assign to others
    assert "team lead" in MacroUse.objects.filter(run=run).first().reason


def test_preview_counts_by_channel_renders_a_sample_and_lists_skips(
    email_case: Any, sms_case: Any, outage_macro: Any, agent: Any
) -> None:
    a, b = email_case("eka@example.com", "Eka Asiakas"), email_case("toka@example.com", "Toka Asiakas")
    c = sms_case("+358405551234")
    Case.objects.filter(pk=b.pk).update(status=Case.Status.CLOSED)
    preview = macro_preview_bulk(macro=outage_macro, case_ids=[a.pk, b.pk, c.pk], actor=agent)
    assert preview.total == 3 and preview.closed == 1
    assert [(kind, n) for kind, _label, n in preview.by_channel] == [("email", 2), ("sms", 1)]
    assert preview.samples[0].reply == f"Hei Eka, korjaamme häiriötä. Viite {a.reference}."
    assert preview.skipped == []  # closed ones are counted over the whole selection, not listed
    Identity.objects.filter(customer=c.customer).delete()
    preview = macro_preview_bulk(macro=outage_macro, case_ids=[a.pk, b.pk, c.pk], actor=agent)
    assert [(case.pk, "no address" in reason) for case, reason in preview.skipped] == [(c.pk, True)]
    assert not Message.objects.filter(direction=Message.Direction.OUT, author=Message.Author.AGENT).exists()


def test_a_run_needs_cases(outage_macro: Any, agent: Any) -> None:
    with pytest.raises(MacroInvalidError, match="at least one case"):
        macro_run_start(macro=outage_macro, actor=agent, case_ids=[])
