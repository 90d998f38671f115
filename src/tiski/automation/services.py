"""The rules engine: on each event, the enabled rules of its trigger run in order on the case.

Rules run inside the transaction that published the event (like routing and the service-level clocks), so what
they change commits with what triggered them, and every run is in the log (RuleRun). Each rule's actions run in
a savepoint: a rule that fails (a closed case, a customer with no address) is logged as failed and undone alone;
the contact that triggered it is stored whatever happens.

**Loops are impossible.** The actions of a rule publish events in turn (a status change, an assignment), and
those run the rules again at once, in the same call stack. The chain of rules running now is kept: a rule
never runs again while it is on the chain (directly or through other rules: A sets pending → B reopens → A would
run again — it is stopped and the stop is logged), and the chain is at most MAX_CHAIN rules long. A rule that
writes to the customer never answers an automatic message (an auto-reply, a bulk mail), so two systems cannot
mail each other forever either.

The rule set is compiled per process and kept for RELOAD_AFTER_S seconds (a save in this process drops it
at once): a hundred rules cost the pipeline a dictionary lookup and a few microseconds each, not queries.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import DateTimeField, Exists, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from tiski.audit.services import audit_record
from tiski.automation.actions import ACTIONS, ActionError, actions_validate
from tiski.automation.conditions import FIELDS, conditions_fields, conditions_hold, conditions_validate
from tiski.automation.context import context_for, contexts_for, latest_messages
from tiski.automation.models import Rule, RuleRun
from tiski.cases.models import Case, CaseEvent
from tiski.core.conditions import allows

logger = logging.getLogger(__name__)

RELOAD_AFTER_S = 10.0
MAX_CHAIN = 5
TIME_RULES_EVERY_S = 60.0
TIME_RULES_BATCH = 200
DRY_RUN_CASES = 2000
Trigger = Rule.Trigger


class RuleInvalidError(ValueError):
    """A rule cannot be saved; ERRORS says why, one line each."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class _Rule:
    id: int
    name: str
    trigger: str
    channel_kinds: frozenset[str]
    status: str
    hours: int | None
    conditions: Mapping[str, Any]
    actions: Sequence[dict[str, Any]]
    writes_to_customer: bool


@dataclass(frozen=True)
class _RuleSet:
    loaded_at: float
    by_trigger: dict[str, tuple[_Rule, ...]]
    fields: dict[str, frozenset[str]]  # trigger → the fields its rules read


_cache: _RuleSet | None = None
_chain: contextvars.ContextVar[tuple[int, ...]] = contextvars.ContextVar("automation_chain", default=())


def rules_forget(*_args: Any, **_kwargs: Any) -> None:
    """Drop the compiled rule set (a rule was saved or deleted)."""
    global _cache
    _cache = None


def _compile(rule: Rule) -> _Rule:
    return _Rule(
        id=rule.pk,
        name=rule.name,
        trigger=rule.trigger,
        channel_kinds=frozenset(rule.channel_kinds or ()),
        status=rule.trigger_status,
        hours=rule.trigger_hours,
        conditions=rule.conditions or {"all": []},
        actions=rule.actions,
        writes_to_customer=any(ACTIONS[a["action"]].writes_to_customer for a in rule.actions if a["action"] in ACTIONS),
    )


def _rules() -> _RuleSet:
    global _cache
    cache = _cache
    if cache is not None and time.monotonic() - cache.loaded_at < RELOAD_AFTER_S:
        return cache
    by_trigger: dict[str, list[_Rule]] = {}
    for rule in Rule.objects.filter(enabled=True).order_by("position", "pk"):
        by_trigger.setdefault(rule.trigger, []).append(_compile(rule))
    fields = {
        trigger: frozenset().union(*(conditions_fields(r.conditions) for r in rules))
        for trigger, rules in by_trigger.items()
    }
    _cache = _RuleSet(time.monotonic(), {t: tuple(r) for t, r in by_trigger.items()}, fields)
    return _cache


