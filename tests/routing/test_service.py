"""The router loop: woken by commits in this process and (PostgreSQL) in others, `tiski router`, start/stop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.db import connection, connections

from tests.core.processes import tiski_command, tiski_env
from tiski.routing import service
from tiski.routing.models import Queue, WorkItem

REDIS_URL = "redis://127.0.0.1:6379/11"  # a database of its own: other test runs use the same server


def _run(coroutine: Any) -> Any:
    """asyncio.run(COROUTINE), from a thread of its own when this thread already runs an event loop (a browser
    test earlier in the session leaves Playwright's loop running in the main thread)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/tiski")


def database_url() -> str:
    db = django_settings.DATABASES["default"]  # the test database while tests run
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def slow_clocks(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    """Neither polling nor the clocks wake the loop within the test: only a wake-up can make it fast."""
    settings.TISKI_ROUTER_POLL_S = 60
    monkeypatch.setattr(service, "TIMERS_EVERY_S", 60.0)


def in_thread(function: Callable[[], Any]) -> Callable[[], Any]:
    """Run FUNCTION in a worker thread (as a web request would) and close that thread's connection."""

    def run() -> Any:
        try:
            return function()
        finally:
            connections.close_all()

    return sync_to_async(run, thread_sensitive=False)


async def offers_arriving(
    user: User, enqueue: Callable[[], Any], *, times: int, timeout: float = 5.0
) -> list[tuple[int, int, float]]:
    """Run the router loop here, ENQUEUE work TIMES times and return (item id, pushed id, seconds after commit)."""
    layer = get_channel_layer()
    assert layer is not None
    channel = await layer.new_channel()
    await layer.group_add(f"agent.{user.pk}", channel)
    stop = asyncio.Event()
    loop_task = asyncio.create_task(service.run(stop))
    results = []

    async def next_offer() -> tuple[dict[str, Any], float]:
        while True:
            message = await layer.receive(channel)
            if message["type"] == "routing.offer":
                return message, time.time()

    try:
        await asyncio.sleep(0.5)  # the first turn, which runs at start, is over
        for _ in range(times):
            receiving = asyncio.create_task(next_offer())  # listening before the work commits
            item_id, committed = await enqueue()
            message, received = await asyncio.wait_for(receiving, timeout)
            results.append((item_id, message["item_id"], received - committed))
            await asyncio.sleep(0.2)
    finally:
        stop.set()
        await asyncio.wait_for(loop_task, 10)
    return results


@pytest.mark.django_db(transaction=True)
def test_the_loop_offers_work_committed_in_this_process_within_a_fraction_of_a_second(
    make_queue: Callable[..., Queue],
    online_agent: Callable[..., User],
    make_item: Callable[..., WorkItem],
    slow_clocks: None,
) -> None:
    queue = make_queue("Live")
    agent = online_agent(queues=[queue])

    def enqueue() -> tuple[int, float]:
        item = make_item(queue)
        return item.pk, time.time()

    results = _run(offers_arriving(agent, in_thread(enqueue), times=3))
    assert [item_id for item_id, _pushed, _seconds in results] == [pushed for _item, pushed, _s in results]
    assert max(seconds for _item, _pushed, seconds in results) < 0.5
    assert WorkItem.objects.filter(status=WorkItem.Status.OFFERED, agent=agent).count() == 3


ENQUEUE_SCRIPT = """
import time, django
django.setup()
from tiski.cases.models import Case
from tiski.customers.models import Customer
from tiski.routing.models import Queue
from tiski.routing.services import work_enqueue
case = Case.objects.create(customer=Customer.objects.create(name="Other process"), subject="From afar")
item = work_enqueue(case=case, queue=Queue.objects.get(name="Live"), channel_kind="email")
print(item.pk, time.time(), flush=True)
"""


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_loop_wakes_at_once_for_work_committed_by_another_process(
    make_queue: Callable[..., Queue], online_agent: Callable[..., User], slow_clocks: None
) -> None:
    postgres_only()
    queue = make_queue("Live")
    agent = online_agent(queues=[queue])
    env = {**os.environ, "DATABASE_URL": database_url(), "DJANGO_SETTINGS_MODULE": "tiski.settings"}
    env.pop("TISKI_TEST_DB_NAME", None)

    def enqueue_elsewhere() -> tuple[int, float]:
        done = subprocess.run(
            [sys.executable, "-c", ENQUEUE_SCRIPT], env=env, capture_output=True, text=True, timeout=60, check=True
        )
        item_id, committed = done.stdout.split()
        return int(item_id), float(committed)

    results = _run(offers_arriving(agent, in_thread(enqueue_elsewhere), times=2))
    assert [item_id for item_id, _pushed, _seconds in results] == [pushed for _item, pushed, _s in results]
    assert max(seconds for _item, _pushed, seconds in results) < 0.5  # NOTIFY, not the 60 s poll


def test_start_does_nothing_unless_the_router_is_embedded(settings: Any) -> None:
    async def start_and_stop() -> bool:
        await service.start()
        started = service._embedded is not None
        await service.stop()
        return started

    settings.TISKI_ROUTER = "off"
    assert _run(start_and_stop()) is False


@pytest.mark.django_db(transaction=True)
def test_start_runs_the_router_with_the_server_until_stop(settings: Any) -> None:
    async def start_and_stop() -> tuple[bool, bool]:
        await service.start()
        assert service._embedded is not None
        task = service._embedded[0]
        await asyncio.sleep(0.3)
        running = not task.done()
        await service.stop()
        return running, task.done()

    settings.TISKI_ROUTER = "embedded"
    assert _run(start_and_stop()) == (True, True)
    assert service._embedded is None


# ── `tiski router` ────────────────────────────────────────────────────────────────────────────────────────────


def redis_or_skip() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        pytest.skip(f"needs Redis at {REDIS_URL}: {error}")


def read_line(process: subprocess.Popen[str], timeout: float) -> str:
    """Return the next line PROCESS prints (or "" when it prints none within TIMEOUT seconds)."""
    import selectors

    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            return ""
    return process.stdout.readline()


def stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=20)
    return out, err


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_router_process_offers_committed_work_pushes_it_over_redis_and_stops_on_sigterm(
    make_queue: Callable[..., Queue], online_agent: Callable[..., User], make_item: Callable[..., WorkItem]
) -> None:
    postgres_only()
    redis_or_skip()
    from channels_redis.core import RedisChannelLayer

    queue = make_queue("Live")
    agent = online_agent(queues=[queue])
    env = tiski_env(DATABASE_URL=database_url(), TISKI_REDIS_URL=REDIS_URL, TISKI_ROUTER="off")
    process = subprocess.Popen(
        tiski_command("router"), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert "Routing work" in read_line(process, 60)
        layer = RedisChannelLayer(hosts=[REDIS_URL])

        async def offered() -> tuple[int, dict[str, Any], float]:
            channel = await layer.new_channel()
            await layer.group_add(f"agent.{agent.pk}", channel)
            item_id, committed = await in_thread(lambda: (make_item(queue).pk, time.time()))()
            message = await asyncio.wait_for(layer.receive(channel), 10)
            return item_id, message, time.time() - committed

        item_id, message, seconds = _run(offered())
        assert message == {"type": "routing.offer", "item_id": item_id}
        assert seconds < 1.0
    finally:
        out, err = stop(process)
    assert process.returncode == 0, err
    assert "Router stopped." in out
    assert "TISKI_REDIS_URL is not set" not in err
    assert WorkItem.objects.get(pk=item_id).agent == agent


@pytest.mark.slow
def test_a_router_process_without_redis_warns_and_survives_a_database_without_tables(tmp_path: Path) -> None:
    env = tiski_env(TISKI_DATA_DIR=str(tmp_path), TISKI_ROUTER_POLL_S="0.1")
    process = subprocess.Popen(
        tiski_command("router"), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert "Routing work" in read_line(process, 60)
        time.sleep(1.5)  # rounds fail (no tables): logged, and the loop goes on
        assert process.poll() is None
    finally:
        out, err = stop(process)
    assert process.returncode == 0
    assert "TISKI_REDIS_URL is not set" in err
    assert "routing failed" in err or "routing timers failed" in err
    assert "Router stopped." in out
