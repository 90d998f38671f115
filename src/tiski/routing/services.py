"""Writes for routing: work items from queue to agent and done, agents' presence.

Every function here is one transaction that locks what it changes, always in the same order — the case, then
the work item, then the agents' states (by user id) — so two of them wait for each other instead of
deadlocking; the router (tiski.routing.router) locks with SKIP LOCKED and never waits. An agent's ``load``
changes only together with the item that causes it, under the agent's row lock, so it stays the exact sum of
the units of the items offered to or assigned to them. Timeline events are recorded in the same transaction;
routers are woken and consoles pushed after commit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Field, Model
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from tiski import events
from tiski.accounts.roles import SUPERVISE, WORK_CASES
from tiski.cases.models import Case, CaseEvent, Note
from tiski.cases.services import case_event_record
from tiski.routing import push
from tiski.routing.exceptions import RoutingError, RoutingPermissionError
from tiski.routing.models import AgentState, Presence, PresenceLog, Queue, WorkItem
from tiski.routing.service import wake_routers

logger = logging.getLogger(__name__)

DEFAULT_UNITS = 10  # a channel kind missing from TISKI_ROUTING_UNITS weighs like an email
# On these channels the first reply only shows the agent took the conversation up: the item completes when
# the case leaves new/open. On every other channel the reply is the work, and completes the item.
CONVERSATION_KINDS = frozenset({"chat", "phone"})
SEEN_EVERY_S = 30.0

Status = WorkItem.Status


# ── small helpers ─────────────────────────────────────────────────────────────────────────────────────────────


def units_for(channel_kind: str) -> int:
    """Return the units of an agent's capacity that one item of CHANNEL_KIND takes (at least 1: work is never free)."""
    return max(int(settings.TISKI_ROUTING_UNITS.get(channel_kind, DEFAULT_UNITS)), 1)


def response_due(*, queue: Queue, channel_kind: str, now: datetime) -> datetime | None:
    """Return when work entering QUEUE now must be answered: the queue's target, else the channel's, else none."""
    minutes = queue.response_target or settings.TISKI_RESPONSE_TARGETS.get(channel_kind)
    return now + timedelta(minutes=minutes) if minutes else None


