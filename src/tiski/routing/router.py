"""The router: offer queued work to the best free agent, and run the clocks (offer expiry, idle agents, returns).

route_pending() is one short transaction. One unlocked query tells which queues have an online agent with room
(and nothing more happens when none has). Then it locks, page by page in routing order, the queued items of
those queues that such an agent has room for, and the free agents of the queues those items are in, all with
SKIP LOCKED: two routers never wait for each other and never see the same row (rows another router holds are
simply not seen: that router decides them). It decides in memory, greedily, and writes all offers and loads
in two statements. Decision rules, in order:

- items in routing order: queue priority, item priority (both highest first), waiting since, due, id;
- an agent is eligible when online, serving the item's queue and channel, with room for its units, not having
  declined it, and having every skill the item needs at the current stage: while it has waited less than the
  queue's fallback_after F, every skill (optional ones too) at its level; then required skills at any level;
  after 2F no skill at all (F = 0 never widens);
- the best eligible agent has the highest sum of their levels in the item's skills, then the most free
  capacity, then waited longest since their last offer (never offered first), then the lowest user id.
"""

from __future__ import annotations

import functools
import logging
import math
import operator
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from tiski.accounts.models import Team
from tiski.cases.models import Case
from tiski.routing import push, services
from tiski.routing.models import AgentSkill, AgentState, Presence, PresenceLog, Queue, WorkItem

logger = logging.getLogger(__name__)

Status = WorkItem.Status
ROUTING_ORDER = (
    F("queue_priority").desc(),
    F("priority").desc(),
    F("enqueued_at").asc(),
    F("due_at").asc(nulls_last=True),
    F("id").asc(),
)
SCAN_PAGES = 10  # items no free agent can take do not hide the ones behind them: look this many batches deep
TIMER_BATCH = 500


@dataclass(slots=True)
class _Agent:
    user_id: int
    capacity: int
    free: int
    idle: float  # higher: idle longer (never offered anything: infinity)
    kinds: frozenset[str] | None  # None: every channel
    queues: set[int] = field(default_factory=set)
    skills: dict[int, int] = field(default_factory=dict)
    routed: bool = False


@dataclass(slots=True)
class _Item:
    id: int
    case_id: int
    queue_id: int
    channel_kind: str
    skills: tuple[tuple[int, int, bool], ...]  # (skill, level, optional)
    units: int
    enqueued_at: datetime
    declined: frozenset[int]
    offers: int


@dataclass(slots=True)
class _Queue:
    id: int
    fallback_after: int
    auto_accept: bool
    offer_timeout: int
    team_id: int | None


@dataclass(slots=True)
class _Decision:
    item: _Item
    agent: _Agent
    queue: _Queue
    case: Case | None = None  # locked, for work assigned without asking


def _partner_queues(user_ids: list[int]) -> dict[int, set[int]]:
    """Return, for the partner agents among USER_IDS, the queues granted to their (active) partner."""
    from tiski.accounts.models import AgentProfile, Partner

    partner_of = dict(
        AgentProfile.objects.filter(user_id__in=user_ids, partner__isnull=False).values_list("user_id", "partner_id")
    )
    if not partner_of:
        return {}
    queues: dict[int, set[int]] = {}
    grants = Partner.queues.through.objects.filter(partner_id__in=set(partner_of.values()), partner__active=True)
    for partner_id, queue_id in grants.values_list("partner_id", "queue_id"):
        queues.setdefault(partner_id, set()).add(queue_id)
    return {uid: queues.get(partner_id, set()) for uid, partner_id in partner_of.items()}


def _needs(item: _Item, queue: _Queue, now: datetime) -> tuple[tuple[int, int], ...]:
    """Return the (skill, minimum level) pairs ITEM needs at its current stage."""
    fallback = queue.fallback_after
    waited = (now - item.enqueued_at).total_seconds()
    if not fallback or waited < fallback:
        return tuple((skill, level) for skill, level, _optional in item.skills)
    if waited < 2 * fallback:
        return tuple((skill, 1) for skill, _level, optional in item.skills if not optional)
    return ()


