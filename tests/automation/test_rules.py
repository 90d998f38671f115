"""Automation rules through the real pipeline and services: triggers, conditions (all/any), actions, the log,
loop prevention, failures undone alone, time-based rules once per stay, and the dry run."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from tiski.accounts.models import Team
from tiski.automation.models import Rule, RuleRun
from tiski.automation.services import RuleInvalidError, rule_dry_run, rule_save, rules_time_run
from tiski.automation.webhooks import signature
from tiski.cases.models import Case, CaseEvent, Message, Note
from tiski.cases.services import case_create, case_update
from tiski.channels.services import Receipt
from tiski.customers.models import Customer
from tiski.notifications.models import Notification


@pytest.fixture(autouse=True)
def _without_default_rules(db):  # type: ignore[no-untyped-def]
    """Start from no rules: the ones every installation gets (tiski.surveys' low-score rule) are not tested here."""
    from tiski.automation.models import Rule

    Rule.objects.all().delete()


pytestmark = pytest.mark.django_db
Receive = Callable[..., Receipt]


def rule(**data: Any) -> Rule:
    data.setdefault("name", "Test rule")
    data.setdefault("trigger", "message_received")
    return rule_save(data=data, actor=None)


def runs(case: Case) -> list[RuleRun]:
    return list(RuleRun.objects.filter(case=case).order_by("id"))


# ── conditions and actions on the pipeline's events ───────────────────────────────────────────────────────────


def test_a_matching_contact_runs_the_actions_and_the_log_says_what_was_done(receive: Receive) -> None:
    vip = rule(
        name="Invoices are billing's, high",
        trigger="case_created",
        conditions={"all": [{"field": "message.text", "op": "contains", "value": "LASKU"}]},
        actions=[
            {"action": "set_priority", "priority": "high"},
            {"action": "add_tags", "tags": ["billing", "Lasku"]},
            {"action": "note", "body": "Asiakas {{ customer.name }} kysyy laskusta ({{ case.reference }})."},
        ],
    )
    case = receive(subject="Kysymys", body="Laskussa on virhe").case
    case.refresh_from_db()
    assert case.priority == Case.Priority.HIGH
    assert sorted(case.tags.values_list("name", flat=True)) == ["billing", "lasku"]
    note = Note.objects.get(case=case)
    assert note.author is None and note.body == f"Asiakas Anssi Asiakas kysyy laskusta ({case.reference})."
    [run] = runs(case)
    assert run.rule == vip and run.outcome == "done" and run.trigger == "case_created"
    assert run.done == ["Set priority: High", "Add tags: billing, Lasku", "Add an internal note"]
    # the timeline says which rule did it
    changed = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.PRIORITY_CHANGED)
    assert changed.actor is None and changed.data["source"] == {"rule": vip.pk}


def test_a_contact_that_does_not_match_runs_nothing(receive: Receive) -> None:
    rule(
        conditions={"all": [{"field": "message.text", "op": "contains", "value": "lasku"}]},
        actions=[{"action": "set_priority", "priority": "urgent"}],
    )
    case = receive(body="Which size fits me?").case
    case.refresh_from_db()
    assert case.priority == Case.Priority.NORMAL and runs(case) == []


def test_all_and_any_groups(receive: Receive) -> None:
    rule(
        conditions={
            "all": [
                {"field": "customer.tier", "op": "in", "value": ["vip", "gold"]},
                {
                    "any": [
                        {"field": "case.subject", "op": "starts_with", "value": "urgent"},
                        {"field": "message.text", "op": "contains", "value": "broken"},
                    ]
                },
            ]
        },
        actions=[{"action": "set_priority", "priority": "urgent"}],
    )
    Customer.objects.create(name="Vera VIP", tier="vip").identities.create(kind="email", value="vera@example.com")
    plain = receive(subject="Urgent: help", body="x").case  # not a VIP
    vip_other = receive(email="vera@example.com", subject="Hello", body="all fine").case  # neither of any
    vip_match = receive(email="vera@example.com", subject="Hi", body="The screen is BROKEN").case
    assert [Case.objects.get(pk=c.pk).priority for c in (plain, vip_other, vip_match)] == [2, 2, 4]


