"""Service-level clocks: started by the customer's contact, stopped by the agent's reply or the solution, paused
while the case waits on the customer, and their warnings and breaches fired exactly once.

A case gets, from the first active policy whose conditions match it (``policy_for``), up to three clocks:
first response (until the first agent reply), next response (from each later customer message the agent has
not answered yet, until the reply) and resolution (until solved or closed). Targets count business time in the
policy's calendar, or elapsed time without one.

Each clock keeps what it has counted (``elapsed_s``) and, while it runs, when it will warn and fall due: the
timers (``sla_timers_run``, on the router loop's clock in every process that runs one) claim a due warning or
breach with a conditional UPDATE, so with several processes each fires once, and a restart misses none (the
times are in the database, and the next run catches up).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.db.models import Min, QuerySet
from django.utils import timezone

from tiski import events
from tiski.cases.models import Case, CaseEvent, Message
from tiski.cases.services import case_event_record
from tiski.core.conditions import allows
from tiski.core.prepared import prepared_row, prepared_rows
from tiski.sla.calendar import Calendar, CalendarNeverOpenError
from tiski.sla.models import SlaClock, SlaPolicy

logger = logging.getLogger(__name__)

Metric = SlaClock.Metric
Status = SlaClock.Status
TIMER_BATCH = 200
RESPONSES = (Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE)


# --- policies ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """What a policy's conditions look at in a case."""

    channel_kind: str
    priority: int
    tier: str
    case_type: str
    queue_id: int | None


class _Policies:
    """The active policies in order, kept for a few seconds (policies change rarely; a change in this process
    drops them at once through the model signals, other processes see it within CACHE_S)."""

    read_at: float = -1e9
    rows: list[tuple[SlaPolicy, frozenset[int]]] = []


CACHE_S = 10.0


def _policies() -> list[tuple[SlaPolicy, frozenset[int]]]:
    if time.monotonic() - _Policies.read_at > CACHE_S:
        active = SlaPolicy.objects.filter(active=True).select_related("calendar").prefetch_related("queues")
        _Policies.rows = [(policy, frozenset(q.pk for q in policy.queues.all())) for policy in active]
        _Policies.read_at = time.monotonic()
    return _Policies.rows


def policies_forget(**_kwargs: object) -> None:
    """Drop the cached policies (a signal receiver: a policy or a calendar was saved or deleted)."""
    _Policies.read_at = -1e9


def policy_for(subject: Subject) -> SlaPolicy | None:
    """Return the first active policy whose conditions all hold for SUBJECT (an empty condition holds)."""
    for policy, queues in _policies():
        if (
            allows(policy.channel_kinds, subject.channel_kind)
            and allows(policy.priorities, subject.priority)
            and allows(policy.tiers, subject.tier)
            and allows(policy.case_types, subject.case_type)
            and allows(queues, subject.queue_id)
        ):
            return policy
    return None


def calendar_of(policy: SlaPolicy | None) -> Calendar:
    if policy is None or policy.calendar is None:
        return Calendar.always()
    return Calendar.of(policy.calendar)


TARGETS: dict[str, str] = {
    Metric.FIRST_RESPONSE: "first_response_minutes",
    Metric.NEXT_RESPONSE: "next_response_minutes",
    Metric.RESOLUTION: "resolution_minutes",
}


# --- one clock ---------------------------------------------------------------------------------------------------


def _start(case_id: int, policy: SlaPolicy, metric: str, at: datetime) -> SlaClock | None:
    minutes = getattr(policy, TARGETS[metric])
    if not minutes:
        return None
    clock = SlaClock(case_id=case_id, policy=policy, metric=metric, target_s=minutes * 60, started_at=at)
    _run_from(clock, at)
    return clock


def _run_from(clock: SlaClock, at: datetime) -> None:
    """Set CLOCK running from AT with what it has counted: its due and warning times from what is left."""
    calendar = calendar_of(clock.policy)
    clock.status, clock.running_since = Status.RUNNING, at
    left = clock.target_s - clock.elapsed_s
    try:
        clock.due_at = calendar.add(at, seconds=left) if left > 0 else at
        if clock.warned_at is None and clock.policy is not None:
            warn_after = clock.target_s * clock.policy.warn_percent / 100 - clock.elapsed_s
            clock.warn_at = calendar.add(at, seconds=max(warn_after, 0))
    except CalendarNeverOpenError:
        logger.error("service level policy %s: its calendar is never open; the clock has no due time", clock.policy)
        clock.due_at = clock.warn_at = None