def _declines_expired(item: _Item, queue: _Queue, now: datetime) -> bool:
    """Return whether agents who declined ITEM (or let its offer time out) may get it again, nobody else being
    free: from its first widening on (the queue's fallback_after), or a team of one whose offer once timed out
    would never see the item again."""
    fallback = queue.fallback_after
    return bool(item.declined) and bool(fallback) and (now - item.enqueued_at).total_seconds() >= fallback


def route_pending(*, now: datetime | None = None, limit: int = 200) -> list[WorkItem]:
    """Offer queued work to free agents (at most LIMIT offers) and return the items offered or assigned."""
    now = now or timezone.now()
    queues, room = _queues_with_room()
    if not room:
        return []  # the common idle case: one cheap query, no locks
    with transaction.atomic():
        round = _Round(now, queues, room)
        decisions = round.decide(limit)
        if not decisions:
            return []
        return _write(decisions, round.agents, now=now)


def _queues_with_room() -> tuple[dict[int, _Queue], dict[int, int]]:
    """Return the active queues some online agent with free capacity serves, and the most room one of them has
    in each (read without locks: it tells which items are worth reading at all)."""
    fields = ("queue_id", "queue__fallback_after", "queue__auto_accept", "queue__offer_timeout", "queue__team_id")
    rows = (
        AgentState.queues.through.objects.filter(
            agentstate__presence=Presence.ONLINE, agentstate__load__lt=F("agentstate__capacity"), queue__active=True
        )
        .values(*fields)
        .annotate(most=Max(F("agentstate__capacity") - F("agentstate__load")))
        .values_list(*fields, "most")
    )
    queues: dict[int, _Queue] = {}
    room: dict[int, int] = {}
    for queue_id, fallback_after, auto_accept, offer_timeout, team_id, most in rows:
        queues[queue_id] = _Queue(queue_id, fallback_after, auto_accept, offer_timeout, team_id)
        room[queue_id] = most
    return queues, room