def test_a_rule_only_for_some_channels(receive: Receive) -> None:
    rule(channel_kinds=["sms"], actions=[{"action": "add_tags", "tags": ["sms"]}])
    case = receive().case  # a web-form contact
    assert list(case.tags.all()) == [] and runs(case) == []


def test_status_changed_and_assigned_triggers_with_the_previous_status(
    receive: Receive, agent: User, team_lead: User, run_tasks: Callable[[], None]
) -> None:
    rule(
        trigger="status_changed",
        conditions={
            "all": [
                {"field": "case.status", "op": "is", "value": "solved"},
                {"field": "event.old_status", "op": "is", "value": "pending"},
            ]
        },
        actions=[{"action": "add_tags", "tags": ["solved-after-waiting"]}],
    )
    rule(
        trigger="assigned",
        conditions={"all": [{"field": "case.owner", "op": "is", "value": "maija"}]},
        actions=[{"action": "add_tags", "tags": ["maijas"]}],
    )
    case = receive().case
    case_update(case=case, actor=agent, status="open")
    case_update(case=case, actor=agent, status="solved")  # from open: no
    run_tasks()  # case changes run their rules once committed, in the worker
    assert not case.tags.filter(name="solved-after-waiting").exists()
    case_update(case=case, actor=agent, status="pending")
    case_update(case=case, actor=agent, status="solved")
    run_tasks()
    assert case.tags.filter(name="solved-after-waiting").exists()
    case_update(case=case, actor=team_lead, owner=agent)
    run_tasks()
    assert case.tags.filter(name="maijas").exists()


def test_a_case_created_by_an_agent_runs_case_created_rules(
    agent: User, webform_channel: Any, run_tasks: Callable[[], None]
) -> None:
    rule(trigger="case_created", actions=[{"action": "add_tags", "tags": ["made-by-hand"]}])
    customer = Customer.objects.create(name="Outi")
    case = case_create(customer=customer, subject="Phone call", actor=agent)
    run_tasks()
    assert case.tags.filter(name="made-by-hand").exists()


def test_a_pipeline_case_runs_case_created_once(receive: Receive, run_tasks: Callable[[], None]) -> None:
    rule(trigger="case_created", actions=[{"action": "note", "body": "hello"}])
    case = receive().case
    run_tasks()
    assert Note.objects.filter(case=case).count() == 1 and len(runs(case)) == 1


def test_a_rule_reply_goes_out_on_the_case_channel_as_an_automatic_message(receive: Receive) -> None:
    rule(
        trigger="case_created",
        conditions={"all": [{"field": "message.text", "op": "contains", "value": "opening hours"}]},
        actions=[{"action": "reply", "body": "Hei {{ customer.first_name }}! Olemme auki ma–pe 8–16. {{ company }}"}],
    )
    case = receive(body="What are your opening hours?").case
    reply = Message.objects.get(case=case, direction="out")
    assert reply.author == "system" and reply.auto_submitted and reply.author_user is None
    assert reply.body_text == "Hei Anssi! Olemme auki ma–pe 8–16. Tiski"
    case.refresh_from_db()
    assert case.first_response_at is None and case.owner is None  # no agent has answered yet
    assert reply.delivery_status in ("queued", "sent")


def test_a_rule_never_answers_an_automatic_message(receive: Receive) -> None:
    rule(actions=[{"action": "reply", "body": "Thanks!"}])
    case = receive(auto_submitted=True, body="I am out of office").case
    assert not Message.objects.filter(case=case, direction="out").exists() and runs(case) == []


def test_assign_team_queue_owner_and_notify_team_leads(receive: Receive, agent: User, team_lead: User) -> None:
    from tiski.routing.models import Queue, WorkItem

    billing = Team.objects.create(name="Billing")
    team_lead.agent.teams.add(billing)
    Queue.objects.create(name="Invoices")
    rule(
        actions=[
            {"action": "set_team", "team": "Billing"},
            {"action": "set_queue", "queue": "Invoices"},
            {"action": "set_owner", "agent": "maija"},
            {"action": "notify", "to": "team_leads", "text": "New invoice case {{ case.reference }}"},
        ]
    )
    case = receive().case
    case.refresh_from_db()
    assert case.team == billing and case.owner == agent
    item = WorkItem.objects.get(case=case)
    assert item.queue.name == "Invoices" and item.status == "done"  # moved there, then the owner took it
    [notification] = Notification.objects.filter(user=team_lead)
    assert notification.text == f"New invoice case {case.reference}"


