"""Reads of routing for the console: an agent's offers, and the supervisor's live view of agents and queues.

The supervisor view is refreshed every second while work moves, for every supervisor watching, so each read
here aggregates in SQL with a fixed number of queries whatever the number of agents and items: rows are
fetched once and grouped in Python, counts and waits are computed by the database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db.models import Avg, Case, Count, F, FloatField, Func, Max, Min, Q, Value, When
from django.utils import timezone

from tiski.routing.models import AgentState, Presence, Queue, Skill, WorkItem

Sla = Literal["none", "ok", "risk", "breached"]
PRESENCE_ORDER: dict[str, int] = {Presence.ONLINE: 0, Presence.BUSY: 1, Presence.AWAY: 2, Presence.OFFLINE: 3}
WAITING = (WorkItem.Status.QUEUED, WorkItem.Status.OFFERED)  # not yet accepted by an agent
HELD = (WorkItem.Status.OFFERED, WorkItem.Status.ASSIGNED)  # counted in an agent's load
QUEUE_ITEMS_SHOWN = 100  # the next hundred in routing order: more than anyone redistributes by hand


def day_start(now: datetime) -> datetime:
    """Return the start of NOW's day in the active time zone (settings.TIME_ZONE unless a view activated another)."""
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def sla_state(*, due_at: datetime | None, margin: int, now: datetime) -> Sla:
    """Return where DUE_AT stands: breached when past, at risk within MARGIN seconds of it, else on track."""
    if due_at is None:
        return "none"
    if due_at <= now:
        return "breached"
    if due_at - timedelta(seconds=margin) <= now:
        return "risk"
    return "ok"


def case_reference(case_id: int) -> str:
    """Return the case reference (TSK-1042) from its id alone, as Case.reference does, without loading the case."""
    return f"{settings.TISKI_CASE_PREFIX}-{case_id + settings.TISKI_CASE_NUMBER_OFFSET}"


# --- an agent's own work ------------------------------------------------------------------------------------


def offers_for(user: User) -> list[WorkItem]:
    """Return the work offered to USER and not yet accepted, oldest offer first, with case and queue loaded."""
    return list(
        WorkItem.objects.filter(agent=user, status=WorkItem.Status.OFFERED)
        .select_related("case", "queue")
        .order_by("offered_at", "id")
    )


# --- the supervisor view: agents ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentWork:
    """One item an agent holds (offered or assigned)."""

    item_id: int
    case_id: int
    subject: str
    channel_kind: str
    units: int
    status: str
    since: datetime | None  # assigned at, or offered at

    @property
    def reference(self) -> str:
        return case_reference(self.case_id)

    @property
    def offered(self) -> bool:
        return self.status == WorkItem.Status.OFFERED


@dataclass(frozen=True)
class AgentRow:
    """One agent as a supervisor sees them: presence, the work they hold, capacity used, output today."""

    user_id: int
    name: str
    presence: str
    presence_since: datetime | None
    capacity: int
    load: int
    handled_today: int
    idle_since: datetime | None
    items: list[AgentWork] = field(default_factory=list)

    @property
    def free(self) -> int:
        return max(self.capacity - self.load, 0)

    @property
    def used_percent(self) -> int:
        """Return the capacity in use as a whole percentage (0 for an agent without capacity)."""
        if self.capacity <= 0:
            return 0
        return min(100, round(100 * self.load / self.capacity))

    @property
    def available(self) -> bool:
        return self.presence in (Presence.ONLINE, Presence.BUSY)