class _Round:
    """One route_pending() decision: the items it faces and the agents of their queues, locked, indexed by queue
    and skill. Agents are loaded queue by queue as the items need them, so a few new items cost a few agents'
    rows, not every free agent's."""

    def __init__(self, now: datetime, queues: dict[int, _Queue], room: dict[int, int]) -> None:
        self.now = now
        self.agents: dict[int, _Agent] = {}
        self.by_queue: dict[int, list[_Agent]] = defaultdict(list)
        self.pools: dict[tuple[int, int], list[_Agent]] = {}  # (queue, skill) → its agents with the skill
        self.loaded_queues: set[int] = set()
        self.skills_loaded: set[int] = set()
        self.smallest = min([*settings.TISKI_ROUTING_UNITS.values(), services.DEFAULT_UNITS])
        self.queues = queues
        self.room = room

    def decide(self, limit: int) -> list[_Decision]:
        """Lock queued items page by page in routing order and pick an agent for each, greedily."""
        room = self._room_filter()
        if room is None:
            return []
        # The filter is fixed for the whole call so that OFFSET pages stay consistent (room only shrinks: the
        # items it lets through that nobody has room for any more are passed over in memory).
        items = (
            WorkItem.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(room, status=Status.QUEUED)
            .order_by(*ROUTING_ORDER)
            .values_list(
                "id", "case_id", "queue_id", "channel_kind", "skills", "units", "enqueued_at", "declined", "offers"
            )
        )
        decisions: list[_Decision] = []
        seen: set[int] = set()
        for page in range(SCAN_PAGES):
            if page and not self._room():
                break  # nobody has room for anything any more
            fetched = list(items[page * limit : (page + 1) * limit])
            rows = [row for row in fetched if row[0] not in seen]  # a row may shift pages as others commit
            seen.update(row[0] for row in rows)
            batch = self._items(rows)
            new_agents = self._agents_lock(batch)
            self._skills_load(batch, new_agents)
            cases = self._auto_cases_lock(batch)
            for item in batch:
                queue = self.queues.get(item.queue_id)
                if queue is None:
                    continue  # deactivated a moment ago
                case = cases.get(item.case_id)
                if queue.auto_accept and case is None:
                    continue  # someone is changing the case: next round
                needs = _needs(item, queue, self.now)
                agent = self._choose(item, needs)
                if agent is None and _declines_expired(item, queue, self.now):
                    agent = self._choose(item, needs, declined_ok=True)
                if agent is None:
                    continue
                agent.free -= item.units
                agent.idle = -self.now.timestamp()
                agent.routed = True
                decisions.append(_Decision(item, agent, queue, case))
                if len(decisions) >= limit:
                    return decisions
            if len(fetched) < limit:
                break
        return decisions

    def _agents_lock(self, batch: list[_Item]) -> Any:
        """Lock the online agents serving BATCH's queues, not loaded yet, with room for the smallest work (skipping
        any another router holds); return a subquery of their ids (None: no new agents).

        Agents are selected by subqueries on their queues rather than by lists of ids: long lists of
        parameters cost more to send than the rows."""
        new_queues = {item.queue_id for item in batch} - self.loaded_queues
        if not new_queues:
            return None
        through = AgentState.queues.through.objects
        serving = through.filter(queue_id__in=new_queues).values("agentstate_id")
        rows = AgentState.objects.select_for_update(skip_locked=True).filter(
            presence=Presence.ONLINE, load__lte=F("capacity") - self.smallest, user_id__in=serving
        )
        if self.loaded_queues:  # agents of the queues loaded before are loaded (or held by another router)
            rows = rows.exclude(user_id__in=through.filter(queue_id__in=self.loaded_queues).values("agentstate_id"))
        self.loaded_queues |= new_queues
        new: dict[int, _Agent] = {
            uid: _Agent(
                uid,
                capacity,
                capacity - load,
                math.inf if routed_at is None else -routed_at.timestamp(),
                frozenset(kinds) if kinds else None,
            )
            for uid, capacity, load, routed_at, kinds in rows.values_list(
                "user_id", "capacity", "load", "last_routed_at", "channel_kinds"
            )
        }
        if not new:
            return None
        granted = _partner_queues(list(new))
        for uid, queue_id in through.filter(agentstate_id__in=serving).values_list("agentstate_id", "queue_id"):
            agent = new.get(uid)
            if uid in granted and queue_id not in granted[uid]:
                continue  # a partner's agent serves only the queues granted to the partner
            if agent is not None and queue_id in self.queues:
                agent.queues.add(queue_id)
                self.by_queue[queue_id].append(agent)
        self.agents.update(new)
        return serving

    def _room(self) -> dict[int, int]:
        """Return the most room an agent has in each queue where any has room for the smallest work."""
        room = {}
        for queue_id, most in self.room.items():
            if queue_id in self.loaded_queues:  # known exactly now
                most = max((agent.free for agent in self.by_queue.get(queue_id, ())), default=0)
            if most >= self.smallest:
                room[queue_id] = most
        return room

    def _room_filter(self) -> Q | None:
        """Return a filter for the items some agent of their queue has room for (None: nobody has room)."""
        terms = [Q(queue_id=queue_id, units__lte=most) for queue_id, most in self._room().items()]
        return functools.reduce(operator.or_, terms) if terms else None

    def _items(self, rows: list[tuple[Any, ...]]) -> list[_Item]:
        items = []
        for item_id, case_id, queue_id, kind, skills, units, enqueued_at, declined, offers in rows:
            try:
                needs = tuple(
                    (int(s["skill"]), int(s.get("level") or 1), bool(s.get("optional"))) for s in skills or ()
                )
            except (KeyError, TypeError, ValueError, AttributeError):  # one malformed item must not stop routing
                logger.error("work item %s has malformed skills %r: not routed", item_id, skills)
                continue
            items.append(
                _Item(item_id, case_id, queue_id, kind, needs, units, enqueued_at, frozenset(declined or ()), offers)
            )
        return items

    def _skills_load(self, batch: list[_Item], new_agents: Any) -> None:
        """Load the locked agents' levels in the skills BATCH needs: the new skills for everyone, the skills
        loaded before for NEW_AGENTS, a subquery (at most two queries)."""
        wanted = {skill for item in batch for skill, _level, _optional in item.skills} - self.skills_loaded
        queries = []
        if new_agents is not None and self.skills_loaded:
            queries.append(AgentSkill.objects.filter(skill_id__in=self.skills_loaded, user_id__in=new_agents))
        if wanted:
            queries.append(
                AgentSkill.objects.filter(
                    skill_id__in=wanted,
                    user__routing__presence=Presence.ONLINE,
                    user__routing__load__lt=F("user__routing__capacity"),
                )
            )
            self.skills_loaded |= wanted
        agents = self.agents
        for query in queries:
            for uid, skill_id, level in query.values_list("user_id", "skill_id", "level"):
                agent = agents.get(uid)
                if agent is not None:
                    agent.skills[skill_id] = level

    def _auto_cases_lock(self, batch: list[_Item]) -> dict[int, Case]:
        """Lock the cases of BATCH's items that are assigned without asking (skipping cases being changed)."""
        ids = [
            item.case_id for item in batch if item.queue_id in self.queues and self.queues[item.queue_id].auto_accept
        ]
        if not ids:
            return {}
        return (
            Case.objects.select_for_update(skip_locked=True, of=("self",)).select_related("owner", "team").in_bulk(ids)
        )

    def _pool(self, queue_id: int, needs: tuple[tuple[int, int], ...]) -> list[_Agent]:
        """Return the agents of QUEUE_ID that have the rarest of the NEEDS skills (all of the queue's if none)."""
        if not needs:
            return self.by_queue.get(queue_id, [])
        best: list[_Agent] | None = None
        for skill, _level in needs:
            pool = self.pools.get((queue_id, skill))
            if pool is None:
                pool = [agent for agent in self.by_queue.get(queue_id, ()) if skill in agent.skills]
                self.pools[(queue_id, skill)] = pool
            if best is None or len(pool) < len(best):
                best = pool
        return best or []

    def _choose(self, item: _Item, needs: tuple[tuple[int, int], ...], *, declined_ok: bool = False) -> _Agent | None:
        """Return the best eligible agent for ITEM, or None (DECLINED_OK: agents who declined it count too)."""
        units, kind, declined = item.units, item.channel_kind, item.declined
        scored = [skill for skill, _level, _optional in item.skills]
        best: _Agent | None = None
        best_rank: tuple[int, int, float, int] = (-1, 0, 0.0, 0)
        for agent in self._pool(item.queue_id, needs):
            if agent.free < units or (agent.kinds is not None and kind not in agent.kinds):
                continue
            if declined and agent.user_id in declined and not declined_ok:
                continue
            levels = agent.skills
            for skill, level in needs:
                if levels.get(skill, 0) < level:
                    break
            else:
                rank = (sum([levels.get(skill, 0) for skill in scored]), agent.free, agent.idle, -agent.user_id)
                if rank > best_rank:
                    best, best_rank = agent, rank
        return best