def test_escalate_and_linked_case(receive: Receive, team_lead: User) -> None:
    Team.objects.create(name="Field service")
    rule(
        actions=[
            {"action": "escalate", "reason": "complaint"},
            {
                "action": "linked_case",
                "subject": "Visit for {{ case.reference }}",
                "team": "Field service",
                "note": "Customer {{ customer.name }} needs a visit",
            },
        ]
    )
    case = receive().case
    case.refresh_from_db()
    assert case.priority == Case.Priority.URGENT
    assert Notification.objects.get(user=team_lead).text.endswith("— complaint")
    linked = Case.objects.get(parent=case)
    assert linked.subject == f"Visit for {case.reference}" and linked.team.name == "Field service"
    assert case in linked.related.all() and linked.notes.get().body == "Customer Anssi Asiakas needs a visit"


# ── failures, loops ───────────────────────────────────────────────────────────────────────────────────────────


def test_a_failing_rule_is_undone_alone_and_logged_and_the_contact_is_stored(receive: Receive) -> None:
    rule(name="Broken", actions=[{"action": "add_tags", "tags": ["half"]}, {"action": "set_team", "team": "Gone"}])
    rule(name="Fine", actions=[{"action": "set_priority", "priority": "high"}])
    case = receive().case
    case.refresh_from_db()
    assert Message.objects.filter(case=case, direction="in").count() == 1
    assert not case.tags.exists()  # the broken rule's first action was rolled back with it
    assert case.priority == Case.Priority.HIGH
    broken, fine = runs(case)
    assert broken.outcome == "failed" and "There is no team “Gone”" in broken.error
    assert fine.outcome == "done"


def test_rules_that_trigger_each_other_stop_and_the_log_says_so(
    receive: Receive, agent: User, run_tasks: Callable[[], None]
) -> None:
    a = rule(
        name="A: pending → open",
        trigger="status_changed",
        conditions={"all": [{"field": "case.status", "op": "is", "value": "pending"}]},
        actions=[{"action": "set_status", "status": "open"}],
    )
    b = rule(
        name="B: open → pending",
        trigger="status_changed",
        conditions={"all": [{"field": "case.status", "op": "is", "value": "open"}]},
        actions=[{"action": "set_status", "status": "pending"}],
    )
    case = receive().case
    case_update(case=case, actor=agent, status="pending")  # A, which makes B run, which would make A run …
    run_tasks()
    logged = runs(case)
    # A sets open, so B (the next rule, same event) sets pending; each change runs the rules again, but no
    # rule runs again inside the chain of rules that caused the change: three runs are stopped, and it ends.
    assert [(r.rule_id, r.outcome) for r in logged] == [
        (a.pk, "done"),
        (b.pk, "done"),
        (a.pk, "stopped"),
        (a.pk, "done"),
        (b.pk, "stopped"),
        (b.pk, "stopped"),
    ]
    assert logged[5].error.endswith("B: open → pending → A: pending → open → B: open → pending")
    run_tasks()
    assert len(runs(case)) == 6  # nothing left to run: the loop is over


def test_a_rule_does_not_retrigger_itself(receive: Receive, agent: User, run_tasks: Callable[[], None]) -> None:
    rule(trigger="status_changed", actions=[{"action": "set_status", "status": "on_hold"}])
    case = receive().case
    case_update(case=case, actor=agent, status="open")
    run_tasks()
    case.refresh_from_db()
    assert case.status == "on_hold"
    assert [r.outcome for r in runs(case)] == ["done", "stopped"]


# ── SLA events, time-based rules ──────────────────────────────────────────────────────────────────────────────