def _agent_users() -> Iterable[tuple[Any, ...]]:
    """Return (id, username, first name, last name, presence, since, capacity, load, last routed) of the active
    users who route or may work cases: an AgentState, or cases.work_case by group, by own permission or as a
    superuser. Tuples, not models: this runs every second for hundreds of agents."""
    user_model = get_user_model()
    by_group = user_model.groups.through.objects.filter(
        group__permissions__codename="work_case", group__permissions__content_type__app_label="cases"
    ).values("user_id")
    by_user = user_model.user_permissions.through.objects.filter(
        permission__codename="work_case", permission__content_type__app_label="cases"
    ).values("user_id")
    return (
        user_model.objects.filter(is_active=True)
        .filter(Q(routing__isnull=False) | Q(pk__in=by_group) | Q(pk__in=by_user) | Q(is_superuser=True))
        .values_list(
            "id",
            "username",
            "first_name",
            "last_name",
            "routing__presence",
            "routing__presence_since",
            "routing__capacity",
            "routing__load",
            "routing__last_routed_at",
        )
    )


def supervisor_agents(*, now: datetime | None = None) -> list[AgentRow]:
    """Return every agent with their live state, online first, then by name. Three queries in all."""
    now = now or timezone.now()
    start = day_start(now)
    held: dict[int, list[AgentWork]] = defaultdict(list)
    for item in (
        WorkItem.objects.filter(status__in=HELD, agent__isnull=False)
        .annotate(since=Case(When(status=WorkItem.Status.ASSIGNED, then=F("assigned_at")), default=F("offered_at")))
        .values_list("id", "agent_id", "case_id", "case__subject", "channel_kind", "units", "status", "since")
        .order_by("id")
    ):
        item_id, agent_id, case_id, subject, kind, units, status, since = item
        held[agent_id].append(AgentWork(item_id, case_id, subject, kind, units, status, since))
    today: dict[int, dict[str, Any]] = {
        row["agent_id"]: dict(row)
        for row in WorkItem.objects.filter(closed_at__gte=start, agent__isnull=False)
        .values("agent_id")
        .annotate(handled=Count("id", filter=Q(status=WorkItem.Status.DONE)), last_closed=Max("closed_at"))
        .order_by()
    }
    rows = []
    for user_id, username, first, last, presence, since, capacity, load, last_routed in _agent_users():
        items = sorted(held.get(user_id, []), key=lambda w: (w.since or now, w.item_id))
        done = today.get(user_id, {})
        idle_since = None
        if not items and presence in (Presence.ONLINE, Presence.BUSY):
            moments = [since, last_routed, done.get("last_closed")]
            idle_since = max(m for m in moments if m is not None)
        rows.append(
            AgentRow(
                user_id=user_id,
                name=f"{first} {last}".strip() or username,
                presence=presence or Presence.OFFLINE,
                presence_since=since,
                capacity=capacity or 0,
                load=load or 0,
                handled_today=done.get("handled", 0),
                idle_since=idle_since,
                items=items,
            )
        )
    rows.sort(key=lambda r: (PRESENCE_ORDER.get(r.presence, 9), r.name.casefold(), r.user_id))
    return rows


# --- the supervisor view: queues ----------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    """One queue's live figures. Waits count from enqueued_at (kept across transfers)."""

    queue: Queue
    name: str
    waiting: int = 0  # queued, nobody offered it yet
    offered: int = 0
    assigned: int = 0
    oldest: datetime | None = None  # the longest-waiting item (queued or offered)
    average_wait: timedelta | None = None
    average_since: datetime | None = None  # now - average_wait: shown as a relative time, like the oldest
    at_risk: int = 0  # waiting items due within the queue's return margin, or past due (breached included)
    breached: int = 0
    served_today: int = 0
    abandoned_today: int = 0
    agents_online: int = 0
    agents_serving: int = 0

    @property
    def risk_only(self) -> int:
        """Return the waiting items at risk and not yet past due."""
        return self.at_risk - self.breached

    @property
    def sla(self) -> Sla:
        if self.breached:
            return "breached"
        if self.at_risk:
            return "risk"
        return "ok" if self.waiting or self.offered else "none"