def _write(decisions: list[_Decision], agents: dict[int, _Agent], *, now: datetime) -> list[WorkItem]:
    """Write DECISIONS (items offered or assigned, agents' loads) and send the pushes after commit."""
    written: list[WorkItem] = []
    pushes: list[push.Push] = [push.changed()]
    item_rows: list[list[Any]] = []
    for decision in decisions:
        item, agent, queue = decision.item, decision.agent, decision.queue
        auto = decision.case is not None
        status = Status.ASSIGNED if auto else Status.OFFERED
        expires = None if auto else now + timedelta(seconds=queue.offer_timeout)
        assigned_at = now if auto else None
        item_rows.append([status, agent.user_id, now, expires, assigned_at, item.offers + 1, item.id])
        written.append(
            WorkItem(
                pk=item.id,
                case_id=item.case_id,
                queue_id=item.queue_id,
                channel_kind=item.channel_kind,
                units=item.units,
                status=status,
                agent_id=agent.user_id,
                offered_at=now,
                offer_expires_at=expires,
                assigned_at=assigned_at,
                offers=item.offers + 1,
            )
        )
        pushes.append(push.assigned(agent.user_id, item.id) if auto else push.offer(agent.user_id, item.id))
    services.rows_update(
        WorkItem, ["status", "agent", "offered_at", "offer_expires_at", "assigned_at", "offers"], item_rows
    )
    routed = [agent for agent in agents.values() if agent.routed]
    services.rows_update(
        AgentState, ["load", "last_routed_at"], [[a.capacity - a.free, now, a.user_id] for a in routed]
    )
    auto_decisions = [d for d in decisions if d.case is not None]
    if auto_decisions:
        users = User.objects.in_bulk([d.agent.user_id for d in auto_decisions])
        teams = Team.objects.in_bulk([d.queue.team_id for d in auto_decisions if d.queue.team_id])
        services.owners_set(
            [
                (d.case, users[d.agent.user_id], teams.get(d.queue.team_id or 0, services.KEEP))
                for d in auto_decisions
                if d.case is not None
            ],
            actor=None,
        )
    push.send_on_commit(pushes)
    return written