def test_an_sla_breach_runs_its_rules(receive: Receive, team_lead: User) -> None:
    from tiski.sla.models import SlaClock, SlaPolicy
    from tiski.sla.services import policies_forget, sla_timers_run

    SlaPolicy.objects.all().delete()
    SlaPolicy.objects.create(name="All", first_response_minutes=10, warn_percent=50)
    policies_forget()
    rule(
        trigger="sla_breached",
        conditions={"all": [{"field": "event.metric", "op": "is", "value": "first_response"}]},
        actions=[{"action": "escalate"}],
    )
    case = receive().case
    clock = SlaClock.objects.get(case=case, metric="first_response")
    sla_timers_run(now=clock.due_at + timedelta(seconds=1))
    case.refresh_from_db()
    assert case.priority == Case.Priority.URGENT
    assert runs(case)[0].trigger == "sla_breached"


def test_pending_for_five_days_runs_once_per_stay(receive: Receive, agent: User) -> None:
    rule(
        name="Close the silent",
        trigger="status_for",
        trigger_status="pending",
        trigger_hours=120,
        actions=[
            {"action": "reply", "body": "We close this now; just answer to reopen."},
            {"action": "set_status", "status": "solved"},
        ],
    )
    case = receive().case
    case_update(case=case, actor=agent, status="pending")
    now = timezone.now()
    assert rules_time_run(now=now + timedelta(hours=119), force=True) == 0
    assert rules_time_run(now=now + timedelta(hours=121), force=True) == 1
    assert rules_time_run(now=now + timedelta(hours=122), force=True) == 0  # solved now; and once per stay
    case.refresh_from_db()
    assert case.status == "solved"
    assert Message.objects.filter(case=case, direction="out", author="system").count() == 1


def test_a_new_stay_in_the_status_runs_again(receive: Receive, agent: User) -> None:
    rule(trigger="status_for", trigger_status="pending", trigger_hours=1, actions=[{"action": "note", "body": "x"}])
    case = receive().case
    case_update(case=case, actor=agent, status="pending")
    later = timezone.now() + timedelta(hours=2)
    assert rules_time_run(now=later, force=True) == 1
    assert rules_time_run(now=later, force=True) == 0
    case_update(case=case, actor=agent, status="open")
    case_update(case=case, actor=agent, status="pending")
    assert rules_time_run(now=timezone.now() + timedelta(hours=2), force=True) == 1
    assert Note.objects.filter(case=case).count() == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="several workers at once need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_several_workers_run_a_time_rule_once(receive: Receive, agent: User) -> None:
    from django.db import connections

    rule(trigger="status_for", trigger_status="pending", trigger_hours=1, actions=[{"action": "note", "body": "x"}])
    cases = [receive(email=f"c{i}@example.com").case for i in range(10)]
    for case in cases:
        case_update(case=case, actor=agent, status="pending")
    later = timezone.now() + timedelta(hours=2)
    barrier = threading.Barrier(4)
    counts: list[int] = []

    def worker() -> None:
        barrier.wait()
        counts.append(rules_time_run(now=later, force=True))
        connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == 10
    assert Note.objects.filter(case__in=cases).count() == 10


# ── webhook ───────────────────────────────────────────────────────────────────────────────────────────────────