class EpochSeconds(Func):
    """Seconds since 1970 of a datetime column, in the database's own arithmetic (an average of these is an
    average moment; Django's datetime differences run as Python functions row by row on SQLite)."""

    output_field = FloatField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)")

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="date_part('epoch', %(expressions)s)")


def _risk(queues: Sequence[Queue], now: datetime) -> Q:
    """Return a condition for items due within their queue's return margin: one term per distinct margin."""
    by_margin: dict[int, list[int]] = defaultdict(list)
    for queue in queues:
        by_margin[queue.return_margin].append(queue.pk)
    risk = Q(pk__in=[])
    for margin, ids in by_margin.items():
        risk |= Q(queue_id__in=ids, due_at__lte=now + timedelta(seconds=margin))
    return risk


def _queue_stats(queues: Sequence[Queue], now: datetime, *, only: Queue | None = None) -> dict[int, dict[str, Any]]:
    """Return each queue's figures from one scan of its active items and today's closed ones.

    Grouped by queue and status, so the counts per status come from the grouping and only the time conditions
    are filters; the groups of a queue are then added up here.
    """
    start = day_start(now)
    items = WorkItem.objects.filter(Q(status__in=WorkItem.ACTIVE) | Q(closed_at__gte=start))
    if only is not None:
        items = items.filter(queue=only)
    groups = (
        items.values("queue_id", "status")
        .annotate(
            n=Count("id"),
            oldest=Min("enqueued_at"),
            average_epoch=Avg(EpochSeconds("enqueued_at")),
            at_risk=Count("id", filter=_risk(queues, now)),
            breached=Count("id", filter=Q(due_at__lte=now)),
            served_today=Count("id", filter=Q(assigned_at__gte=start)),
        )
        .order_by()
    )
    stats: dict[int, dict[str, Any]] = {}
    for group in groups:
        figures = stats.setdefault(
            group["queue_id"],
            {"waiting": 0, "offered": 0, "assigned": 0, "at_risk": 0, "breached": 0, "served_today": 0},
        )
        figures.setdefault("abandoned_today", 0)
        status, n = group["status"], group["n"]
        figures["served_today"] += group["served_today"]
        if status == WorkItem.Status.CANCELLED:
            figures["abandoned_today"] += n  # closed today: the scan takes no other closed items
        if status == WorkItem.Status.ASSIGNED:
            figures["assigned"] += n
        if status not in WAITING:
            continue
        figures["waiting" if status == WorkItem.Status.QUEUED else "offered"] += n
        figures["at_risk"] += group["at_risk"]
        figures["breached"] += group["breached"]
        if group["oldest"] is not None and (figures.get("oldest") is None or group["oldest"] < figures["oldest"]):
            figures["oldest"] = group["oldest"]
        if group["average_epoch"] is not None:
            figures["epoch_sum"] = figures.get("epoch_sum", 0.0) + group["average_epoch"] * n
            figures["epoch_n"] = figures.get("epoch_n", 0) + n
    for figures in stats.values():
        epoch_n = figures.pop("epoch_n", 0)
        epoch_sum = figures.pop("epoch_sum", 0.0)
        if epoch_n:
            figures["average_epoch"] = epoch_sum / epoch_n
    return stats


def _queue_agents(*, only: Queue | None = None) -> dict[int, dict[str, Any]]:
    served = AgentState.queues.through.objects.filter(agentstate__user__is_active=True)
    if only is not None:
        served = served.filter(queue=only)
    return {
        row["queue_id"]: dict(row)
        for row in served.values("queue_id")
        .annotate(
            agents_serving=Count("agentstate_id"),
            agents_online=Count("agentstate_id", filter=Q(agentstate__presence=Presence.ONLINE)),
        )
        .order_by()
    }


