"""What a restarted worker does with the work a killed one left behind, in the database (the processes are
killed for real in test_kill9)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from tiski.cases.models import CaseEvent, Message
from tiski.cases.services import message_reply
from tiski.channels.interface import StatusUpdate
from tiski.channels.models import Delivery
from tiski.channels.outbox import outbound_reference, outbound_reference_parse, outbox_attempt, outbox_confirm
from tiski.channels.services import delivery_status_apply

pytestmark = pytest.mark.django_db


def in_doubt(message: Message, *, ago: timedelta = timedelta(seconds=1)) -> Delivery:
    """Leave MESSAGE's delivery as a worker killed mid-send leaves it: "sending", its task gone."""
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.all().delete()
    Delivery.objects.filter(message=message).update(
        status=Delivery.Status.SENDING, claimed_at=timezone.now() - ago, attempts=1
    )
    return Delivery.objects.get(message=message)


def test_an_email_reply_sent_again_after_a_crash_has_the_same_message_id(receive: Any, agent: Any, settings) -> None:  # type: ignore[no-untyped-def]
    settings.TISKI_OUTBOX_STALE_CLAIM_S = 60
    message = message_reply(case=receive().case, actor=agent, body="Hei")
    assert outbox_attempt(delivery_id=message.delivery.pk) == Delivery.Status.SENT
    first = mail.outbox[0].extra_headers["Message-ID"]
    message.refresh_from_db()
    assert message.external_id == first

    in_doubt(message, ago=timedelta(seconds=30))  # the relay took it; the worker died before recording it
    assert outbox_attempt(delivery_id=message.delivery.pk) == "skipped"  # its claim may still be alive
    in_doubt(message, ago=timedelta(seconds=61))
    assert outbox_attempt(delivery_id=message.delivery.pk) == Delivery.Status.SENT
    assert [m.extra_headers["Message-ID"] for m in mail.outbox] == [first, first]

    other = message_reply(case=message.case, actor=agent, body="Toinen")
    outbox_attempt(delivery_id=other.delivery.pk)
    second = mail.outbox[2].extra_headers["Message-ID"]
    assert second != first and second.startswith(f"<tiski.{other.pk}.") and second.endswith("@shop.example>")
    settings.SECRET_KEY = "another installation's secret key, long enough to be one"
    in_doubt(other, ago=timedelta(hours=1))
    outbox_attempt(delivery_id=other.delivery.pk)
    assert mail.outbox[3].extra_headers["Message-ID"] != second  # keyed: not guessable from the message's id


def test_a_status_callback_naming_the_reply_confirms_a_delivery_left_in_doubt(receive: Any, agent: Any) -> None:
    message = message_reply(case=receive().case, actor=agent, body="Hei")
    delivery = in_doubt(message, ago=timedelta(hours=1))
    reference = outbound_reference(message.pk)
    assert outbound_reference_parse(reference) == message.pk
    assert outbound_reference_parse("tiski-message-x1") is None and outbound_reference_parse("SM123") is None

    kind = message.channel.kind
    update = StatusUpdate(external_id="SM" + "a" * 32, status=Message.Delivery.SENT, reference=reference)
    assert delivery_status_apply(kind=kind, update=update) == message

    delivery.refresh_from_db()
    message.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT
    assert (message.delivery_status, message.external_id) == (Message.Delivery.SENT, "SM" + "a" * 32)
    assert message.case.events.filter(kind=CaseEvent.Kind.REPLY_SENT).count() == 1
    assert outbox_attempt(delivery_id=delivery.pk) == "skipped"  # the restarted worker does not send it again
    assert mail.outbox == []
    # A later report, or a forged reference for a reply recorded already, changes nothing.
    assert outbox_confirm(reference=reference, external_id="SM" + "b" * 32) is None
    message.refresh_from_db()
    assert message.external_id == "SM" + "a" * 32


def test_a_status_callback_without_a_reference_leaves_the_delivery_in_doubt(receive: Any, agent: Any) -> None:
    message = message_reply(case=receive().case, actor=agent, body="Hei")
    delivery = in_doubt(message, ago=timedelta(hours=1))
    update = StatusUpdate(external_id="SM" + "c" * 32, status=Message.Delivery.SENT)
    assert delivery_status_apply(kind=message.channel.kind, update=update) is None
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENDING
    assert outbox_attempt(delivery_id=delivery.pk) == Delivery.Status.SENT  # sent again: at least once
    assert len(mail.outbox) == 1


def test_a_bulk_run_a_killed_worker_left_running_is_finished_by_the_next_worker(
    receive: Any, agent: Any, run_tasks: Any
) -> None:
    from django_tasks_db.models import DBTaskResult

    from tiski.automation.actions import actions_validate
    from tiski.macros.models import Macro, MacroRun, MacroUse
    from tiski.macros.services import macro_run_requeue_unfinished, macro_run_start

    cases = [receive(email=f"asiakas{n}@example.com").case for n in range(3)]
    macro = Macro.objects.create(name="Kiitos", actions=actions_validate([{"action": "reply", "body": "Kiitos!"}]))
    run = macro_run_start(macro=macro, actor=agent, case_ids=[case.pk for case in cases])
    # The worker died after the first case: its reply and use are stored, the run and its task say "running".
    from tiski.macros.services import _process_one

    _process_one(run, cases[0].pk, agent)
    MacroRun.objects.filter(pk=run.pk).update(status=MacroRun.Status.RUNNING)
    DBTaskResult.objects.update(status="RUNNING")
    run_tasks()
    assert MacroUse.objects.filter(run=run).count() == 1  # nothing else picks the run up …

    assert macro_run_requeue_unfinished() == 1  # … until a worker starts
    run_tasks()
    run.refresh_from_db()
    assert (run.status, run.done_count) == (MacroRun.Status.DONE, 3)
    replies = Message.objects.filter(direction=Message.Direction.OUT, body_text="Kiitos!")
    assert sorted(replies.values_list("case_id", flat=True)) == sorted(case.pk for case in cases)  # one each
    assert macro_run_requeue_unfinished() == 0