# ── the clocks ────────────────────────────────────────────────────────────────────────────────────────────────


CLOCKS: list[Callable[..., Any]] = []  # other apps' clocks: called with now=, after routing's own


def clock_register(clock: Callable[..., Any]) -> Callable[..., Any]:
    """Have the router loop call CLOCK(now=…) with its clocks, about once a second (an app's ready() calls
    this: callback requests whose time has come are queued so)."""
    if clock not in CLOCKS:
        CLOCKS.append(clock)
    return clock


def timers_run(*, now: datetime | None = None) -> None:
    """Expire unanswered offers, send idle agents away, return work before its target is missed, and run the
    other apps' clocks.

    Each change is its own short transaction (the services'), so one failure skips one item, not the rest.
    """
    now = now or timezone.now()
    for item_id in WorkItem.objects.filter(status=Status.OFFERED, offer_expires_at__lte=now).values_list(
        "id", flat=True
    )[:TIMER_BATCH]:
        _guarded(services.work_offer_expire, item_id=item_id, now=now)
    stranded = (
        WorkItem.objects.filter(status=Status.OFFERED)
        .exclude(agent__routing__presence=Presence.ONLINE)
        .values_list("agent_id", flat=True)
        .distinct()
    )
    for user_id in stranded:
        if user_id is not None:
            _guarded(services.work_withdraw_offers, user_id=user_id)
    _idle_agents_away(now)
    margin = Queue.objects.aggregate(margin=Max("return_margin"))["margin"] or 0
    due = (
        WorkItem.objects.filter(
            status=Status.ASSIGNED, acted_at__isnull=True, due_at__lte=now + timedelta(seconds=margin)
        )
        .select_related("queue")
        .order_by("due_at")[:TIMER_BATCH]
    )
    for item in due:
        if services.due_for_return(item, now):
            _guarded(services.work_return_before_breach, item_id=item.pk, now=now)
    for clock in CLOCKS:
        _guarded(clock, now=now)


def _idle_agents_away(now: datetime) -> None:
    minutes = settings.TISKI_PRESENCE_IDLE_MINUTES
    if not minutes:
        return
    cutoff = now - timedelta(minutes=minutes)
    idle = AgentState.objects.filter(presence=Presence.ONLINE).filter(
        Q(last_seen_at__lt=cutoff) | Q(last_seen_at__isnull=True, presence_since__lt=cutoff)
    )
    for user_id in idle.values_list("user_id", flat=True)[:TIMER_BATCH]:
        _guarded(_idle_away, user_id=user_id, cutoff=cutoff)


def _idle_away(*, user_id: int, cutoff: datetime) -> None:
    """Send USER_ID away for inactivity, unless they became active meanwhile (checked under the lock)."""
    with transaction.atomic():
        state = AgentState.objects.select_for_update().select_related("user").get(user_id=user_id)
        last = state.last_seen_at or state.presence_since
        if state.presence == Presence.ONLINE and last < cutoff:
            services.presence_set(user=state.user, presence=Presence.AWAY, reason=PresenceLog.Reason.IDLE)


def _guarded(function: Any, **kwargs: Any) -> None:
    try:
        function(**kwargs)
    except Exception:
        logger.exception("routing timer %s(%s) failed", function.__name__, kwargs)