def _counted(clock: SlaClock, at: datetime) -> float:
    """Return CLOCK's business time counted until AT."""
    if clock.status != Status.RUNNING or clock.running_since is None:
        return clock.elapsed_s
    return clock.elapsed_s + calendar_of(clock.policy).seconds_between(clock.running_since, at)


def _pause(clock: SlaClock, at: datetime) -> None:
    clock.elapsed_s = _counted(clock, at)
    clock.status, clock.running_since, clock.due_at, clock.warn_at = Status.PAUSED, None, None, None


def _stop(clock: SlaClock, at: datetime, *, cancel: bool = False) -> None:
    clock.elapsed_s = _counted(clock, at)
    if cancel:
        clock.status = Status.CANCELLED
    else:
        late = clock.breached_at is not None or clock.elapsed_s > clock.target_s
        clock.status = Status.MISSED if late else Status.MET
    clock.running_since, clock.warn_at, clock.stopped_at = None, None, at


FIELDS = ["status", "elapsed_s", "running_since", "due_at", "warn_at", "stopped_at"]


def _case_due_refresh(case_id: int) -> None:
    due = SlaClock.objects.filter(case_id=case_id, status=Status.RUNNING).aggregate(due=Min("due_at"))["due"]
    Case.objects.filter(pk=case_id).exclude(sla_due_at=due).update(sla_due_at=due)


# --- what moves the clocks ----------------------------------------------------------------------------------------


def clocks_on_contact(*, message_id: int, case_id: int, case_created: bool) -> None:
    """The customer wrote on the case: start the targets it now has, and resume the ones that waited on them.

    Without an active policy nothing happens (and nothing is read): service levels are off.
    """
    if not _policies():
        return
    row = prepared_row("sla contact", _contact_query, message_id)
    if row is None or row[0]:
        return  # automatic mail (out of office, bulk) asks nobody to answer
    _automatic, at, channel_kind, priority, case_type, tier, first_response_at = row
    if isinstance(at, str):  # a raw read on SQLite: the stored text (UTC)
        at = datetime.fromisoformat(at)
    if timezone.is_naive(at):
        at = at.replace(tzinfo=UTC)  # stored in UTC (SQLite hands raw reads back without the zone)
    wanted = [Metric.RESOLUTION, Metric.FIRST_RESPONSE if first_response_at is None else Metric.NEXT_RESPONSE]
    if not case_created:
        # The common follow-up changes nothing (its targets run already): one compiled read tells.
        states = dict(prepared_rows("sla live clocks", _live_query, case_id))
        if all(states.get(metric) == Status.RUNNING for metric in wanted) and Status.PAUSED not in states.values():
            return
    live = {} if case_created else {c.metric: c for c in _live(case_id)}
    new: list[SlaClock] = []
    changed: list[SlaClock] = []
    for clock in live.values():
        if clock.status == Status.PAUSED:  # the customer answered: the wait on them is over
            _run_from(clock, at)
            changed.append(clock)
    policy = None
    if any(metric not in live for metric in wanted):
        queue_id = _queue_of(case_id) if any(queues for _policy, queues in _policies()) else None
        policy = policy_for(
            Subject(
                channel_kind=channel_kind or "", priority=priority, tier=tier, case_type=case_type, queue_id=queue_id
            )
        )
    if policy is not None:
        for metric in wanted:
            ended_before = not case_created and metric == Metric.FIRST_RESPONSE and _ended(case_id, metric)
            if metric not in live and not ended_before:
                started = _start(case_id, policy, metric, at)
                if started is not None:
                    new.append(started)
    if changed:
        SlaClock.objects.bulk_update(changed, FIELDS)
    if new:
        SlaClock.objects.bulk_create(new)
    if case_created and new:  # nothing else runs on a case just opened: its earliest due is known here
        due = min((clock.due_at for clock in new if clock.due_at is not None), default=None)
        Case.objects.filter(pk=case_id).update(sla_due_at=due)
    elif changed or new:
        _case_due_refresh(case_id)