def _queue_row(
    queue: Queue, stats: dict[int, dict[str, Any]], agents: dict[int, dict[str, Any]], language: str, now: datetime
) -> QueueRow:
    figures = {k: v for k, v in stats.get(queue.pk, {}).items() if k != "queue_id"}
    figures.update({k: v for k, v in agents.get(queue.pk, {}).items() if k != "queue_id"})
    average_epoch = figures.pop("average_epoch", None)
    if average_epoch is not None:
        figures["average_since"] = datetime.fromtimestamp(average_epoch, tz=UTC)
        figures["average_wait"] = max(now - figures["average_since"], timedelta(0))
    return QueueRow(queue=queue, name=queue.label(language), **figures)


def supervisor_queues(*, language: str = "", now: datetime | None = None) -> list[QueueRow]:
    """Return the active queues, and inactive ones still holding work, with their live figures. Three queries."""
    now = now or timezone.now()
    queues = list(Queue.objects.all())
    stats = _queue_stats(queues, now)
    agents = _queue_agents()
    return [_queue_row(q, stats, agents, language, now) for q in queues if q.active or q.pk in stats]


def supervisor_queue(*, queue: Queue, language: str = "", now: datetime | None = None) -> QueueRow:
    """Return the live figures of one queue."""
    now = now or timezone.now()
    return _queue_row(queue, _queue_stats([queue], now, only=queue), _queue_agents(only=queue), language, now)


@dataclass(frozen=True)
class Summary:
    """The line on top of the supervisor view."""

    online: int
    busy: int
    away: int
    waiting: int
    offered: int
    at_risk: int
    breached: int
    oldest: datetime | None

    @property
    def risk_only(self) -> int:
        return self.at_risk - self.breached


def supervisor_summary(*, agents: Sequence[AgentRow], queues: Sequence[QueueRow]) -> Summary:
    """Return the totals of the agents and queues rows already read (no query)."""
    presences = [a.presence for a in agents]
    oldest = [q.oldest for q in queues if q.oldest is not None]
    return Summary(
        online=presences.count(Presence.ONLINE),
        busy=presences.count(Presence.BUSY),
        away=presences.count(Presence.AWAY),
        waiting=sum(q.waiting for q in queues),
        offered=sum(q.offered for q in queues),
        at_risk=sum(q.at_risk for q in queues),
        breached=sum(q.breached for q in queues),
        oldest=min(oldest) if oldest else None,
    )


# --- the supervisor view: one queue's items -----------------------------------------------------------------


@dataclass(frozen=True)
class SkillNeed:
    label: str
    level: int
    optional: bool


@dataclass(frozen=True)
class QueueItemRow:
    """One active item of a queue, with its case and agent loaded."""

    item: WorkItem
    sla: Sla
    skills: list[SkillNeed]

    @property
    def reference(self) -> str:
        return case_reference(self.item.case_id)


@dataclass(frozen=True)
class QueueItems:
    rows: list[QueueItemRow]
    total: int  # active items in the queue; more than len(rows) when the list was cut at QUEUE_ITEMS_SHOWN

    @property
    def truncated(self) -> bool:
        return self.total > len(self.rows)


def queue_items(
    *, queue: Queue, language: str = "", now: datetime | None = None, limit: int = QUEUE_ITEMS_SHOWN
) -> QueueItems:
    """Return QUEUE's active items: waiting ones in the order the router takes them, then offered, then assigned.

    At most LIMIT rows (the total says how many there are); three queries.
    """
    now = now or timezone.now()
    rank = Case(
        When(status=WorkItem.Status.QUEUED, then=Value(0)),
        When(status=WorkItem.Status.OFFERED, then=Value(1)),
        default=Value(2),
    )
    active = WorkItem.objects.filter(queue=queue, status__in=WorkItem.ACTIVE)
    items = list(
        active.select_related("case", "agent")
        .only(
            "id",
            "case__id",
            "case__subject",
            "case__priority",
            "agent__id",
            "agent__username",
            "agent__first_name",
            "agent__last_name",
            *(f.name for f in WorkItem._meta.concrete_fields if f.name not in ("case", "agent")),
        )
        .annotate(rank=rank)
        .order_by("rank", "-queue_priority", "-priority", "enqueued_at", F("due_at").asc(nulls_last=True), "id")[:limit]
    )
    total = len(items) if len(items) < limit else active.count()
    skill_ids = {need["skill"] for item in items for need in item.skills or [] if "skill" in need}
    labels = {s.pk: s.label(language) for s in Skill.objects.filter(pk__in=skill_ids)} if skill_ids else {}
    rows = [
        QueueItemRow(
            item=item,
            sla=sla_state(due_at=item.due_at, margin=queue.return_margin, now=now),
            skills=[
                SkillNeed(labels.get(n.get("skill"), "?"), int(n.get("level", 1)), bool(n.get("optional")))
                for n in item.skills or []
            ],
        )
        for item in items
    ]
    return QueueItems(rows=rows, total=total)