# ── writing rules ─────────────────────────────────────────────────────────────────────────────────────────────


def rule_clean(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return the fields of a rule from DATA (form or API) cleaned, or raise RuleInvalidError saying what is wrong."""
    from django.utils.translation import gettext as _

    from tiski.automation.actions import ActionsInvalidError
    from tiski.automation.conditions import ConditionsInvalidError
    from tiski.channels.models import ChannelKind

    errors: list[str] = []
    name = str(data.get("name") or "").strip()
    if not name:
        errors.append(_("Give the rule a name."))
    trigger = str(data.get("trigger") or "")
    if trigger not in Trigger.values:
        errors.append(_("Choose when the rule runs: one of %(triggers)s.") % {"triggers": ", ".join(Trigger.values)})
    kinds = data.get("channel_kinds") or []
    if not isinstance(kinds, list) or not all(isinstance(k, str) and k in ChannelKind.values for k in kinds):
        errors.append(_("Channels must be a list of: %(kinds)s.") % {"kinds": ", ".join(ChannelKind.values)})
        kinds = []
    status = str(data.get("trigger_status") or "")
    hours = data.get("trigger_hours")
    if trigger == Trigger.STATUS_FOR:
        if status not in Case.Status.values or status == Case.Status.CLOSED:
            errors.append(_("Choose the status the case stays in."))
        try:
            hours = int(str(hours))
            if not 1 <= hours <= 24 * 365:
                raise ValueError
        except (TypeError, ValueError):
            errors.append(_("Give the hours as a whole number from 1 to 8760."))
            hours = None
    else:
        status, hours = "", None
    conditions: dict[str, Any] = {"all": []}
    try:
        conditions = conditions_validate(data.get("conditions"))
    except ConditionsInvalidError as error:
        errors += error.errors
    actions: list[dict[str, Any]] = []
    try:
        actions = actions_validate(data.get("actions"))
    except ActionsInvalidError as error:
        errors += error.errors
    if any(a["action"] == "set_owner" and a.get("agent") == "me" for a in actions):
        errors.append(_("A rule runs on its own: assign to a named agent, not “me”."))
    event_fields = {known for known in conditions_fields(conditions) if FIELDS[known].event_only}
    for known in sorted(event_fields):
        if not _field_known_on(known, trigger):
            errors.append(
                _("%(field)s is not known when the rule runs on this event.") % {"field": FIELDS[known].label}
            )
    if errors:
        raise RuleInvalidError(errors)
    return {
        "name": name[:200],
        "description": str(data.get("description") or "").strip(),
        "enabled": bool(data.get("enabled", True)),
        "trigger": trigger,
        "channel_kinds": sorted(set(kinds)),
        "trigger_status": status,
        "trigger_hours": hours,
        "conditions": conditions,
        "actions": actions,
    }


def _field_known_on(name: str, trigger: str) -> bool:
    if name.startswith("message."):
        return trigger in (Trigger.MESSAGE_RECEIVED, Trigger.CASE_CREATED)
    if name == "event.metric":
        return trigger in (Trigger.SLA_WARNING, Trigger.SLA_BREACHED)
    if name == "event.old_status":
        return trigger == Trigger.STATUS_CHANGED
    if name in ("event.signal_gained", "event.signal_lost"):
        return trigger == Trigger.SIGNAL_CHANGED
    if name.startswith("survey."):
        return trigger == Trigger.SURVEY_ANSWERED
    return True


@transaction.atomic
def rule_save(*, data: Mapping[str, Any], actor: Any, rule: Rule | None = None) -> Rule:
    """Create (RULE None) or change a rule from DATA; raise RuleInvalidError. New rules go last."""
    fields = rule_clean(data)
    if rule is None:
        position = data.get("position")
        if position is None:
            last = Rule.objects.aggregate(last=Max("position"))["last"]
            position = 0 if last is None else last + 1
        rule = Rule(created_by=actor if getattr(actor, "pk", None) else None, position=int(position))
    elif data.get("position") is not None:
        rule.position = int(data["position"])
    created = rule.pk is None
    changed = _rule_fields_set(rule, fields)
    rule.save()
    rules_forget()
    _rule_audit(rule=rule, actor=actor, created=created, changed=changed)
    return rule


def _rule_fields_set(rule: Rule, fields: Mapping[str, Any]) -> list[str]:
    """Set FIELDS on RULE and return the names of those whose value changed."""
    changed = [name for name, value in fields.items() if getattr(rule, name, None) != value]
    for name, value in fields.items():
        setattr(rule, name, value)
    return changed


def _rule_audit(*, rule: Rule, actor: Any, created: bool, changed: Sequence[str]) -> None:
    if created or changed:
        action, detail = ("rule.create", {}) if created else ("rule.change", {"fields": list(changed)})
        audit_record(action=action, actor=actor, target=rule, target_label=rule.name, detail=detail)


@transaction.atomic
def rule_delete(*, rule: Rule, actor: Any) -> None:
    """Delete RULE (its runs stay in the log under its name) and record who did."""
    audit_record(action="rule.delete", actor=actor, target=rule, target_label=rule.name)
    rule.delete()
    rules_forget()


@transaction.atomic
def rule_enabled_set(*, rule: Rule, enabled: bool, actor: Any) -> Rule:
    """Switch RULE on or off and return it."""
    rule.enabled = enabled
    rule.save(update_fields=["enabled", "updated_at"])
    rules_forget()
    _rule_audit(rule=rule, actor=actor, created=False, changed=["enabled"])
    return rule


@transaction.atomic
def rules_replace(*, items: Sequence[Mapping[str, Any]], actor: Any) -> list[Rule]:
    """Replace the whole rule set with ITEMS, in their order (the API's versioned import): all or nothing.

    A rule keeps its id (and its log) when an item names its id; the rules no item names are deleted.
    """
    errors: list[str] = []
    cleaned: list[tuple[int | None, dict[str, Any]]] = []
    for number, item in enumerate(items, start=1):
        try:
            cleaned.append((item.get("id") if isinstance(item.get("id"), int) else None, rule_clean(item)))
        except RuleInvalidError as error:
            errors += [f"#{number}: {line}" for line in error.errors]
    if errors:
        raise RuleInvalidError(errors)
    existing = {rule.pk: rule for rule in Rule.objects.select_for_update()}
    kept: list[Rule] = []
    for position, (rule_id, fields) in enumerate(cleaned):
        rule = existing.pop(rule_id, None) if rule_id is not None else None
        rule = rule or Rule(created_by=actor if getattr(actor, "pk", None) else None)
        created = rule.pk is None
        changed = _rule_fields_set(rule, {**fields, "position": position})
        rule.save()
        _rule_audit(rule=rule, actor=actor, created=created, changed=changed)
        kept.append(rule)
    for gone in existing.values():
        audit_record(action="rule.delete", actor=actor, target=gone, target_label=gone.name)
    Rule.objects.filter(pk__in=list(existing)).delete()
    rules_forget()
    return kept


def rule_export(rule: Rule) -> dict[str, Any]:
    """Return RULE as the API and the YAML file show it."""
    data: dict[str, Any] = {
        "id": rule.pk,
        "name": rule.name,
        "description": rule.description,
        "enabled": rule.enabled,
        "position": rule.position,
        "trigger": rule.trigger,
        "channel_kinds": rule.channel_kinds,
        "conditions": rule.conditions,
        "actions": rule.actions,
    }
    if rule.trigger == Trigger.STATUS_FOR:
        data |= {"trigger_status": rule.trigger_status, "trigger_hours": rule.trigger_hours}
    return data


def chain_now() -> tuple[int, ...]:
    """Return the ids of the rules running now, outermost first."""
    return _chain.get()


def rules_run_for_case_event(*, trigger: str, case_id: int, event_id: int, chain: tuple[int, ...]) -> int:
    """Run TRIGGER's rules for the committed case event EVENT_ID, inside CHAIN (the rules that caused it)."""
    data = CaseEvent.objects.filter(pk=event_id).values_list("data", flat=True).first()
    if data is None:
        return 0  # the case is gone
    event = {"old_status": data.get("old") or ""} if trigger == Trigger.STATUS_CHANGED else {}
    token = _chain.set(chain)
    try:
        with transaction.atomic():
            return rules_run(trigger=trigger, case_id=case_id, channel_kind=channel_kind_of(case_id), event=event)
    finally:
        _chain.reset(token)


def rules_run_for_survey(*, case_id: int, survey: dict[str, Any]) -> int:
    """Run the "survey answered" rules on the surveyed case CASE_ID (after the answer committed, in a transaction
    of their own); SURVEY holds the answer's fields (survey.kind, survey.score, survey.negative, survey.comment)."""
    with transaction.atomic():
        return rules_run(
            trigger=Trigger.SURVEY_ANSWERED, case_id=case_id, channel_kind=channel_kind_of(case_id), event=survey
        )


SIGNAL_CASES_MAX = 20  # a customer's open cases a signal change runs the rules on (the newest)


def rules_run_for_signals(*, customer_id: int, gained: Sequence[int], lost: Sequence[int]) -> int:
    """Run the "signal changed" rules on each open case of the customer (newest first, at most SIGNAL_CASES_MAX);
    the event's fields are the labels of the signal rules gained and lost."""
    from tiski.customers.models import SignalRule

    labels = dict(SignalRule.objects.filter(pk__in=[*gained, *lost]).values_list("pk", "label"))
    event = {
        "signal_gained": [labels[i] for i in gained if i in labels],
        "signal_lost": [labels[i] for i in lost if i in labels],
    }
    cases = Case.objects.filter(customer_id=customer_id, status__in=Case.OPEN_STATUSES).order_by("-created_at")
    ran = 0
    for case_id, kind in cases.values_list("pk", "channel__kind")[:SIGNAL_CASES_MAX]:
        ran += rules_run(trigger=Trigger.SIGNAL_CHANGED, case_id=case_id, channel_kind=kind or "", event=event)
    return ran


def has_rules(trigger: str) -> bool:
    """Return whether any enabled rule runs on TRIGGER (to skip the work of an event nobody listens to)."""
    return bool(_rules().by_trigger.get(trigger))


def channel_kind_of(case_id: int) -> str:
    return Case.objects.filter(pk=case_id).values_list("channel__kind", flat=True).first() or ""


# ── running rules on events ───────────────────────────────────────────────────────────────────────────────────


def rules_run(
    *,
    trigger: str | Sequence[str],
    case_id: int,
    channel_kind: str = "",
    message_id: int | None = None,
    event: dict[str, Any] | None = None,
) -> int:
    """Run the enabled rules of TRIGGER (or of several triggers of one event, in turn: a new case's first message
    is "case created", then "message received") on case CASE_ID, in the caller's transaction; return how many ran.

    The case is read once (the columns the rules read), and again only after a rule changed it.
    """
    ruleset = _rules()
    triggers = (trigger,) if isinstance(trigger, str) else tuple(trigger)
    rules = [(t, r) for t in triggers for r in ruleset.by_trigger.get(t, ()) if allows(r.channel_kinds, channel_kind)]
    if not rules:
        return 0
    fields = frozenset().union(*(ruleset.fields.get(t, frozenset()) for t in triggers))
    context = context_for(case_id, fields=fields, message_id=message_id, event=event)
    if context is None:
        return 0
    chain = _chain.get()
    runs: list[RuleRun] = []
    ran = 0
    for rule_trigger, rule in rules:
        if not conditions_hold(rule.conditions, context):
            continue
        if rule.writes_to_customer and context.get("message.automatic"):
            continue  # never answer an automatic message: two systems would answer each other forever
        if rule.id in chain or len(chain) >= MAX_CHAIN:
            runs.append(_run(rule, case_id, rule_trigger, RuleRun.Outcome.STOPPED, error=_loop_text(rule, chain)))
            continue
        runs.append(_apply(rule, case_id, rule_trigger, chain))
        ran += 1
        # later rules see what this one changed
        context = context_for(case_id, fields=fields, message_id=message_id, event=event, reread=True) or context
    RuleRun.objects.bulk_create(runs)
    return ran


def _loop_text(rule: _Rule, chain: tuple[int, ...]) -> str:
    names = dict(Rule.objects.filter(pk__in=chain).values_list("pk", "name"))
    path = " → ".join(names.get(i, f"#{i}") for i in chain)
    return f"not run again inside its own chain of rules: {path} → {rule.name}"


def _run(rule: _Rule, case_id: int, trigger: str, outcome: str, **fields: Any) -> RuleRun:
    return RuleRun(rule_id=rule.id, rule_name=rule.name, case_id=case_id, trigger=trigger, outcome=outcome, **fields)


def _apply(rule: _Rule, case_id: int, trigger: str, chain: tuple[int, ...], key: str | None = None) -> RuleRun:
    from tiski.automation.actions import actions_apply

    token = _chain.set((*chain, rule.id))
    try:
        with transaction.atomic():  # a savepoint: a failing rule undoes its own actions only
            case = Case.objects.get(pk=case_id)
            done = actions_apply(case=case, actions=rule.actions, actor=None, source=f"rule:{rule.id}")
        return _run(rule, case_id, trigger, RuleRun.Outcome.DONE, done=done, key=key)
    except ActionError as error:
        return _run(rule, case_id, trigger, RuleRun.Outcome.FAILED, error=str(error)[:2000], key=key)
    except Exception as error:  # a rule must never lose the contact that triggered it
        logger.exception("automation rule %s failed on case %s", rule.id, case_id)
        return _run(rule, case_id, trigger, RuleRun.Outcome.FAILED, error=f"{type(error).__name__}: {error}"[:2000])
    finally:
        _chain.reset(token)


# ── time-based rules ──────────────────────────────────────────────────────────────────────────────────────────

_time_last_run = 0.0


def _status_since() -> Coalesce:
    """The moment each case entered its present status (its last status change or reopening, else its creation)."""
    last = (
        CaseEvent.objects.filter(case=OuterRef("pk"), kind__in=(CaseEvent.Kind.STATUS_CHANGED, CaseEvent.Kind.REOPENED))
        .order_by("-created_at", "-id")
        .values("created_at")[:1]
    )
    return Coalesce(Subquery(last, output_field=DateTimeField()), "created_at")


def rules_time_run(*, now: datetime | None = None, force: bool = False) -> int:
    """Run the "stays in a status for a time" rules on the cases whose time has come; return how many ran.

    On the router loop's clock (at most every TIME_RULES_EVERY_S per process). Once per rule and stay in the
    status: the log's unique (rule, key) makes a second worker's run, or a run after a restart, skip it.
    """
    global _time_last_run
    if not force and time.monotonic() - _time_last_run < TIME_RULES_EVERY_S:
        return 0
    _time_last_run = time.monotonic()
    now = now or timezone.now()
    ran = 0
    for rule in _rules().by_trigger.get(Trigger.STATUS_FOR, ()):
        assert rule.hours is not None
        due = (
            Case.objects.filter(status=rule.status)
            .filter(Q(channel__kind__in=rule.channel_kinds) if rule.channel_kinds else Q())
            .annotate(since=_status_since())
            .filter(since__lte=now - timedelta(hours=rule.hours))
            .exclude(Exists(RuleRun.objects.filter(rule_id=rule.id, case=OuterRef("pk"), at__gte=OuterRef("since"))))
            .values_list("pk", "since")[:TIME_RULES_BATCH]
        )
        for case_id, since in list(due):
            ran += _time_rule_on(rule, case_id, since)
    return ran


def _time_rule_on(rule: _Rule, case_id: int, since: datetime) -> int:
    key = f"{rule.status}:{case_id}:{since.timestamp():.6f}"
    fields = conditions_fields(rule.conditions)
    try:
        with transaction.atomic():
            if RuleRun.objects.filter(rule_id=rule.id, key=key).exists():
                return 0
            context = context_for(case_id, fields=fields)
            if context is None or not conditions_hold(rule.conditions, context):
                # remembered, so the rule does not look at this stay again
                RuleRun.objects.create(
                    rule_id=rule.id,
                    rule_name=rule.name,
                    case_id=case_id,
                    trigger=rule.trigger,
                    outcome=RuleRun.Outcome.SKIPPED,
                    key=key,
                )
                return 0
            run = _apply(rule, case_id, rule.trigger, _chain.get(), key=key)
            run.save()
    except IntegrityError:
        return 0  # another worker ran it
    return 1 if run.outcome == RuleRun.Outcome.DONE else 0


# ── dry run ───────────────────────────────────────────────────────────────────────────────────────────────────


@dataclass
class DryRun:
    checked: int
    matched: list[Case] = field(default_factory=list)
    matched_count: int = 0
    ignored_fields: list[str] = field(default_factory=list)  # known only when an event happens


def rule_dry_run(*, data: Mapping[str, Any], limit: int = DRY_RUN_CASES, show: int = 50) -> DryRun:
    """Return which of the LIMIT newest cases the rule in DATA (cleaned or not) would have matched; no writes.

    Conditions on the message read each case's latest customer message; conditions on the event are known only
    when an event happens: they are left out (and named).
    For a "stays in a status" rule, the cases that are in that status for long enough now.
    """
    fields = rule_clean(data)
    conditions = fields["conditions"]
    ignored = sorted(
        {str(FIELDS[name].label) for name in conditions_fields(conditions) if name.startswith(_EVENT_PREFIXES)}
    )
    conditions = _without_event_fields(conditions)
    cases = Case.objects.order_by("-created_at", "-pk")
    if fields["channel_kinds"]:
        cases = cases.filter(channel__kind__in=fields["channel_kinds"])
    if fields["trigger"] == Trigger.STATUS_FOR:
        cases = (
            cases.filter(status=fields["trigger_status"])
            .annotate(since=_status_since())
            .filter(since__lte=timezone.now() - timedelta(hours=fields["trigger_hours"]))
        )
    ids = list(cases.values_list("pk", flat=True)[:limit])
    contexts = contexts_for(ids, fields=conditions_fields(conditions))
    if any(name.startswith("message.") for name in conditions_fields(conditions)):
        for case_id, message in latest_messages(ids).items():
            contexts[case_id] |= message
    matched_ids = [pk for pk in ids if pk in contexts and conditions_hold(conditions, contexts[pk])]
    shown = Case.objects.in_bulk(matched_ids[:show])
    return DryRun(
        checked=len(ids),
        matched=[shown[pk] for pk in matched_ids[:show] if pk in shown],
        matched_count=len(matched_ids),
        ignored_fields=ignored,
    )


_EVENT_PREFIXES = ("event.", "survey.")  # known only when the event happens


def _without_event_fields(tree: Mapping[str, Any]) -> dict[str, Any]:
    mode, items = next(iter(tree.items()))
    kept = []
    for item in items:
        if "field" in item:
            if not item["field"].startswith(_EVENT_PREFIXES):
                kept.append(item)
        else:
            kept.append(_without_event_fields(item))
    return {mode: kept}