@pytest.fixture
def hook_server() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    received: list[tuple[dict[str, str], bytes]] = []
    answers = [500, 200]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), body))
            self.send_response(answers.pop(0) if answers else 200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


def test_a_webhook_is_signed_and_retried_until_it_lands(
    receive: Receive, hook_server: Any, run_tasks: Callable[[], None], monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    url, received = hook_server
    settings.TISKI_RULE_WEBHOOK_BACKOFF_S = 0
    monkeypatch.setenv("TISKI_TEST_HOOK_SECRET", "s3cret")
    rule(actions=[{"action": "webhook", "url": url, "secret_env": "TISKI_TEST_HOOK_SECRET"}])
    case = receive().case
    run_tasks()
    run_tasks()
    assert len(received) == 2  # the first got 500, the retry 200
    (first_headers, _first), (headers, body) = received
    assert headers["X-Tiski-Signature"] == signature("s3cret", body)
    assert headers["X-Tiski-Delivery"] == first_headers["X-Tiski-Delivery"]  # the receiver can drop repeats
    assert f'"reference":"{case.reference}"' in body.decode()


# ── validation, dry run ───────────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"name": "", "trigger": "message_received", "actions": [{"action": "close"}]}, "Give the rule a name."),
        ({"name": "x", "trigger": "never", "actions": [{"action": "close"}]}, "Choose when the rule runs"),
        ({"name": "x", "trigger": "message_received", "actions": []}, "Add at least one action."),
        ({"name": "x", "trigger": "message_received", "actions": [{"action": "set_owner", "agent": "me"}]}, "not “me”"),
        (
            {"name": "x", "trigger": "status_for", "trigger_status": "pending", "actions": [{"action": "close"}]},
            "Give the hours",
        ),
        (
            {
                "name": "x",
                "trigger": "status_changed",
                "actions": [{"action": "close"}],
                "conditions": {"all": [{"field": "message.text", "op": "contains", "value": "x"}]},
            },
            "is not known when",
        ),
        (
            {
                "name": "x",
                "trigger": "message_received",
                "actions": [{"action": "close"}],
                "conditions": {"all": [{"field": "case.priority", "op": "contains", "value": "x"}]},
            },
            "does not fit",
        ),
        (
            {
                "name": "x",
                "trigger": "message_received",
                "actions": [{"action": "close"}],
                "conditions": {"all": [{"field": "case.status", "op": "is", "value": "done"}]},
            },
            "one of: new, open",
        ),
        (
            {
                "name": "x",
                "trigger": "message_received",
                "actions": [{"action": "close"}],
                "conditions": {"all": [{"any": [{"all": [{"field": "case.status", "op": "is_set"}]}]}]},
            },
            "two deep",
        ),
    ],
)
def test_a_bad_rule_gets_a_clear_error_and_is_not_saved(data: dict[str, Any], error: str) -> None:
    with pytest.raises(RuleInvalidError) as raised:
        rule_save(data=data, actor=None)
    assert any(error in line for line in raised.value.errors), raised.value.errors
    assert not Rule.objects.exists()


def test_dry_run_shows_the_existing_cases_a_rule_would_have_matched(receive: Receive) -> None:
    Customer.objects.create(name="Vera", tier="vip").identities.create(kind="email", value="vera@example.com")
    vip_cases = [receive(email="vera@example.com", subject=f"Q{i}").case for i in range(3)]
    receive(email="other@example.com")
    result = rule_dry_run(
        data={
            "name": "VIP",
            "trigger": "sla_breached",
            "actions": [{"action": "set_priority", "priority": "high"}],
            "conditions": {
                "all": [
                    {"field": "customer.tier", "op": "is", "value": "vip"},
                    {"field": "event.metric", "op": "is", "value": "first_response"},
                ]
            },
        }
    )
    assert result.checked == 4 and result.matched_count == 3
    assert {c.pk for c in result.matched} == {c.pk for c in vip_cases}
    assert result.ignored_fields == ["Service level target (SLA events)"]
    by_text = rule_dry_run(
        data={
            "name": "Q1",
            "trigger": "message_received",
            "actions": [{"action": "close"}],
            "conditions": {"all": [{"field": "message.text", "op": "contains", "value": "q1"}]},
        }
    )
    assert [c.pk for c in by_text.matched] == [vip_cases[1].pk]  # its latest customer message's subject
    assert not RuleRun.objects.exists() and not Rule.objects.exists()
    assert all(Case.objects.get(pk=c.pk).priority == 2 for c in vip_cases)  # nothing written


def test_the_pipelines_objects_give_the_same_context_as_the_database(receive: Receive) -> None:
    from tiski.automation.conditions import FIELDS
    from tiski.automation.context import _RELATED, _from_objects, context_for

    fields = frozenset(FIELDS) - _RELATED
    receipt = receive(subject="Kysymys laskusta", body="Hei, laskussa on virhe")
    message = Message.objects.select_related("case__customer", "channel").get(pk=receipt.message.pk)
    from_db = context_for(receipt.case.pk, fields=fields, message_id=message.pk, reread=True)
    from_objects = _from_objects(message, fields)
    assert from_db is not None
    assert from_db.pop("case.hours_open") == pytest.approx(from_objects.pop("case.hours_open"), abs=0.01)
    assert from_objects == from_db


