"""Routing under concurrency on PostgreSQL: several router processes and a churning one share one database.

Each router process calls route_pending() in a loop and logs every offer it made with the item's offer number
(read under the item's row lock). If two routers ever offered the same waiting item, two log entries would
carry the same (item, offer number), and the logs would hold more offers than the items count. A churn
process accepts, declines and completes offers, moves agents between online and away and queues new work,
and checks in one snapshot (REPEATABLE READ) that every agent's load is the units they hold and within
their capacity — at any moment, not only at the end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection

from tests.routing.conftest import loads_wrong
from tiski.routing.models import AgentState, Queue, Skill, WorkItem

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUTERS = 3
SECONDS = 8.0

PROCESS = r"""
import json, random, sys, time
import django
django.setup()
from django.db import connection, transaction
from django.db.models import Sum
from tiski.cases.models import Case
from tiski.customers.models import Customer
from tiski.routing import services
from tiski.routing.exceptions import RoutingError
from tiski.routing.models import AgentState, Presence, Queue, WorkItem
from tiski.routing.router import route_pending, timers_run
from django.contrib.auth.models import User

role, seed, start_at, seconds, out = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
rng = random.Random(seed)
offers, problems, counts = [], [], {"snapshots": 0, "accepted": 0, "declined": 0, "done": 0, "presence": 0, "new": 0}


def snapshot_check():
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        held = dict(
            WorkItem.objects.filter(status__in=["offered", "assigned"]).values("agent_id")
            .annotate(units=Sum("units")).values_list("agent_id", "units")
        )
        for user_id, load, capacity in AgentState.objects.values_list("user_id", "load", "capacity"):
            if load > capacity or load != held.get(user_id, 0):
                problems.append([user_id, load, capacity, held.get(user_id, 0)])
    counts["snapshots"] += 1


def churn():
    users = {user.pk: user for user in User.objects.filter(routing__isnull=False)}
    offered = list(WorkItem.objects.filter(status="offered").values_list("id", "agent_id")[:20])
    for item_id, agent_id in rng.sample(offered, min(len(offered), 4)):
        item = WorkItem.objects.get(pk=item_id)
        try:
            if rng.random() < 0.7:
                services.work_accept(item=item, agent=users[agent_id])
                counts["accepted"] += 1
            else:
                services.work_decline(item=item, agent=users[agent_id])
                counts["declined"] += 1
        except RoutingError:
            pass  # expired, withdrawn or taken meanwhile: the race is the point
    assigned = list(WorkItem.objects.filter(status="assigned").values_list("case_id", "agent_id")[:30])
    for case_id, agent_id in rng.sample(assigned, min(len(assigned), 3)):
        services.work_acted(case=Case.objects.get(pk=case_id), agent=users[agent_id])
        counts["done"] += 1
    if rng.random() < 0.3:
        user = users[rng.choice(list(users))]
        state = AgentState.objects.get(user=user)
        presence = Presence.AWAY if state.presence == Presence.ONLINE else Presence.ONLINE
        services.presence_set(user=user, presence=presence)
        counts["presence"] += 1
    if rng.random() < 0.5:
        case = Case.objects.create(customer=Customer.objects.create(name="Churn"), subject="More work")
        kind = rng.choice(["email", "chat", "sms"])
        services.work_enqueue(case=case, queue=Queue.objects.get(name="Load"), channel_kind=kind)
        counts["new"] += 1


while time.time() < start_at:
    time.sleep(0.01)
deadline = time.time() + seconds
while time.time() < deadline:
    if role == "router":
        for item in route_pending(limit=rng.choice([3, 10, 40])):
            offers.append([item.pk, item.offers, item.agent_id, item.status])
        if rng.random() < 0.1:
            timers_run()
    else:
        churn()
    snapshot_check()
connection.close()
with open(out, "w") as file:
    json.dump({"offers": offers, "problems": problems, "counts": counts}, file)
"""


def test_routers_in_parallel_never_offer_an_item_twice_nor_overfill_an_agent(
    tmp_path: Path,
    make_queue: Callable[..., Queue],
    make_skill: Callable[..., Skill],
    online_agent: Callable[..., User],
    make_item: Callable[..., WorkItem],
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/tiski")
    queue = make_queue("Load", fallback_after=2, offer_timeout=1)
    skills = [make_skill(f"Skill {n}") for n in range(4)]
    for n in range(40):
        online_agent(queues=[queue], capacity=40, skills={skills[n % 4]: 1 + n % 10, skills[(n + 1) % 4]: 5})
    for n in range(300):
        make_item(queue, channel_kind=("email", "chat", "sms")[n % 3], skills=[(skills[n % 4], 1 + n % 7)])

    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "DJANGO_SETTINGS_MODULE": "tiski.settings",
        "TISKI_LOG_LEVEL": "ERROR",
    }
    env.pop("TISKI_TEST_DB_NAME", None)
    start_at = time.time() + 6  # every process has set Django up by then
    roles = ["router"] * ROUTERS + ["churn"]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", PROCESS, role, str(n), str(start_at), str(SECONDS), str(tmp_path / f"{n}.json")],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n, role in enumerate(roles)
    ]
    errors = [process.communicate(timeout=120)[1] for process in processes]
    assert [process.returncode for process in processes] == [0] * len(roles), errors
    results = [json.loads((tmp_path / f"{n}.json").read_text()) for n in range(len(roles))]

    offers = [tuple(offer) for result in results[:ROUTERS] for offer in result["offers"]]
    per_router = [len(result["offers"]) for result in results[:ROUTERS]]
    assert sum(per_router) > 100 and sum(count > 0 for count in per_router) >= 2, per_router  # they did compete
    twice = [key for key, n in Counter((item_id, number) for item_id, number, _a, _s in offers).items() if n > 1]
    assert twice == [], "the same offer of an item was made by two routers"
    logged = Counter(item_id for item_id, _number, _agent, _status in offers)
    counted = dict(WorkItem.objects.filter(pk__in=logged).values_list("pk", "offers"))
    assert dict(logged) == counted  # every offer an item counts was made by exactly one router

    churn = results[ROUTERS]["counts"]
    assert churn["accepted"] > 10 and churn["declined"] > 5 and churn["done"] > 10 and churn["new"] > 5, churn
    assert sum(result["counts"]["snapshots"] for result in results) > 100
    problems = [problem for result in results for problem in result["problems"]]
    assert problems == [], "an agent's load differed from the units held or exceeded capacity"
    assert loads_wrong() == []
    assert AgentState.objects.count() == 40