@dataclass(frozen=True)
class AgentChoice:
    """An agent a supervisor may hand an item to."""

    user_id: int
    name: str
    presence: str
    free: int
    fits: bool  # enough free capacity for the item


def transfer_agents(*, item: WorkItem) -> list[AgentChoice]:
    """Return the agents serving ITEM's queue (its holder left out), those who can take it first, by free capacity."""
    states = (
        AgentState.objects.filter(queues=item.queue_id, user__is_active=True)
        .exclude(user_id=item.agent_id if item.status in HELD and item.agent_id else 0)
        .select_related("user")
    )
    choices = [
        AgentChoice(
            user_id=s.user_id,
            name=s.user.get_full_name() or s.user.get_username(),
            presence=s.presence,
            free=s.free,
            fits=s.free >= item.units,
        )
        for s in states
    ]
    choices.sort(key=lambda c: (not c.fits, PRESENCE_ORDER.get(c.presence, 9), -c.free, c.name.casefold()))
    return choices


def transfer_queues(*, item: WorkItem, language: str = "") -> list[tuple[int, str]]:
    """Return (id, name) of the active queues ITEM could move to."""
    return [(q.pk, q.label(language)) for q in Queue.objects.filter(active=True).exclude(pk=item.queue_id)]


# --- H3: the agent's console: offers as cards, "My work", a case's work state, presence ----------------------


def _skill_needs(items: Sequence[WorkItem], language: str) -> dict[int, list[SkillNeed]]:
    """Return each item's skill needs with the skills' names in LANGUAGE (one query for all ITEMS)."""
    ids = {need["skill"] for item in items for need in item.skills or [] if "skill" in need}
    labels = {s.pk: s.label(language) for s in Skill.objects.filter(pk__in=ids)} if ids else {}
    return {
        item.pk: [
            SkillNeed(labels.get(n.get("skill"), "?"), int(n.get("level", 1)), bool(n.get("optional")))
            for n in item.skills or []
        ]
        for item in items
    }


@dataclass(frozen=True)
class OfferCard:
    """One offer as the agent's console shows it: what the work is, who it is for, how long it has waited."""

    item: WorkItem
    queue: str
    customer: str
    skills: list[SkillNeed]

    @property
    def reference(self) -> str:
        return case_reference(self.item.case_id)


def offer_cards_for(*, user: User, language: str = "") -> list[OfferCard]:
    """Return the work offered to USER, oldest offer first, with what the offer shows loaded."""
    return console_work_for(user=user, language=language, held=False)[0]