def test_a_customers_signal_changing_runs_the_rules_on_their_open_cases(receive: Receive) -> None:
    from tiski.customers.models import SignalRule, SourceSystem
    from tiski.customers.records import RecordIn, record_delete, record_upsert_many

    SourceSystem.objects.create(slug="crm", name="CRM")
    SignalRule.objects.update(enabled=False)
    SignalRule.objects.create(
        label="Renewal soon",
        subject="record",
        record_kind="contract",
        conditions=[{"field": "renewal_date", "op": "within_days", "value": 30}],
    )
    rule(
        name="Renewal talk",
        trigger="signal_changed",
        conditions={"all": [{"field": "event.signal_gained", "op": "contains", "value": "renewal soon"}]},
        actions=[
            {"action": "add_tags", "tags": ["renewal"]},
            {"action": "note", "body": "{{ customer.name }}'s contract renews soon: offer the new plan."},
        ],
    )
    rule(
        name="Renewal done",
        trigger="signal_changed",
        conditions={"all": [{"field": "event.signal_lost", "op": "contains", "value": "renewal soon"}]},
        actions=[{"action": "remove_tags", "tags": ["renewal"]}],
    )
    case = receive().case
    soon = (timezone.localdate() + timedelta(days=10)).isoformat()
    far = (timezone.localdate() + timedelta(days=200)).isoformat()
    contract = {"kind": "contract", "external_id": "C-1", "customer_email": "anssi@example.com"}

    record_upsert_many(rows=[RecordIn(**contract, renewal_date=far)], source="crm", actor=None)
    assert runs(case) == []  # a record, but no signal: nothing changed
    record_upsert_many(rows=[RecordIn(**contract, renewal_date=soon)], source="crm", actor=None)
    assert list(case.tags.values_list("name", flat=True)) == ["renewal"]
    assert Note.objects.get(case=case).body == "Anssi Asiakas's contract renews soon: offer the new plan."
    record_upsert_many(rows=[RecordIn(**contract, renewal_date=soon, title="Same signal")], source="crm", actor=None)
    assert len(runs(case)) == 1  # still the same signal: no event
    record_delete(source="crm", external_id="C-1", actor=None)
    assert list(case.tags.all()) == [] and [r.rule_name for r in runs(case)] == ["Renewal talk", "Renewal done"]


# Found by tests/fuzz ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e999"])
def test_a_number_condition_refuses_values_that_are_not_finite(value: str) -> None:
    from tiski.automation.conditions import ConditionsInvalidError, conditions_validate

    with pytest.raises(ConditionsInvalidError):  # NaN compares with nothing and PostgreSQL's JSON cannot store it
        conditions_validate({"all": [{"field": "case.hours_open", "op": "gt", "value": value}]})


def test_a_list_of_blank_values_is_refused_so_a_clean_tree_stays_clean() -> None:
    from tiski.automation.conditions import ConditionsInvalidError, conditions_validate

    with pytest.raises(ConditionsInvalidError):
        conditions_validate({"all": [{"field": "case.status", "op": "in", "value": [" "]}]})


def test_in_and_is_hold_against_a_list_in_the_context() -> None:
    from tiski.automation.conditions import conditions_hold, conditions_validate

    tree = conditions_validate({"all": [{"field": "customer.email", "op": "in", "value": "a@x.fi, b@x.fi"}]})
    assert conditions_hold(tree, {"customer.email": ["B@x.fi", "c@x.fi"]}) is True
    assert conditions_hold(tree, {"customer.email": ["c@x.fi"]}) is False
    is_not = conditions_validate({"all": [{"field": "customer.email", "op": "is_not", "value": "a@x.fi"}]})
    assert conditions_hold(is_not, {"customer.email": ["a@x.fi"]}) is False


@pytest.mark.parametrize("kinds", [[["email"]], [{"kind": "email"}], "email"])
def test_malformed_channel_kinds_are_refused_with_a_reason(kinds: Any) -> None:
    from tiski.automation.services import rule_clean

    with pytest.raises(RuleInvalidError, match="Channels must be a list"):
        rule_clean({"name": "x", "trigger": "message_received", "channel_kinds": kinds, "actions": []})