def skills_clean(skills: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Return SKILLS as stored on an item: one entry per skill, the highest level asked for, optional only if
    every rule asking for it said so."""
    merged: dict[int, dict[str, Any]] = {}
    for entry in skills:
        skill = int(entry["skill"])
        level = min(max(int(entry.get("level") or 1), 1), 10)
        optional = bool(entry.get("optional", False))
        if skill in merged:
            merged[skill]["level"] = max(merged[skill]["level"], level)
            merged[skill]["optional"] = merged[skill]["optional"] and optional
        else:
            merged[skill] = {"skill": skill, "level": level, "optional": optional}
    return list(merged.values())


def person(user: User | None) -> str | None:
    return (user.get_full_name() or user.get_username()) if user is not None else None


def _case_lock(case_id: int) -> Case:
    return Case.objects.select_for_update(of=("self",)).select_related("owner", "team").get(pk=case_id)


def _item_lock(item_id: int) -> WorkItem:
    return WorkItem.objects.select_for_update(of=("self",)).select_related("queue").get(pk=item_id)


def _active_item(case_id: int) -> WorkItem | None:
    """Return CASE's active item, locked (call with the case locked, so none appears meanwhile)."""
    return (
        WorkItem.objects.select_for_update(of=("self",))
        .select_related("queue")
        .filter(case_id=case_id, status__in=WorkItem.ACTIVE)
        .first()
    )


def agent_state(user: User) -> AgentState:
    """Return USER's routing state, creating it (offline, capacity 100) on first use."""
    return AgentState.objects.get_or_create(user=user)[0]


def _states_lock(user_ids: Iterable[int | None]) -> dict[int, AgentState]:
    """Lock and return the states of USER_IDS (created when missing), in user id order."""
    ids = sorted({uid for uid in user_ids if uid is not None})
    if not ids:
        return {}
    for uid in ids:
        AgentState.objects.get_or_create(user_id=uid)
    return {
        state.user_id: state
        for state in AgentState.objects.select_for_update().filter(user_id__in=ids).order_by("user_id")
    }


def _release(state: AgentState, units: int) -> None:
    """Take UNITS off STATE's load (in memory; the caller saves)."""
    if state.load < units:  # the invariant was broken somewhere: repair, and say so
        logger.error("agent %s: load %s is less than the %s units released", state.user_id, state.load, units)
        state.load = 0
    else:
        state.load -= units


def _requeue(item: WorkItem, *, reason: str, decline: bool = False) -> None:
    """Put ITEM back into its queue (it keeps its age); with DECLINE its agent is not offered it again."""
    if decline and item.agent_id is not None and item.agent_id not in item.declined:
        item.declined = [*item.declined, item.agent_id]
    item.status = Status.QUEUED
    item.agent = None
    item.offered_at = item.offer_expires_at = item.assigned_at = item.acted_at = None
    item.reason = reason
    item.save(
        update_fields=[
            "status",
            "agent",
            "offered_at",
            "offer_expires_at",
            "assigned_at",
            "acted_at",
            "reason",
            "declined",
            "queue",
            "queue_priority",
        ]
    )


def _finish(item: WorkItem, *, status: str, reason: str, now: datetime) -> list[push.Push]:
    """Close ITEM (done or cancelled), free its agent's units; return the pushes to send after commit."""
    pushes: list[push.Push] = [push.changed()]
    held_by = item.agent_id if item.status in (Status.OFFERED, Status.ASSIGNED) else None
    if held_by is not None:
        state = _states_lock([held_by])[held_by]
        _release(state, item.units)
        state.save(update_fields=["load"])
        wake_routers()  # freed capacity
        if item.status == Status.OFFERED:
            pushes.append(push.withdrawn(held_by, item.pk))
            if status == Status.CANCELLED:
                item.agent = None  # it was only offered: nobody worked on it
    item.status = status
    item.closed_at = now
    item.offer_expires_at = None
    item.reason = reason
    item.save(update_fields=["status", "closed_at", "offer_expires_at", "reason", "agent"])
    return pushes


KEEP: Any = object()  # owner_set(team=KEEP): leave the case's team as it is


def owner_set(*, case: Case, owner: User | None, actor: User | None, team: Any = KEEP) -> None:
    """Make OWNER (and TEAM) the case's, recording the change, as routing does it (the case is locked).

    Call after the item is saved in its new state: the "assigned" event makes the routing subscriber call
    work_owner_changed(), which then finds the owner equal to the item's agent and leaves the item alone.
    """
    owners_set([(case, owner, team)], actor=actor)


def owners_set(changes: Sequence[tuple[Case, User | None, Any]], *, actor: User | None) -> None:
    """owner_set() for many (locked) cases: one UPDATE and one INSERT of events for all of them."""
    now = timezone.now()
    rows: list[list[Any]] = []
    records: list[tuple[Case, str, dict[str, Any]]] = []
    for case, owner, team in changes:
        owner_changes = case.owner_id != (owner.pk if owner else None)
        team_changes = team is not KEEP and case.team_id != (team.pk if team else None)
        if team_changes:
            old_team = case.team
            records.append(
                (
                    case,
                    CaseEvent.Kind.TEAM_CHANGED,
                    {"old": str(old_team) if old_team else None, "new": str(team) if team else None},
                )
            )
            case.team = team
        if owner_changes:
            records.append(
                (case, CaseEvent.Kind.ASSIGNED, {"old": person(case.owner), "new": person(owner), "via": "routing"})
            )
            case.owner = owner
        if owner_changes or team_changes:
            rows.append([case.owner_id, case.team_id, now, case.pk])
    rows_update(Case, ["owner", "team", "updated_at"], rows)
    if len(records) == 1:
        case, kind, data = records[0]
        case_event_record(case=case, kind=kind, actor=actor, **data)
    elif records:
        _case_events_record(records, actor=actor)


def _case_events_record(records: list[tuple[Case, str, dict[str, Any]]], *, actor: User | None) -> None:
    """case_event_record() for many events in one INSERT, each published as case_event_record() does."""
    created = CaseEvent.objects.bulk_create(
        [CaseEvent(case=case, kind=kind, actor=actor, data=data) for case, kind, data in records]
    )
    for (case, kind, _data), event in zip(records, created, strict=True):
        events.publish(
            events.CaseEventRecorded(
                event_id=event.pk,
                case_id=case.pk,
                customer_id=case.customer_id,
                kind=kind,
                actor_id=actor.pk if actor else None,
            )
        )


def rows_update(model: type[Model], fields: list[str], rows: list[list[Any]]) -> None:
    """Set FIELDS of MODEL's rows: each row holds the values in field order, then the primary key.

    On PostgreSQL one UPDATE … FROM unnest(one array per column); elsewhere one prepared UPDATE per row.
    (Django's bulk_update builds a CASE expression per field and row, which costs more than routing decisions.)
    """
    if not rows:
        return
    quote, meta = connection.ops.quote_name, model._meta
    pk = meta.pk
    assert pk is not None and pk.column is not None
    model_fields = [meta.get_field(name) for name in fields]
    columns: list[str] = [field.column for field in model_fields if isinstance(field, Field) and field.column]
    assert len(columns) == len(fields)
    adapt = connection.ops.adapt_datetimefield_value
    values = [[adapt(v) if isinstance(v, datetime) else v for v in row] for row in rows]
    table = quote(meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            types = [field.db_type(connection) for field in model_fields if isinstance(field, Field)]
            types.append(pk.db_type(connection))
            arrays = ", ".join(f"%s::{db_type}[]" for db_type in types)
            names = ", ".join(quote(column) for column in [*columns, "pk"])
            assignments = ", ".join(f"{quote(column)} = v.{quote(column)}" for column in columns)
            cursor.execute(
                f"UPDATE {table} AS t SET {assignments} FROM unnest({arrays}) AS v({names}) "  # noqa: S608  (names from the model)
                f"WHERE t.{quote(pk.column)} = v.pk",
                [list(column) for column in zip(*values, strict=True)],
            )
        else:
            assignments = ", ".join(f"{quote(column)} = %s" for column in columns)
            cursor.executemany(
                f"UPDATE {table} SET {assignments} WHERE {quote(pk.column)} = %s",  # noqa: S608  (names from the model)
                values,
            )


# ── work items ────────────────────────────────────────────────────────────────────────────────────────────────


def work_enqueue(
    *,
    case: Case,
    queue: Queue,
    channel_kind: str,
    language: str = "",
    skills: Iterable[Mapping[str, Any]] = (),
    priority: int | None = None,
    due_at: datetime | None = None,
    reason: str = "new",
    actor: User | None = None,
    new_case: bool = False,
) -> WorkItem:
    """Queue work on CASE in QUEUE for the router and return it; return the case's active item if it has one.

    SKILLS are ``{"skill": id, "level": n, "optional": bool}``; PRIORITY defaults to the case's; DUE_AT to the
    queue's (else the channel's) response target from now. NEW_CASE: the case was opened in this transaction,
    so nobody else can see it, it has no work yet, and its "created" timeline entry already says it arrived —
    the lock, the check and the "queued" entry are skipped (this runs for every first contact).
    """
    with transaction.atomic():
        if not new_case:
            case = _case_lock(case.pk)
            existing = _active_item(case.pk)
            if existing is not None:
                return existing
        item = _item_create(
            case=case,
            queue=queue,
            channel_kind=channel_kind,
            language=language,
            skills=skills,
            priority=priority,
            due_at=due_at,
            reason=reason,
            units=units_for(channel_kind),
            status=Status.QUEUED,
        )
        if not new_case:
            case_event_record(
                case=case, kind=CaseEvent.Kind.QUEUED, actor=actor, queue=queue.name, queue_id=queue.pk, reason=reason
            )
        wake_routers()
        push.send_on_commit([push.changed()])
    return item


def _item_create(
    *,
    case: Case,
    queue: Queue,
    channel_kind: str,
    language: str,
    skills: Iterable[Mapping[str, Any]],
    priority: int | None,
    due_at: datetime | None,
    reason: str,
    units: int,
    status: str,
    agent: User | None = None,
) -> WorkItem:
    """Write a new work item on CASE entering QUEUE now (waiting, or assigned to AGENT at once)."""
    now = timezone.now()
    return WorkItem.objects.create(
        case=case,
        queue=queue,
        queue_priority=queue.priority,
        priority=case.priority if priority is None else priority,
        channel_kind=channel_kind,
        language=language,
        skills=skills_clean(skills),
        units=units,
        status=status,
        enqueued_at=now,
        due_at=due_at or response_due(queue=queue, channel_kind=channel_kind, now=now),
        agent=agent,
        assigned_at=now if agent is not None else None,
        reason=reason,
    )


def work_assign_owner(
    *,
    case: Case,
    agent: User,
    channel_kind: str,
    queue: Queue,
    language: str = "",
    skills: Iterable[Mapping[str, Any]] = (),
    priority: int | None = None,
    due_at: datetime | None = None,
    reason: str = "owner",
) -> WorkItem | None:
    """Give a new contact on CASE straight to its owner AGENT when they are online with room for it.

    Return the item assigned to them, the case's active item if it has one already, or None (AGENT does not
    own the case, is not online or is full: the caller enqueues the work instead).
    """
    with transaction.atomic():
        case = _case_lock(case.pk)
        existing = _active_item(case.pk)
        if existing is not None:
            return existing
        if case.owner_id != agent.pk:
            return None
        state = _states_lock([agent.pk])[agent.pk]
        units = units_for(channel_kind)
        if state.presence != Presence.ONLINE or state.capacity - state.load < units:
            return None
        item = _item_create(
            case=case,
            queue=queue,
            channel_kind=channel_kind,
            language=language,
            skills=skills,
            priority=priority,
            due_at=due_at,
            reason=reason,
            units=units,
            status=Status.ASSIGNED,
            agent=agent,
        )
        state.load += units
        state.save(update_fields=["load"])
        push.send_on_commit([push.assigned(agent.pk, item.pk), push.changed()])
    return item


def work_accept(*, item: WorkItem, agent: User) -> WorkItem:
    """AGENT takes the work offered to them: it is assigned to them and they own the case.

    Raise RoutingError when the offer is no longer theirs (expired, withdrawn, someone else's).
    """
    with transaction.atomic():
        case = _case_lock(item.case_id)
        item = _item_lock(item.pk)
        if item.status == Status.ASSIGNED and item.agent_id == agent.pk:
            return item  # accepted twice (two tabs, a double click)
        if item.status != Status.OFFERED or item.agent_id != agent.pk:
            raise RoutingError(_("This offer is no longer yours: it expired or went to someone else."))
        item.status = Status.ASSIGNED
        item.assigned_at = timezone.now()
        item.offer_expires_at = None
        item.save(update_fields=["status", "assigned_at", "offer_expires_at"])
        queue = item.queue
        owner_set(case=case, owner=agent, actor=agent, team=queue.team if queue.team_id else KEEP)
        push.send_on_commit([push.assigned(agent.pk, item.pk), push.changed()])
    return item


def work_decline(*, item: WorkItem, agent: User) -> WorkItem:
    """AGENT turns the offer down: the work goes back to its queue, to be offered to someone else at once."""
    with transaction.atomic():
        item = _item_lock(item.pk)
        if item.status != Status.OFFERED or item.agent_id != agent.pk:
            raise RoutingError(_("This offer is no longer yours: it expired or went to someone else."))
        state = _states_lock([agent.pk])[agent.pk]
        _release(state, item.units)
        state.save(update_fields=["load"])
        _requeue(item, reason="declined", decline=True)
        wake_routers()
        push.send_on_commit([push.withdrawn(agent.pk, item.pk), push.changed()])
    return item


def work_offer_expire(*, item_id: int, now: datetime | None = None) -> bool:
    """Take back an offer nobody accepted in time, as if declined; return whether it was expired."""
    now = now or timezone.now()
    with transaction.atomic():
        item = WorkItem.objects.select_for_update(skip_locked=True, of=("self",)).filter(pk=item_id).first()
        if item is None or item.status != Status.OFFERED or item.agent_id is None:
            return False
        if item.offer_expires_at is not None and item.offer_expires_at > now:
            return False
        agent_id = item.agent_id
        state = _states_lock([agent_id])[agent_id]
        _release(state, item.units)
        state.save(update_fields=["load"])
        _requeue(item, reason="timeout", decline=True)
        wake_routers()
        push.send_on_commit([push.withdrawn(agent_id, item.pk), push.changed()])
    return True


def work_return_before_breach(*, item_id: int, now: datetime | None = None) -> bool:
    """Send assigned work its agent has not acted on back to the queue before its response target is missed.

    The case loses its owner, gets a note saying who had it since when and what the target is, and a
    "returned" event. The agent is not offered it again. Return whether it was returned.
    """
    now = now or timezone.now()
    with transaction.atomic():
        peek = WorkItem.objects.filter(pk=item_id).values("case_id").first()
        if peek is None:
            return False
        case = _case_lock(peek["case_id"])
        item = _item_lock(item_id)
        if not due_for_return(item, now) or item.agent is None:
            return False
        agent = item.agent
        since = item.assigned_at
        state = _states_lock([agent.pk])[agent.pk]
        _release(state, item.units)
        state.save(update_fields=["load"])
        _requeue(item, reason="returned", decline=True)
        if case.owner_id == agent.pk:
            owner_set(case=case, owner=None, actor=None)
        with override(settings.LANGUAGE_CODE):
            body = _(
                "Returned to the queue: %(agent)s had this work since %(since)s and had not answered it; "
                "the response target is %(due)s."
            ) % {"agent": person(agent), "since": _when(since), "due": _when(item.due_at)}
        note = Note.objects.create(case=case, author=None, body=body)
        case_event_record(
            case=case,
            kind=CaseEvent.Kind.RETURNED,
            actor=None,
            agent=person(agent),
            since=since.isoformat() if since else None,
            due=item.due_at.isoformat() if item.due_at else None,
            queue=item.queue.name,
            note_id=note.pk,
        )
        wake_routers()
        push.send_on_commit([push.withdrawn(agent.pk, item.pk), push.changed()])
    return True


def due_for_return(item: WorkItem, now: datetime) -> bool:
    """Return whether assigned ITEM is to go back to its queue now.

    Only work its agent got before the return point goes back: work handed over after it (a transfer, an
    accepted late offer) stays, since returning it could not save the target any more.
    """
    if item.status != Status.ASSIGNED or item.acted_at is not None or item.due_at is None:
        return False
    return_at = item.due_at - timedelta(seconds=item.queue.return_margin)
    return return_at <= now and (item.assigned_at is None or item.assigned_at < return_at)


def _when(moment: datetime | None) -> str:
    return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT") if moment else "–"


def work_acted(*, case: Case, agent: User) -> None:
    """AGENT replied on CASE: on conversation channels (chat, phone) the work is taken up and is not returned;
    on the others the reply completes the work. Work still waiting that someone answers is done too."""
    with transaction.atomic():
        case = _case_lock(case.pk)
        item = _active_item(case.pk)
        if item is None:
            return
        now = timezone.now()
        if item.channel_kind in CONVERSATION_KINDS and item.status == Status.ASSIGNED:
            if item.acted_at is None:
                item.acted_at = now
                item.save(update_fields=["acted_at"])
                push.send_on_commit([push.changed()])
            return
        mine = item.status == Status.ASSIGNED and item.agent_id == agent.pk
        if item.acted_at is None:
            item.acted_at = now
            item.save(update_fields=["acted_at"])
        pushes = _finish(item, status=Status.DONE, reason="replied" if mine else "answered", now=now)
        push.send_on_commit(pushes)


def work_case_left_open(*, case: Case) -> None:
    """CASE became pending, solved or closed: its active work is done (or abandoned if nobody had it yet).

    CASE carries the new status (the caller may run inside the transaction that changes it).
    """
    with transaction.atomic():
        item = _active_item(case.pk)
        if item is None:
            return
        now = timezone.now()
        if item.status == Status.ASSIGNED:
            reason = case.status if case.status in (Case.Status.PENDING, Case.Status.SOLVED, Case.Status.CLOSED) else ""
            pushes = _finish(item, status=Status.DONE, reason=reason or "left_open", now=now)
        else:
            pushes = _finish(item, status=Status.CANCELLED, reason="abandoned", now=now)
        push.send_on_commit(pushes)


def work_owner_changed(*, case: Case) -> None:
    """Someone changed CASE's owner (CASE carries the new one): follow with its active work.

    The owner being the item's agent is routing's own change (or an offer the agent took from the case
    itself: then the item is theirs now). Someone else taking the case finishes the item ("reassigned");
    the owner removed from work they held puts it back into the queue.
    """
    with transaction.atomic():
        item = _active_item(case.pk)
        if item is None:
            return
        owner_id = case.owner_id
        now = timezone.now()
        if owner_id == item.agent_id:
            if item.status == Status.OFFERED and owner_id is not None:
                item.status = Status.ASSIGNED
                item.assigned_at = now
                item.offer_expires_at = None
                item.save(update_fields=["status", "assigned_at", "offer_expires_at"])
                push.send_on_commit([push.assigned(owner_id, item.pk), push.changed()])
            return
        if owner_id is None:
            if item.status == Status.ASSIGNED and item.agent_id is not None:
                agent_id = item.agent_id
                state = _states_lock([agent_id])[agent_id]
                _release(state, item.units)
                state.save(update_fields=["load"])
                _requeue(item, reason="unassigned")
                wake_routers()
                push.send_on_commit([push.withdrawn(agent_id, item.pk), push.changed()])
            return
        old_agent = item.agent_id if item.status in (Status.OFFERED, Status.ASSIGNED) else None
        pushes = _finish(item, status=Status.DONE, reason="reassigned", now=now)
        if old_agent is not None:
            pushes.append(push.withdrawn(old_agent, item.pk))
        push.send_on_commit(pushes)


def work_transfer(
    *, item: WorkItem, actor: User | None, queue: Queue | None = None, agent: User | None = None, note: str = ""
) -> WorkItem:
    """Move ITEM to QUEUE (it waits there, keeping its age) or straight to AGENT (who must have room for it).

    The case, its messages and notes go with it; NOTE, if given, is added as an internal note, and the case's
    timeline records the transfer. Only the item's agent or a supervisor may transfer it (or Tiski itself, an
    automation rule: ACTOR None).
    """
    if (queue is None) == (agent is None):
        raise RoutingError(_("Choose a queue or an agent to transfer the work to."))
    with transaction.atomic():
        case = _case_lock(item.case_id)
        item = _item_lock(item.pk)
        if item.status not in WorkItem.ACTIVE:
            raise RoutingError(_("This work is finished; there is nothing to transfer."))
        if actor is not None and item.agent_id != actor.pk and not actor.has_perm(SUPERVISE):
            raise RoutingPermissionError(_("Only the agent who has this work or a supervisor can transfer it."))
        held_by = item.agent_id if item.status in (Status.OFFERED, Status.ASSIGNED) else None
        old_agent = item.agent if held_by is not None else None
        source = person(old_agent) if old_agent is not None else item.queue.name
        states = _states_lock([held_by, agent.pk if agent else None])
        if held_by is not None:
            _release(states[held_by], item.units)
        pushes: list[push.Push] = [push.changed()]
        if agent is not None:
            if not agent.is_active or not agent.has_perm(WORK_CASES):
                raise RoutingError(_("%(name)s cannot work on cases.") % {"name": person(agent)})
            if item.status == Status.ASSIGNED and held_by == agent.pk:
                raise RoutingError(_("%(name)s has this work already.") % {"name": person(agent)})
            target = states[agent.pk]
            if target.capacity - target.load < item.units:
                raise RoutingError(
                    _("%(name)s has no room for this work: %(free)s of %(capacity)s units free, it needs %(units)s.")
                    % {
                        "name": person(agent),
                        "free": max(target.capacity - target.load, 0),
                        "capacity": target.capacity,
                        "units": item.units,
                    }
                )
            target.load += item.units
            item.status = Status.ASSIGNED
            item.agent = agent
            item.assigned_at = timezone.now()
            item.offered_at = item.offer_expires_at = item.acted_at = None
            item.reason = "transferred"
            item.save(
                update_fields=["status", "agent", "assigned_at", "offered_at", "offer_expires_at", "acted_at", "reason"]
            )
            destination = person(agent)
            pushes.append(push.assigned(agent.pk, item.pk))
        else:
            assert queue is not None
            if item.status == Status.QUEUED and item.queue_id == queue.pk:
                raise RoutingError(_("The work is waiting in this queue already."))
            item.queue = queue
            item.queue_priority = queue.priority
            item.declined = []  # other agents, a fresh start
            _requeue(item, reason="transferred")
            destination = queue.name
            wake_routers()
        for state in states.values():
            state.save(update_fields=["load"])
        if held_by is not None and held_by != (agent.pk if agent else None):
            pushes.append(push.withdrawn(held_by, item.pk))
        if agent is not None:
            owner_set(case=case, owner=agent, actor=actor)
        elif case.owner_id is not None and case.owner_id == held_by:
            owner_set(case=case, owner=None, actor=actor)
        note_id = None
        if note.strip():
            note_id = Note.objects.create(case=case, author=actor, body=note.strip()).pk
            case_event_record(case=case, kind=CaseEvent.Kind.NOTE_ADDED, actor=actor, note_id=note_id)
        case_event_record(
            case=case,
            kind=CaseEvent.Kind.TRANSFERRED,
            actor=actor,
            **{"from": source, "to": destination, "to_queue": queue.pk if queue else None},
            to_agent=agent.pk if agent else None,
            note_id=note_id,
        )
        push.send_on_commit(pushes)
    return item


# ── presence ──────────────────────────────────────────────────────────────────────────────────────────────────


def presence_set(*, user: User, presence: str, reason: str = "manual", by: User | None = None) -> AgentState:
    """Set USER's presence (BY: who did it, when not USER — a supervisor), keeping the presence history.

    Leaving "online" withdraws the work offered to them (it is offered to others; not counted as declined);
    coming online makes the router look for work for them at once.
    """
    if presence not in Presence.values:
        raise RoutingError(_("Unknown presence %(presence)s.") % {"presence": presence})
    if by is not None and by.pk != user.pk and not by.has_perm(SUPERVISE):
        raise RoutingPermissionError(_("Only a supervisor can change another agent's presence."))
    with transaction.atomic():
        state = _states_lock([user.pk])[user.pk]
        if state.presence == presence:
            return state
        now = timezone.now()
        was_online = state.presence == Presence.ONLINE
        PresenceLog.objects.filter(user_id=user.pk, ended_at__isnull=True).update(ended_at=now)
        PresenceLog.objects.create(
            user_id=user.pk,
            presence=presence,
            reason=reason,
            changed_by=by if by is not None and by.pk != user.pk else None,
            started_at=now,
        )
        state.presence = presence
        state.presence_since = now
        fields = ["presence", "presence_since", "load"]
        pushes = [push.presence(user.pk), push.changed()]
        if presence == Presence.ONLINE:
            state.last_seen_at = now
            fields.append("last_seen_at")
            _seen_cache[user.pk] = time.monotonic()
            wake_routers()
        elif was_online:
            # Offers held by a transaction in flight (an accept, a decline) are skipped: that transaction
            # settles them, and the router's timers withdraw any offer left with an agent who is not online.
            offers = WorkItem.objects.select_for_update(skip_locked=True, of=("self",)).filter(
                agent_id=user.pk, status=Status.OFFERED
            )
            for item in offers:
                _release(state, item.units)
                _requeue(item, reason="withdrawn")
                pushes.append(push.withdrawn(user.pk, item.pk))
            wake_routers()
        state.save(update_fields=fields)
        push.send_on_commit(pushes)
    return state


def work_withdraw_offers(*, user_id: int) -> int:
    """Withdraw the offers left with an agent who is not online (a race with presence_set); return how many."""
    with transaction.atomic():
        state = _states_lock([user_id])[user_id]
        if state.presence == Presence.ONLINE:
            return 0
        items = list(
            WorkItem.objects.select_for_update(skip_locked=True, of=("self",)).filter(
                agent_id=user_id, status=Status.OFFERED
            )
        )
        for item in items:
            _release(state, item.units)
            _requeue(item, reason="withdrawn")
        if items:
            state.save(update_fields=["load"])
            wake_routers()
            push.send_on_commit([push.withdrawn(user_id, item.pk) for item in items] + [push.changed()])
    return len(items)


_seen_cache: dict[int, float] = {}  # user id → monotonic time this process last wrote last_seen_at


def agent_seen(user: User) -> None:
    """Note that USER is active now (for the idle timeout); writes at most every 30 s per process."""
    now_mono = time.monotonic()
    if now_mono - _seen_cache.get(user.pk, -SEEN_EVERY_S) < SEEN_EVERY_S:
        return
    _seen_cache[user.pk] = now_mono
    now = timezone.now()
    AgentState.objects.filter(user_id=user.pk).exclude(last_seen_at__gt=now - timedelta(seconds=SEEN_EVERY_S)).update(
        last_seen_at=now
    )


# ── capacity held outside work items: calls ───────────────────────────────────────────────────────────────


def capacity_hold(*, user_id: int, units: int) -> None:
    """USER_ID's load carries UNITS more (a call they are on): even beyond their capacity — the call is
    happening — and the router offers them nothing new until their load is below it again."""
    with transaction.atomic():
        state = _states_lock([user_id])[user_id]
        state.load += units
        state.save(update_fields=["load"])
        push.send_on_commit([push.presence(user_id), push.changed()])


def capacity_release(*, user_id: int, units: int) -> None:
    """USER_ID's load carries UNITS less (their call ended): the router may offer them work again."""
    with transaction.atomic():
        state = _states_lock([user_id])[user_id]
        _release(state, units)
        state.save(update_fields=["load"])
        wake_routers()
        push.send_on_commit([push.presence(user_id), push.changed()])


def holds_live_work(*, case_id: int | None, user_id: int) -> bool:
    """Return whether USER_ID holds live work (phone or callback) on CASE_ID: a call about it adds no load."""
    if case_id is None:
        return False
    return WorkItem.objects.filter(
        case_id=case_id,
        agent_id=user_id,
        status__in=(Status.OFFERED, Status.ASSIGNED),
        channel_kind__in=("phone", "callback"),
    ).exists()


# ── channel change ────────────────────────────────────────────────────────────────────────────────────────────


def work_channel_change(*, case: Case, kind: str) -> WorkItem | None:
    """Make CASE's active work item work of channel KIND (a chat escalated to a call becomes phone work) and
    return it, or None when routing holds no work for the case.

    The item keeps its agent, queue and age; its units become those of KIND, and the agent holding it carries
    the difference at once — even beyond their capacity: the call is happening, and the router offers them
    nothing new until their load is below it again.
    """
    with transaction.atomic():
        case = _case_lock(case.pk)
        item = _active_item(case.pk)
        if item is None:
            return None
        units = units_for(kind)
        if item.channel_kind == kind and item.units == units:
            return item
        held_by = item.agent_id if item.status in (Status.OFFERED, Status.ASSIGNED) else None
        if held_by is not None:
            state = _states_lock([held_by])[held_by]
            if units < item.units:
                _release(state, item.units - units)
                wake_routers()  # freed capacity
            else:
                state.load += units - item.units
            state.save(update_fields=["load"])
        item.channel_kind = kind
        item.units = units
        item.save(update_fields=["channel_kind", "units"])
        pushes = [push.changed()]
        if held_by is not None:
            pushes.append(push.presence(held_by))  # their load shows in the nav
        push.send_on_commit(pushes)
    return item