def console_work_for(*, user: User, language: str = "", held: bool = True) -> tuple[list[OfferCard], list[WorkItem]]:
    """Return the work offered to USER (as cards, oldest offer first) and, with HELD, the work assigned to them
    (their "My work", oldest first). One query, and one more for skill names when an offer needs skills: every
    console page shows both."""
    statuses = [WorkItem.Status.OFFERED, WorkItem.Status.ASSIGNED] if held else [WorkItem.Status.OFFERED]
    items = list(
        WorkItem.objects.filter(agent=user, status__in=statuses)
        .select_related("case__customer", "queue")
        .order_by("offered_at", "assigned_at", "id")
    )
    offered = [item for item in items if item.status == WorkItem.Status.OFFERED]
    assigned = sorted(
        (item for item in items if item.status == WorkItem.Status.ASSIGNED), key=lambda i: (i.assigned_at, i.pk)
    )
    needs = _skill_needs(offered, language)
    cards = [
        OfferCard(item=item, queue=item.queue.label(language), customer=item.case.customer.name, skills=needs[item.pk])
        for item in offered
    ]
    return cards, assigned


@dataclass(frozen=True)
class CaseWork:
    """Where a case stands in routing: its active work item, or the last one when none is active."""

    item: WorkItem
    queue: str
    agent: str
    skills: list[SkillNeed]

    @property
    def active(self) -> bool:
        return self.item.status in WorkItem.ACTIVE

    @property
    def overdue(self) -> bool:
        return self.item.due_at is not None and self.item.due_at <= timezone.now()


def case_work(*, case_id: int, language: str = "") -> CaseWork | None:
    """Return CASE_ID's active work item (else its latest one) for the case page, or None if it never had one."""
    item = (
        WorkItem.objects.filter(case_id=case_id)
        .select_related("queue", "agent")
        .annotate(rank=Case(When(status__in=WorkItem.ACTIVE, then=Value(0)), default=Value(1)))
        .order_by("rank", "-id")
        .first()
    )
    if item is None:
        return None
    agent = item.agent.get_full_name() or item.agent.get_username() if item.agent else ""
    return CaseWork(
        item=item, queue=item.queue.label(language), agent=agent, skills=_skill_needs([item], language)[item.pk]
    )


def presence_of(*, user: User) -> AgentState | None:
    """Return USER's routing state without creating it (None: never routed, shown as offline)."""
    return AgentState.objects.filter(user=user).first()


def work_item_get(*, item_id: int) -> WorkItem | None:
    """Return work item ITEM_ID with its case, queue and agent loaded, or None."""
    return WorkItem.objects.select_related("case", "queue", "agent").filter(pk=item_id).first()


def case_active_item(*, case_id: int) -> WorkItem | None:
    """Return CASE_ID's active (queued, offered or assigned) work item, or None."""
    return WorkItem.objects.select_related("queue", "agent").filter(case_id=case_id, status__in=WorkItem.ACTIVE).first()


def transfer_target_get(*, kind: str, pk: int) -> Queue | User | None:
    """Return the active queue (KIND "queue") or the active user (KIND "agent") PK, or None."""
    if kind == "queue":
        return Queue.objects.filter(pk=pk, active=True).first()
    return get_user_model().objects.filter(pk=pk, is_active=True).first()


def transfer_options(*, item: WorkItem, language: str = "") -> tuple[list[tuple[int, str]], list[AgentChoice]]:
    """Return where ITEM can be moved: every active queue (its own too: giving work back to its queue is a
    transfer) and every agent but its holder, those with room for it first. Two queries."""
    from tiski.accounts.selectors import agent_list

    queues = [(q.pk, q.label(language)) for q in Queue.objects.filter(active=True)]
    holder = item.agent_id if item.status in HELD else None
    agents = []
    for user in agent_list().exclude(pk=holder or 0).select_related("routing"):
        state: AgentState | None = getattr(user, "routing", None)
        free = state.free if state is not None else AgentState._meta.get_field("capacity").get_default()
        agents.append(
            AgentChoice(
                user_id=user.pk,
                name=user.get_full_name() or user.get_username(),
                presence=state.presence if state is not None else Presence.OFFLINE,
                free=free,
                fits=free >= item.units,
            )
        )
    agents.sort(key=lambda c: (not c.fits, PRESENCE_ORDER.get(c.presence, 9), c.name.casefold()))
    return queues, agents