def _live_query(pk: int) -> QuerySet[Any]:
    return SlaClock.objects.filter(case_id=pk, status__in=SlaClock.LIVE).order_by().values_list("metric", "status")


def _contact_query(pk: int) -> QuerySet[Any]:
    return Message.objects.filter(pk=pk).values_list(
        "auto_submitted",
        "created_at",
        "channel__kind",
        "case__priority",
        "case__type",
        "case__customer__tier",
        "case__first_response_at",
    )


def clocks_on_reply(*, case_id: int, at: datetime | None = None) -> None:
    """An agent answered: the response targets running on the case are met (or missed, if late)."""
    at = at or timezone.now()
    clocks = [clock for clock in _live(case_id) if clock.metric in RESPONSES]
    for clock in clocks:
        _stop(clock, at)
    if clocks:
        SlaClock.objects.bulk_update(clocks, FIELDS)
        _case_due_refresh(case_id)


def clocks_on_status(*, case_id: int, old: str, new: str, at: datetime | None = None) -> None:
    """The case's status changed: pending pauses every clock (the case waits on the customer), leaving pending
    for open resumes them, solved or closed ends them (the resolution met or missed; the rest cancelled)."""
    at = at or timezone.now()
    clocks = list(_live(case_id))
    changed: list[SlaClock] = []
    for clock in clocks:
        if new in (Case.Status.SOLVED, Case.Status.CLOSED):
            _stop(clock, at, cancel=clock.metric != Metric.RESOLUTION)
        elif new == Case.Status.PENDING and clock.status == Status.RUNNING:
            _pause(clock, at)
        elif old == Case.Status.PENDING and new != Case.Status.PENDING and clock.status == Status.PAUSED:
            _run_from(clock, at)
        else:
            continue
        changed.append(clock)
    if changed:
        SlaClock.objects.bulk_update(changed, FIELDS)
        _case_due_refresh(case_id)


def _live(case_id: int) -> Iterable[SlaClock]:
    return (
        SlaClock.objects.select_for_update(of=("self",))
        .select_related("policy__calendar")
        .filter(case_id=case_id, status__in=SlaClock.LIVE)
    )


def _ended(case_id: int, metric: str) -> bool:
    return SlaClock.objects.filter(case_id=case_id, metric=metric).exists()


def _queue_of(case_id: int) -> int | None:
    from tiski.routing.models import WorkItem

    return (
        WorkItem.objects.filter(case_id=case_id, status__in=WorkItem.ACTIVE).values_list("queue_id", flat=True).first()
    )


# --- warnings and breaches ----------------------------------------------------------------------------------------


def sla_timers_run(*, now: datetime | None = None) -> int:
    """Fire the warnings and breaches that have come due; return how many. Each is claimed with a conditional
    UPDATE first, so that of several processes running this, one fires it."""
    now = now or timezone.now()
    fired = 0
    to_warn = SlaClock.objects.filter(status=Status.RUNNING, warned_at=None, warn_at__lte=now)
    for clock_id in to_warn.order_by("warn_at").values_list("id", flat=True)[:TIMER_BATCH]:
        fired += _fire(clock_id, "warned_at", CaseEvent.Kind.SLA_WARNING, now)
    to_breach = SlaClock.objects.filter(status=Status.RUNNING, breached_at=None, due_at__lte=now)
    for clock_id in to_breach.order_by("due_at").values_list("id", flat=True)[:TIMER_BATCH]:
        fired += _fire(clock_id, "breached_at", CaseEvent.Kind.SLA_BREACHED, now)
    return fired


def _fire(clock_id: int, field: str, kind: str, now: datetime) -> int:
    with transaction.atomic():
        claimed = SlaClock.objects.filter(pk=clock_id, status=Status.RUNNING, **{field: None}).update(**{field: now})
        if not claimed:
            return 0  # another process fired it, or the clock stopped meanwhile
        clock = SlaClock.objects.select_related("case").get(pk=clock_id)
        case_event_record(
            case=clock.case,
            kind=kind,
            actor=None,
            clock_id=clock.pk,
            metric=clock.metric,
            due=clock.due_at.isoformat() if clock.due_at else "",
            target_s=clock.target_s,
        )
        events.publish(events.SlaTimer(case_id=clock.case_id, clock_id=clock.pk, metric=clock.metric, kind=kind))
    return 1
