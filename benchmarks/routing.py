#!/usr/bin/env python3
"""Routing benchmark: decisions per second on a backlog, and the time from "item enqueued" to "offer pushed".

Seeds, with bulk_create, 1,000 agents (online, capacity 100, each serving 2–5 of 20 queues, some only written
or only live channels) with skills at random but seeded levels (50 skills: 6 languages, 24 products, 20
technical areas), and 10,000 queued work items on as many cases (email, chat, phone, web form, SMS,
WhatsApp, Messenger; each needing its language and 0–2 product or technical skills, some optional; waiting
0–30 minutes, so queues with a short fallback have widened some of them). Then, in each of several runs:

    backlog    the agents go online facing the whole backlog: route_pending() — the router's own function,
               the one its loop calls — is called until it offers nothing; that is one round. Capacity is
               then freed (the offered items are marked done and the loads zeroed in two UPDATEs, not timed)
               and the next round starts, until a round offers nothing. decisions/s = offers made / time
               spent in route_pending (its commits and after-commit pushes included).
    baseline   in the same run on the same database, the floor of one decision: a transaction with a plain
               SELECT … ORDER BY <routing order> LIMIT 1 FOR UPDATE SKIP LOCKED and one UPDATE of that row,
               in a loop, on a copy of the backlog table. router/baseline is the ratio to compare.
    latency    with every agent's capacity free and the leftover backlog cancelled, items are enqueued one
               by one at a steady rate (--rate, default 20/s: 72,000 contacts an hour, several times the busiest
               hour of a 1,000-agent centre) through routing.services.work_enqueue, each in its own committed
               transaction (as the intake does), while the real router loop (routing.service, woken by the
               commit in this process, NOTIFY on PostgreSQL) runs in this process; a channel-layer receiver
               subscribed to every agent's group "agent.<id>" takes the time the offer message arrives.
               Latency = arrival − commit of the enqueue. Offers are accepted and completed through the
               services as they arrive (work_accept, work_acted), as agents would; --no-complete leaves them.
               Push floor, same run: push_offer() from a worker thread to the receiver, nothing else.

With --redis the channel layer is Redis (TISKI_REDIS_URL, database 9 by default so as not to mix with other
users of the server) and the router runs in a separate `tiski router` process, woken by NOTIFY.

    python benchmarks/routing.py [--quick] [--db sqlite|postgres] [--runs N] [--agents N] [--items N]
                                 [--rate N] [--latency-items N] [--limit N] [--redis] [--profile] [--keep]

--quick: 200 agents, 2,000 items, 200 latency items, 2 runs (about a minute). --profile prints cProfile's
top functions for route_pending() in the first run's backlog phase and in its latency phase (the router
loop's calls). The latency phase also tells, per item, the wait for the router loop to come round (commit →
start of the route_pending() call that offered it) from that call's own time (call start → push), and which
items were offered by the first call after their commit ("first chance"; the others waited for an eligible
agent to have room — a phone call needs an agent with nothing else on). The targets (issue 5, on PostgreSQL): ≥ 1,000
decisions/s and p99 < 100 ms from enqueue to push.

The last line printed is one JSON object with the figures (medians over the runs).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import cProfile
import io
import json
import math
import os
import pstats
import queue as threadqueue
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchlib import django_bench, machine, percentile

PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB = "tiski_bench_routing"
REDIS_URL = "redis://127.0.0.1:6379/9"

LANGUAGES = [
    ("fi", "Finnish", "suomi"),
    ("en", "English", "englanti"),
    ("sv", "Swedish", "ruotsi"),
    ("de", "German", "saksa"),
    ("ru", "Russian", "venäjä"),
    ("et", "Estonian", "viro"),
]
PRODUCTS = [
    "Broadband",
    "Mobile subscription",
    "Prepaid",
    "TV package",
    "Streaming",
    "Home insurance",
    "Car insurance",
    "Travel insurance",
    "Electricity contract",
    "District heating",
    "Solar panels",
    "Heat pump",
    "Online shop",
    "Loyalty programme",
    "Gift cards",
    "Invoicing",
    "Payment plans",
    "Business accounts",
    "Router rental",
    "Smart home",
    "Security alarm",
    "Parcel lockers",
    "Home delivery",
    "Returns",
]
TECHNICAL = [
    "Fibre installation",
    "DSL lines",
    "5G coverage",
    "SIM and eSIM",
    "Number porting",
    "Email hosting",
    "Domain names",
    "VPN",
    "Wi-Fi setup",
    "Set-top boxes",
    "Mobile apps",
    "Web account",
    "Strong authentication",
    "Data protection",
    "Meter readings",
    "Outage reports",
    "Network faults",
    "Device repairs",
    "Warranty claims",
    "API integrations",
]
# How the work arrives (weights), and in which language.
KIND_MIX = {"email": 40, "chat": 20, "phone": 8, "webform": 12, "sms": 5, "whatsapp": 10, "messenger": 5}
LANGUAGE_MIX = {"fi": 60, "en": 28, "sv": 8, "de": 2, "ru": 1, "et": 1}
WRITTEN = ["email", "webform", "sms", "whatsapp", "messenger"]
LIVE = ["chat", "phone"]
QUEUES = 20
FALLBACKS = [0, 120, 300, 600, 1800]  # seconds; 0 = never widen
LOAD_FREE_ROUNDS = 40  # at most this many backlog rounds


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--quick", action="store_true", help="200 agents, 2,000 items, 2 runs")
    parser.add_argument("--agents", type=int, help="agents (default 1,000; 200 with --quick)")
    parser.add_argument("--skills", type=int, default=50, help="skills (at most 50)")
    parser.add_argument("--items", type=int, help="queued backlog items (default 10,000; 2,000 with --quick)")
    parser.add_argument("--runs", type=int, help="runs to take the median of (default 3; 2 with --quick)")
    parser.add_argument("--rate", type=float, default=20.0, help="items enqueued per second in the latency phase")
    parser.add_argument("--latency-items", type=int, help="items per latency run (default 1,000; 200 with --quick)")
    parser.add_argument("--baseline-decisions", type=int, help="baseline decisions per run (default 3,000; 1,000)")
    parser.add_argument("--limit", type=int, help="route_pending(limit=…) (default: the router's own default)")
    parser.add_argument("--no-complete", dest="complete", action="store_false", help="leave offers unanswered")
    parser.add_argument("--redis", action="store_true", help="Redis layer, router in a separate process")
    parser.add_argument("--redis-url", default=os.environ.get("TISKI_BENCH_REDIS_URL", REDIS_URL))
    parser.add_argument("--profile", action="store_true", help="cProfile the first run's backlog phase")
    parser.add_argument("--seed", type=int, default=5, help="random seed of the data")
    parser.add_argument("--postgres-url", default=os.environ.get("TISKI_BENCH_POSTGRES_URL", PG_ADMIN_URL))
    parser.add_argument("--pg-name", default=PG_BENCH_DB, help="name of the throw-away PostgreSQL database")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument("--workdir", help="data directory (SQLite database); default: a new temporary one")
    args = parser.parse_args()
    args.reuse = False  # the runs change the data: always seed afresh
    args.agents = args.agents or (200 if args.quick else 1000)
    args.items = args.items or (2000 if args.quick else 10_000)
    args.runs = args.runs or (2 if args.quick else 3)
    args.latency_items = args.latency_items or (200 if args.quick else 1000)
    args.baseline_decisions = args.baseline_decisions or (1000 if args.quick else 3000)
    args.skills = max(len(LANGUAGES) + 2, min(args.skills, len(LANGUAGES) + len(PRODUCTS) + len(TECHNICAL)))
    if args.redis and args.db != "postgres":
        parser.error("--redis needs --db postgres (a router in another process is woken by NOTIFY)")
    return args


def weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


# --- Seeding ----------------------------------------------------------------------------------------------


@dataclass
class ItemSpec:
    """One piece of work as the intake would enqueue it."""

    queue_id: int
    kind: str
    language: str
    skills: list[dict[str, Any]]
    priority: int
    age_s: float = 0.0
    case_id: int = 0


@dataclass
class Agent:
    """What routing knows of an agent, as seeded: used to keep the latency items routable at once."""

    queues: set[int]
    kinds: set[str]
    skills: dict[int, int]


@dataclass
class World:
    """The seeded data the phases work on."""

    agent_ids: list[int]
    agents: dict[int, Agent]
    queues: dict[int, Any]
    language_skill: dict[str, int]
    product_skills: list[int]
    technical_skills: list[int]
    backlog_ids: list[int]  # one contiguous range: the first items created
    latency_plans: list[list[ItemSpec]]
    seeded_at: Any
    counts: dict[str, int] = field(default_factory=dict)

    def backlog(self) -> dict[str, int]:
        """Filter arguments that select the backlog's items (a range: no 10,000 parameters)."""
        return {"pk__gte": self.backlog_ids[0], "pk__lte": self.backlog_ids[-1]}


def make_spec(rng: random.Random, world: World, queue_ids: list[int], queue_weights: list[int]) -> ItemSpec:
    """Draw one work item: a queue, a channel, a language and 1–3 skills (0–2 beside the language)."""
    language = weighted(rng, LANGUAGE_MIX)
    skills = [{"skill": world.language_skill[language], "level": rng.randint(1, 6), "optional": False}]
    extras = rng.choice([0, 1, 1, 2])
    pool = [*world.product_skills, *world.technical_skills]
    for skill in rng.sample(pool, extras):
        skills.append({"skill": skill, "level": rng.randint(1, 7), "optional": rng.random() < 0.3})
    return ItemSpec(
        queue_id=rng.choices(queue_ids, weights=queue_weights)[0],
        kind=weighted(rng, KIND_MIX),
        language=language,
        skills=skills,
        priority=rng.choice([1, 2, 2, 2, 2, 3, 3, 4]),
        age_s=rng.uniform(0, 1800),
    )


def routable_now(spec: ItemSpec, world: World) -> bool:
    """True when some seeded agent could take SPEC at once (stage 0: every skill at its level)."""
    return any(
        spec.queue_id in agent.queues
        and (not agent.kinds or spec.kind in agent.kinds)
        and all(agent.skills.get(need["skill"], 0) >= need["level"] for need in spec.skills)
        for agent in world.agents.values()
    )


def seed(args: argparse.Namespace) -> World:
    """Create skills, queues, agents with their skills and states, customers, cases and the queued backlog."""
    from django.conf import settings
    from django.contrib.auth.models import Group, User
    from django.db import connection, transaction
    from django.utils import timezone

    from tiski.accounts.models import AgentProfile
    from tiski.cases.models import Case
    from tiski.channels.models import Channel
    from tiski.customers.models import Customer
    from tiski.routing.models import AgentSkill, AgentState, Presence, Queue, Skill, WorkItem

    rng = random.Random(args.seed)
    now = timezone.now()
    with transaction.atomic():
        skill_rows = [
            Skill(name=name, name_fi=name_fi, kind=Skill.Kind.LANGUAGE, language=code)
            for code, name, name_fi in LANGUAGES
        ]
        others = args.skills - len(LANGUAGES)
        products = PRODUCTS[: max(1, others * len(PRODUCTS) // (len(PRODUCTS) + len(TECHNICAL)))]
        technical = TECHNICAL[: others - len(products)]
        skill_rows += [Skill(name=name, kind=Skill.Kind.PRODUCT) for name in products]
        skill_rows += [Skill(name=name, kind=Skill.Kind.TECHNICAL) for name in technical]
        Skill.objects.bulk_create(skill_rows)
        skills = {s.name: s.pk for s in Skill.objects.all()}
        language_skill = {code: skills[name] for code, name, _fi in LANGUAGES}
        product_skills = [skills[name] for name in products]
        technical_skills = [skills[name] for name in technical]

        Queue.objects.bulk_create(
            Queue(
                name=f"Bench queue {n:02d}",
                priority=rng.randint(1, 10),
                position=n,
                offer_timeout=3600,  # no offer expires during a run
                auto_accept=n in (3, 11),  # two queues assign without asking
                fallback_after=rng.choice(FALLBACKS),
                return_margin=30,
            )
            for n in range(1, QUEUES + 1)
        )
        queues = {q.pk: q for q in Queue.objects.all()}
        queue_ids = sorted(queues)
        queue_weights = [rng.randint(1, 6) for _ in queue_ids]

        User.objects.bulk_create(
            User(username=f"bench-agent-{n:04d}", first_name="Agent", last_name=f"{n:04d}", password="!")
            for n in range(1, args.agents + 1)
        )
        users = list(User.objects.filter(username__startswith="bench-agent-").order_by("pk"))
        agent_group = Group.objects.get(name="agent")
        User.groups.through.objects.bulk_create(
            User.groups.through(user_id=user.pk, group_id=agent_group.pk) for user in users
        )
        AgentProfile.objects.bulk_create(AgentProfile(user=user) for user in users)
        states, memberships, agent_skills = [], [], []
        agents: dict[int, Agent] = {}
        for user in users:
            served = rng.sample(queue_ids, rng.randint(2, 5))
            draw = rng.random()
            kinds = [] if draw < 0.7 else (WRITTEN if draw < 0.85 else LIVE)
            states.append(
                AgentState(
                    user=user,
                    presence=Presence.OFFLINE,
                    capacity=100,
                    channel_kinds=kinds,
                    last_seen_at=now,
                )
            )
            memberships += [AgentState.queues.through(agentstate_id=user.pk, queue_id=q) for q in served]
            levels: dict[int, int] = {}
            for code, chance, low in (("fi", 0.92, 4), ("en", 0.85, 3), ("sv", 0.3, 2)):
                if rng.random() < chance:
                    levels[language_skill[code]] = rng.randint(low, 10)
            for code in ("de", "ru", "et"):
                if rng.random() < 0.05:
                    levels[language_skill[code]] = rng.randint(3, 10)
            for skill in rng.sample(product_skills, min(len(product_skills), rng.randint(4, 8))):
                levels[skill] = rng.randint(1, 10)
            for skill in rng.sample(technical_skills, min(len(technical_skills), rng.randint(2, 5))):
                levels[skill] = rng.randint(1, 10)
            agent_skills += [AgentSkill(user=user, skill_id=s, level=level) for s, level in levels.items()]
            agents[user.pk] = Agent(queues=set(served), kinds=set(kinds), skills=levels)
        AgentState.objects.bulk_create(states, batch_size=2000)
        AgentState.queues.through.objects.bulk_create(memberships, batch_size=5000)
        AgentSkill.objects.bulk_create(agent_skills, batch_size=5000)

        world = World(
            agent_ids=[u.pk for u in users],
            agents=agents,
            queues=queues,
            language_skill=language_skill,
            product_skills=product_skills,
            technical_skills=technical_skills,
            backlog_ids=[],
            latency_plans=[],
            seeded_at=now,
        )
        backlog = [make_spec(rng, world, queue_ids, queue_weights) for _ in range(args.items)]
        plans: list[list[ItemSpec]] = []
        for _run in range(args.runs):
            plan: list[ItemSpec] = []
            while len(plan) < args.latency_items:
                spec = make_spec(rng, world, queue_ids, queue_weights)
                if routable_now(spec, world):  # the latency is the router's, not a wait for a fallback
                    plan.append(spec)
            plans.append(plan)

        channels = {kind: Channel.objects.create(kind=kind, name=f"bench {kind}") for kind in KIND_MIX}
        Customer.objects.bulk_create(
            Customer(name=f"Customer {n}", language=rng.choice(["fi", "en", "sv"])) for n in range(1, 2001)
        )
        customer_ids = list(Customer.objects.values_list("pk", flat=True))
        every = backlog + [spec for plan in plans for spec in plan]
        cases = Case.objects.bulk_create(
            (
                Case(
                    subject=f"Question {n} about {spec.language}",
                    customer_id=customer_ids[n % len(customer_ids)],
                    channel=channels[spec.kind],
                    status=Case.Status.NEW,
                )
                for n, spec in enumerate(every)
            ),
            batch_size=2000,
        )
        for spec, case in zip(every, cases, strict=True):
            spec.case_id = case.pk
        units = settings.TISKI_ROUTING_UNITS
        targets = settings.TISKI_RESPONSE_TARGETS
        items = WorkItem.objects.bulk_create(
            (
                WorkItem(
                    case_id=spec.case_id,
                    queue_id=spec.queue_id,
                    queue_priority=queues[spec.queue_id].priority,
                    priority=spec.priority,
                    channel_kind=spec.kind,
                    language=spec.language,
                    skills=spec.skills,
                    units=units[spec.kind],
                    status=WorkItem.Status.QUEUED,
                    enqueued_at=now - timedelta(seconds=spec.age_s),
                    due_at=now - timedelta(seconds=spec.age_s) + timedelta(minutes=targets[spec.kind]),
                    reason="new",
                )
                for spec in backlog
            ),
            batch_size=2000,
        )
        world.backlog_ids = sorted(item.pk for item in items)
        assert world.backlog_ids[-1] - world.backlog_ids[0] == len(items) - 1, "backlog ids are not contiguous"
        world.latency_plans = plans
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    world.counts = {
        "agents": len(users),
        "skills": Skill.objects.count(),
        "agent_skills": len(agent_skills),
        "queues": len(queues),
        "backlog_items": len(items),
        "backlog_units": sum(units[spec.kind] for spec in backlog),
        "capacity_units": 100 * len(users),
    }
    return world


# --- Resetting between runs -------------------------------------------------------------------------------


def reset(world: World) -> None:
    """Put the backlog back as it was seeded (queued, same ages) and every agent online with nothing to do."""
    from django.contrib.auth.models import User
    from django.db import connection
    from django.db.models import F
    from django.utils import timezone

    from tiski.cases.models import Case
    from tiski.routing.models import AgentState, Presence, WorkItem

    now = timezone.now()
    shift = now - world.seeded_at
    world.seeded_at = now
    WorkItem.objects.exclude(**world.backlog()).filter(status__in=WorkItem.ACTIVE).update(
        status=WorkItem.Status.DONE, closed_at=now, reason="bench"
    )
    WorkItem.objects.filter(**world.backlog()).update(
        status=WorkItem.Status.QUEUED,
        agent=None,
        offered_at=None,
        offer_expires_at=None,
        assigned_at=None,
        acted_at=None,
        closed_at=None,
        declined=[],
        offers=0,
        reason="new",
        enqueued_at=F("enqueued_at") + shift,
        due_at=F("due_at") + shift,
    )
    Case.objects.filter(owner__in=User.objects.filter(username__startswith="bench-agent-")).update(
        owner=None, status=Case.Status.NEW
    )
    AgentState.objects.update(
        presence=Presence.ONLINE, presence_since=now, load=0, last_routed_at=None, last_seen_at=now
    )
    if connection.vendor == "postgresql":  # as autovacuum would, after rewriting every row
        with connection.cursor() as cursor:
            for table in ("routing_workitem", "routing_agentstate", "cases_case"):
                cursor.execute(f"VACUUM ANALYZE {table}")


def free_capacity() -> None:
    """Let the agents finish what they were given: offered and assigned items done, every load back to 0."""
    from django.utils import timezone

    from tiski.routing.models import AgentState, WorkItem

    WorkItem.objects.filter(status__in=[WorkItem.Status.OFFERED, WorkItem.Status.ASSIGNED]).update(
        status=WorkItem.Status.DONE, closed_at=timezone.now(), reason="bench"
    )
    AgentState.objects.update(load=0, last_seen_at=timezone.now())


# --- Phase 1: the backlog ---------------------------------------------------------------------------------


class StatementClock:
    """A connection.execute_wrapper that counts statements and the time spent in them."""

    def __init__(self) -> None:
        self.statements = 0
        self.seconds = 0.0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.statements += 1


def phase_backlog(args: argparse.Namespace, world: World, profile: cProfile.Profile | None) -> dict[str, Any]:
    from django.db import connection

    from tiski.routing.models import WorkItem
    from tiski.routing.router import route_pending

    kwargs = {"limit": args.limit} if args.limit else {}
    clock = StatementClock()
    calls_ms: list[float] = []
    rounds: list[tuple[int, float]] = []
    for _round in range(LOAD_FREE_ROUNDS):
        offers = 0
        spent = 0.0
        while True:
            with connection.execute_wrapper(clock):
                if profile:
                    profile.enable()
                started = time.perf_counter()
                made = route_pending(**kwargs)
                elapsed = time.perf_counter() - started
                if profile:
                    profile.disable()
            calls_ms.append(elapsed * 1000)
            spent += elapsed
            offers += len(made)
            if not made:
                break
        rounds.append((offers, spent))
        if not offers:
            break
        free_capacity()
    total_offers = sum(offers for offers, _spent in rounds)
    total_s = sum(spent for _offers, spent in rounds)
    first_offers, first_s = rounds[0]
    return {
        "decisions": total_offers,
        "decisions_per_s": total_offers / total_s if total_s else 0.0,
        "round1_decisions": first_offers,
        "round1_s": first_s,
        "round1_decisions_per_s": first_offers / first_s if first_s else 0.0,
        "rounds": len(rounds),
        "route_s": total_s,
        "route_calls": len(calls_ms),
        "route_call_p50_ms": percentile(calls_ms, 0.50),
        "route_call_p99_ms": percentile(calls_ms, 0.99),
        "statements_per_decision": clock.statements / total_offers if total_offers else 0.0,
        "db_share": clock.seconds / total_s if total_s else 0.0,
        "left_queued": WorkItem.objects.filter(**world.backlog(), status=WorkItem.Status.QUEUED).count(),
    }


# --- The baseline: one row locked and updated per decision -------------------------------------------------

BASELINE_TABLE = "bench_baseline_item"
ORDER = "queue_priority DESC, priority DESC, enqueued_at, due_at, id"


def baseline_prepare(world: World) -> None:
    """Copy the seeded backlog into a table of its own (same columns, same routing-order index)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {BASELINE_TABLE}")
        if connection.vendor == "postgresql":
            cursor.execute(f"CREATE TABLE {BASELINE_TABLE} (LIKE routing_workitem INCLUDING ALL)")
            cursor.execute(f"INSERT INTO {BASELINE_TABLE} SELECT * FROM routing_workitem")
        else:
            cursor.execute(f"CREATE TABLE {BASELINE_TABLE} AS SELECT * FROM routing_workitem")
            cursor.execute(f"CREATE INDEX {BASELINE_TABLE}_order ON {BASELINE_TABLE} (status, {ORDER})")
            cursor.execute(f"CREATE UNIQUE INDEX {BASELINE_TABLE}_pk ON {BASELINE_TABLE} (id)")
        cursor.execute(f"UPDATE {BASELINE_TABLE} SET status = 'queued', agent_id = NULL")
        if connection.vendor == "postgresql":
            cursor.execute(f"VACUUM ANALYZE {BASELINE_TABLE}")


def baseline_run(decisions: int, world: World) -> dict[str, float]:
    """Make DECISIONS decisions the plainest way: lock the first queued row, update it, commit; return the rate."""
    from django.db import connection, transaction
    from django.utils import timezone

    lock = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {BASELINE_TABLE} SET status = 'queued', agent_id = NULL, offered_at = NULL")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {BASELINE_TABLE}")
    agents = world.agent_ids
    samples: list[float] = []
    began = time.perf_counter()
    for n in range(decisions):
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SELECT id FROM {BASELINE_TABLE} WHERE status = 'queued' ORDER BY {ORDER} LIMIT 1{lock}")
            row = cursor.fetchone()
            if row is None:
                break
            cursor.execute(
                f"UPDATE {BASELINE_TABLE} SET status = 'offered', agent_id = %s, offered_at = %s WHERE id = %s",
                [agents[n % len(agents)], timezone.now(), row[0]],
            )
        samples.append((time.perf_counter() - started) * 1000)
    elapsed = time.perf_counter() - began
    return {
        "baseline_decisions_per_s": len(samples) / elapsed,
        "baseline_p50_ms": percentile(samples, 0.50),
        "baseline_p99_ms": percentile(samples, 0.99),
    }


# --- Phase 2: latency from enqueue to push ----------------------------------------------------------------

OFFER_TYPES = ("routing.offer", "routing.assigned")


def _stamper(target: list[float]) -> Callable[[], None]:
    return lambda: target.append(time.perf_counter())


def enqueue_steady(plan: list[ItemSpec], rate: float, world: World) -> tuple[dict[int, float], list[float]]:
    """Enqueue PLAN's items RATE per second, each in its own transaction; return {item id: commit time}, and
    how long each enqueue took (ms). Runs in a worker thread."""
    from django.db import connection, transaction

    from tiski.cases.models import Case
    from tiski.routing.services import work_enqueue

    cases = Case.objects.in_bulk([spec.case_id for spec in plan])
    commits: dict[int, float] = {}
    took: list[float] = []
    interval = 1.0 / rate
    due = time.perf_counter()
    try:
        for spec in plan:
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            due += interval
            stamp: list[float] = []
            started = time.perf_counter()
            with transaction.atomic():  # the intake's transaction; the stamp runs first after its commit
                transaction.on_commit(_stamper(stamp))
                item = work_enqueue(
                    case=cases[spec.case_id],
                    queue=world.queues[spec.queue_id],
                    channel_kind=spec.kind,
                    language=spec.language,
                    skills=spec.skills,
                    priority=spec.priority,
                )
            commits[item.pk] = stamp[0]
            took.append((stamp[0] - started) * 1000)
    finally:
        connection.close()
    return commits, took


def complete_offers(offered: threadqueue.Queue[int], stop: threading.Event) -> dict[str, int]:
    """Accept each offered item and complete it through the services, as its agent would. Worker thread."""
    from django.db import connection

    from tiski.cases.models import Case
    from tiski.routing.models import WorkItem
    from tiski.routing.services import work_accept, work_acted, work_case_left_open

    done = failed = 0
    try:
        while not (stop.is_set() and offered.empty()):
            try:
                item_id = offered.get(timeout=0.05)
            except threadqueue.Empty:
                continue
            try:
                item = WorkItem.objects.select_related("case", "agent").get(pk=item_id)
                agent = item.agent
                if agent is None:
                    continue
                if item.status == WorkItem.Status.OFFERED:
                    item = work_accept(item=item, agent=agent)
                work_acted(case=item.case, agent=agent)
                if item.channel_kind in LIVE:  # live work completes when the case leaves new/open
                    Case.objects.filter(pk=item.case_id).update(status=Case.Status.SOLVED)
                    work_case_left_open(case=Case.objects.get(pk=item.case_id))
                done += 1
            except Exception as error:  # an offer withdrawn meanwhile, say: count it, go on
                failed += 1
                if failed <= 3:
                    print(f"  completing item {item_id}: {type(error).__name__}: {error}", file=sys.stderr)
    finally:
        connection.close()
    return {"completed": done, "complete_failed": failed}


def push_floor(user_ids: list[int], count: int, rate: float) -> dict[int, float]:
    """Send COUNT offers of made-up items (negative ids) with push_offer(), nothing else; return the send times."""
    from tiski.routing.push import push_offer

    sent: dict[int, float] = {}
    for n in range(1, count + 1):
        sent[-n] = time.perf_counter()
        push_offer(user_ids[n % len(user_ids)], -n)
        time.sleep(1.0 / rate)
    return sent


class RouterCalls:
    """Records each route_pending() call of the in-process router loop (start, end, items offered), to split an
    item's latency into waiting for the router to come round and the call that offered it. Instrumentation
    only: the loop calls the real function through this wrapper."""

    def __init__(self, profile: cProfile.Profile | None = None) -> None:
        self.calls: list[tuple[float, float, list[int]]] = []
        self.clock = StatementClock()  # statements and database time of all the calls
        self.original: Callable[..., Any] | None = None
        self.profile = profile

    def install(self) -> None:
        from tiski.routing import router

        original = self.original = router.route_pending

        def timed(**kwargs: Any) -> Any:
            from django.db import connection

            if self.profile:
                self.profile.enable()  # in the router's thread: cProfile profiles the thread that enables it
            started = time.perf_counter()
            try:
                with connection.execute_wrapper(self.clock):  # the router thread's own connection
                    made = original(**kwargs)
            finally:
                ended = time.perf_counter()
                if self.profile:
                    self.profile.disable()
            self.calls.append((started, ended, [item.pk for item in made]))
            return made

        router.route_pending = timed  # service._turn imports it at each turn

    def uninstall(self) -> None:
        from tiski.routing import router

        if self.original is not None:
            router.route_pending = self.original

    def figures(self, commits: dict[int, float], arrivals: dict[int, float]) -> dict[str, Any]:
        """Per measured item: start of the router call that offered it − commit ("wait", 0 when the call
        started before the commit and saw the item all the same) and arrival − the later of the two ("call");
        and the latency of the items offered at their first chance (see _first_after): the others waited for an
        eligible agent to have room (a phone call needs an agent with nothing else on)."""
        started_for = {item: started for started, _ended, items in self.calls for item in items}
        starts = sorted(started for started, _ended, _items in self.calls)
        first_chance = [
            (arrivals[i] - at) * 1000
            for i, at in commits.items()
            if i in started_for and i in arrivals and started_for[i] <= _first_after(starts, at)
        ]
        waits = [
            max(0.0, started_for[i] - at) * 1000 for i, at in commits.items() if i in started_for and i in arrivals
        ]
        calls = [
            (arrivals[i] - max(started_for[i], at)) * 1000
            for i, at in commits.items()
            if i in started_for and i in arrivals
        ]
        durations = [(ended - started) * 1000 for started, ended, _items in self.calls]
        empty = [(ended - started) * 1000 for started, ended, items in self.calls if not items]
        offering = [(ended - started) * 1000 for started, ended, items in self.calls if items]
        if not durations:
            return {}
        return {
            "router_calls": len(durations),
            "router_empty_calls": len(empty),
            "router_call_p50_ms": percentile(durations, 0.50),
            "router_call_p99_ms": percentile(durations, 0.99),
            "router_empty_call_p50_ms": percentile(empty, 0.50) if empty else None,
            "router_offering_call_p50_ms": percentile(offering, 0.50) if offering else None,
            "router_busy_share": sum(durations) / 1000 / (self.calls[-1][1] - self.calls[0][0]),
            "router_db_share": self.clock.seconds * 1000 / sum(durations),
            "router_statements_per_call": self.clock.statements / len(durations),
            "wait_for_router_p50_ms": percentile(waits, 0.50) if waits else None,
            "wait_for_router_p99_ms": percentile(waits, 0.99) if waits else None,
            "offering_call_p50_ms": percentile(calls, 0.50) if calls else None,
            "offering_call_p99_ms": percentile(calls, 0.99) if calls else None,
            "first_chance_share": len(first_chance) / len(commits) if commits else None,
            "first_chance_p50_ms": percentile(first_chance, 0.50) if first_chance else None,
            "first_chance_p99_ms": percentile(first_chance, 0.99) if first_chance else None,
        }


def _first_after(starts: list[float], moment: float) -> float:
    """The first of the sorted STARTS after MOMENT. A call that started a little before MOMENT may see the
    item too (its SELECT ran after the commit; on SQLite it waited for the enqueue's write lock): such a call
    also counts as the first chance, hence "offered by a call that started no later than this one"."""
    index = bisect.bisect_right(starts, moment)
    return starts[index] if index < len(starts) else math.inf


def router_process() -> subprocess.Popen[bytes]:
    """Start `tiski router` with this process's environment (database, Redis, data directory)."""
    tiski = Path(sys.executable).with_name("tiski")
    command = [str(tiski)] if tiski.exists() else [sys.executable, "-m", "tiski.cli"]
    command += ["router", "--verbosity", "0"]
    return subprocess.Popen(command, env=dict(os.environ))


async def latency_async(
    args: argparse.Namespace, world: World, plan: list[ItemSpec], profile: cProfile.Profile | None
) -> dict[str, Any]:
    from asgiref.sync import sync_to_async
    from channels.layers import get_channel_layer

    from tiski.routing import service

    layer = get_channel_layer()
    assert layer is not None
    channel = await layer.new_channel()
    for user_id in world.agent_ids:
        await layer.group_add(f"agent.{user_id}", channel)
    arrivals: dict[int, float] = {}
    offered: threadqueue.Queue[int] = threadqueue.Queue()

    async def receive() -> None:
        failures = 0
        while True:
            try:
                message = await layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # say so: a silent receiver would look like a router that pushes nothing
                failures += 1
                if failures <= 3:
                    print(f"  receiver: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
                await asyncio.sleep(0.01)
                continue
            arrived = time.perf_counter()
            if message.get("type") in OFFER_TYPES and message["item_id"] not in arrivals:
                arrivals[message["item_id"]] = arrived
                if message["item_id"] > 0:
                    offered.put(message["item_id"])

    receiver = asyncio.create_task(receive())
    process = None
    recorder = RouterCalls(profile)
    if args.redis:
        process = router_process()
        await asyncio.sleep(4)  # settings loaded, LISTEN set up
    else:
        recorder.install()
        await service.start()
    stop = threading.Event()
    completer = (
        asyncio.ensure_future(sync_to_async(complete_offers, thread_sensitive=False)(offered, stop))
        if args.complete
        else None
    )
    try:
        # Worker threads through asgiref, as a server runs sync code: their pushes reach this event loop.
        began = time.perf_counter()
        commits, took = await sync_to_async(enqueue_steady, thread_sensitive=False)(plan, args.rate, world)
        enqueue_s = time.perf_counter() - began
        deadline = time.perf_counter() + 5
        while time.perf_counter() < deadline and any(item not in arrivals for item in commits):
            await asyncio.sleep(0.01)
        stop.set()
        completion = await completer if completer else {"completed": 0, "complete_failed": 0}
    finally:
        stop.set()
        if process:
            process.terminate()
            process.wait(timeout=30)
        else:
            await service.stop()
            recorder.uninstall()
    floor_count = min(300, len(plan))
    sent = await sync_to_async(push_floor, thread_sensitive=False)(world.agent_ids, floor_count, args.rate)
    deadline = time.perf_counter() + 3
    while time.perf_counter() < deadline and any(item not in arrivals for item in sent):
        await asyncio.sleep(0.01)
    receiver.cancel()
    for user_id in world.agent_ids:
        await layer.group_discard(f"agent.{user_id}", channel)
    warmup = min(20, len(plan) // 10)  # the first items pay for connections and caches
    measured = list(commits.items())[warmup:]
    latencies = [(arrivals[item] - committed) * 1000 for item, committed in measured if item in arrivals]
    floor = [(arrivals[item] - at) * 1000 for item, at in sent.items() if item in arrivals]
    result: dict[str, Any] = {
        "latency_items": len(measured),
        "latency_missing": len(measured) - len(latencies),
        "enqueue_p50_ms": percentile(took, 0.50),
        "enqueue_p99_ms": percentile(took, 0.99),
        "push_floor_p50_ms": percentile(floor, 0.50) if floor else None,
        "push_floor_p99_ms": percentile(floor, 0.99) if floor else None,
        "push_floor_missing": len(sent) - len(floor),
        "enqueued_per_s": len(commits) / enqueue_s,
        "slowest": [
            {"item": item, "ms": round((arrivals[item] - at) * 1000), "committed_at_s": round(at - began, 2)}
            for item, at in sorted(measured, key=lambda pair: arrivals.get(pair[0], math.inf) - pair[1])[-3:]
            if item in arrivals
        ],
        **completion,
        **recorder.figures(dict(measured), arrivals),
    }
    if latencies:
        result |= {
            "latency_p50_ms": percentile(latencies, 0.50),
            "latency_p95_ms": percentile(latencies, 0.95),
            "latency_p99_ms": percentile(latencies, 0.99),
            "latency_max_ms": max(latencies),
        }
    return result


def phase_latency(
    args: argparse.Namespace, world: World, plan: list[ItemSpec], profile: cProfile.Profile | None
) -> dict[str, Any]:
    from django.db import connection
    from django.utils import timezone

    from tiski.routing.models import AgentState, WorkItem

    free_capacity()
    WorkItem.objects.filter(status=WorkItem.Status.QUEUED).update(
        status=WorkItem.Status.CANCELLED, closed_at=timezone.now(), reason="bench"
    )
    AgentState.objects.update(last_seen_at=timezone.now())
    connection.close()  # the worker threads open their own
    return asyncio.run(latency_async(args, world, plan, profile))


# --- The runs ---------------------------------------------------------------------------------------------


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median of each figure over the runs."""
    result: dict[str, Any] = {}
    for key in runs[0]:
        values = [run[key] for run in runs if run.get(key) is not None]
        if any(not isinstance(v, int | float) for v in values):
            continue  # lists (the slowest items) stay per run
        if not values:
            result[key] = None
        elif all(isinstance(v, int) for v in values):
            result[key] = int(statistics.median(values))
        else:
            median = statistics.median(values)
            result[key] = round(median, 3 if abs(median) < 10 else 1)
    return result


def profile_report(profile: cProfile.Profile) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(20)
    return out.getvalue()


def run(args: argparse.Namespace) -> dict[str, Any]:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    # One receiving channel gets every agent's messages: let it hold more than the default 100.
    layer: dict[str, Any] = settings.CHANNEL_LAYERS["default"]
    layer.setdefault("CONFIG", {})["capacity"] = 100_000
    info = machine()
    info["load_average_start"] = round(os.getloadavg()[0], 2)  # the machine may be shared: say how busy it was
    print(
        f"machine: {info['cpu']}, {info['cores']} cores, {info['memory_gb']} GB, Python {info['python']}, load "
        f"average {info['load_average_start']}"
    )
    call_command("migrate", verbosity=0)
    print(
        f"database: {connection.vendor}, layer: {'redis' if args.redis else 'in-memory'}; seeding {args.agents:,} "
        f"agents, {args.items:,} items …",
        flush=True,
    )
    started = time.monotonic()
    world = seed(args)
    seed_s = time.monotonic() - started
    baseline_prepare(world)
    counts = world.counts
    print(
        f"seeded in {seed_s:.1f} s: {counts['agents']:,} agents with {counts['agent_skills']:,} skill levels, "
        f"{counts['skills']} skills, {counts['queues']} queues, {counts['backlog_items']:,} queued items needing "
        f"{counts['backlog_units']:,} units (capacity {counts['capacity_units']:,})",
        flush=True,
    )
    profile = cProfile.Profile() if args.profile else None
    runs: list[dict[str, Any]] = []
    for number in range(1, args.runs + 1):
        reset(world)
        figures = phase_backlog(args, world, profile if number == 1 else None)
        figures |= baseline_run(args.baseline_decisions, world)
        figures["ratio_to_baseline"] = figures["decisions_per_s"] / figures["baseline_decisions_per_s"]
        print(
            f"run {number}/{args.runs}: backlog {figures['decisions']:,} offers in {figures['rounds']} rounds, "
            f"{figures['decisions_per_s']:.0f}/s (round 1: {figures['round1_decisions']:,} in "
            f"{figures['round1_s']:.2f} s), route_pending p50 {figures['route_call_p50_ms']:.1f} p99 "
            f"{figures['route_call_p99_ms']:.1f} ms/call, {figures['statements_per_decision']:.2f} statements per "
            f"decision, {figures['db_share']:.0%} in the database, {figures['left_queued']:,} left queued | "
            f"baseline {figures['baseline_decisions_per_s']:.0f}/s (ratio {figures['ratio_to_baseline']:.2f})",
            flush=True,
        )
        if profile and number == 1:
            print("profile of route_pending in the backlog phase:\n" + profile_report(profile))
        latency_profile = cProfile.Profile() if args.profile and number == 1 else None
        figures |= phase_latency(args, world, world.latency_plans[number - 1], latency_profile)
        print(
            f"  latency: {figures['latency_items']} items at {args.rate:.0f}/s: enqueue→push p50 "
            f"{figures.get('latency_p50_ms', float('nan')):.1f} p95 {figures.get('latency_p95_ms', float('nan')):.1f} "
            f"p99 {figures.get('latency_p99_ms', float('nan')):.1f} max "
            f"{figures.get('latency_max_ms', float('nan')):.1f} ms, {figures['latency_missing']} missing; enqueue "
            f"p50 {figures['enqueue_p50_ms']:.1f} ms; push floor p50 {figures['push_floor_p50_ms'] or 0:.2f} p99 "
            f"{figures['push_floor_p99_ms'] or 0:.2f} ms; completed {figures['completed']} "
            f"({figures['complete_failed']} failed); enqueued {figures['enqueued_per_s']:.1f}/s; slowest "
            + ", ".join(
                f"#{x['item']} {x['ms']} ms (committed at {x['committed_at_s']} s)" for x in figures["slowest"]
            ),
            flush=True,
        )
        if "router_calls" in figures:
            print(
                f"  router loop: {figures['router_calls']} route_pending calls ({figures['router_empty_calls']} "
                f"offered nothing, p50 {figures['router_empty_call_p50_ms'] or 0:.1f} ms; the others p50 "
                f"{figures['router_offering_call_p50_ms'] or 0:.1f} ms), all p50 {figures['router_call_p50_ms']:.1f} "
                f"p99 {figures['router_call_p99_ms']:.1f} ms, {figures['router_statements_per_call']:.1f} statements "
                f"and {figures['router_db_share']:.0%} in the database per call, busy "
                f"{figures['router_busy_share']:.0%} of the time; "
                "per item: "
                f"commit → call start p50 {figures['wait_for_router_p50_ms'] or 0:.1f} p99 "
                f"{figures['wait_for_router_p99_ms'] or 0:.1f} ms, call start → push p50 "
                f"{figures['offering_call_p50_ms'] or 0:.1f} p99 {figures['offering_call_p99_ms'] or 0:.1f} ms; "
                f"{figures['first_chance_share'] or 0:.0%} offered at the first chance: p50 "
                f"{figures['first_chance_p50_ms'] or 0:.1f} p99 {figures['first_chance_p99_ms'] or 0:.1f} ms",
                flush=True,
            )
        runs.append(figures)
        if latency_profile:
            print("profile of route_pending in the latency phase:\n" + profile_report(latency_profile))
    result: dict[str, Any] = {
        "db": args.db,
        "layer": "redis" if args.redis else "in-memory",
        "router": "separate process" if args.redis else "in-process loop",
        **counts,
        "runs": args.runs,
        "rate_per_s": args.rate,
        "seed_s": round(seed_s, 1),
        **summarise(runs),
        "per_run": [
            {
                k: runs[i][k]
                for k in ("decisions_per_s", "latency_p99_ms", "baseline_decisions_per_s", "slowest")
                if k in runs[i]
            }
            for i in range(len(runs))
        ],
        "machine": info | {"load_average_end": round(os.getloadavg()[0], 2)},
    }
    return result


def main() -> None:
    args = parse_args()
    if args.redis:
        os.environ["TISKI_REDIS_URL"] = args.redis_url
    else:
        os.environ.pop("TISKI_REDIS_URL", None)
    results = django_bench(args, args.pg_name, run)
    rate, p99 = results.get("decisions_per_s"), results.get("latency_p99_ms")
    verdict = (
        f"{'meets' if (rate or 0) >= 1000 else 'misses'} ≥ 1,000/s; "
        f"{'meets' if p99 is not None and p99 < 100 else 'misses'} p99 < 100 ms"
    )
    print(f"{args.db}: {rate} decisions/s, enqueue→push p99 {p99} ms ({verdict})")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
