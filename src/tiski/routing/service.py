"""The router loop: runs route_pending() whenever work or free capacity may have appeared, and the clocks.

It runs inside the web server (started by the ASGI lifespan, TISKI_ROUTER=embedded) or in `tiski router`
processes. It wakes at once when a transaction in this process that changed routing commits (wake(), called
on commit by wake_routers()), on PostgreSQL when one in any process commits (LISTEN/NOTIFY on the channel
"tiski_routing": pg_notify is delivered at commit, and not at all on rollback), and otherwise every
TISKI_ROUTER_POLL_S. Several routers may run at once: route_pending() locks with SKIP LOCKED, so they share
the work without offering anything twice.

Database work runs in one dedicated thread through sync_to_async, so pushes sent from it reach the channel
layer on this event loop (the in-memory layer's consumers live there).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connection, connections, transaction

logger = logging.getLogger(__name__)

CHANNEL = "tiski_routing"
TIMERS_EVERY_S = 1.0
ROUNDS_PER_TURN = 20  # route_pending() calls before the loop looks at its events again
BATCH = 200  # offers per route_pending() call (one transaction)
LISTEN_RETRY_S = 5.0
RECYCLE_S = 60.0  # the router thread's database connection is closed and opened again this often

_wakers: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
_wakers_lock = threading.Lock()
_embedded: tuple[asyncio.Task[None], asyncio.Event] | None = None


def wake() -> None:
    """Wake the routers running in this process, if any (thread-safe, never blocks)."""
    with _wakers_lock:
        targets = list(_wakers)
    for loop, event in targets:
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(event.set)


def wake_routers() -> None:
    """Inside a transaction: wake every router when it commits (this process's and, on PostgreSQL, others')."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [CHANNEL])
    transaction.on_commit(wake)


async def start() -> None:
    """Start the router in the background of this event loop (the web server's), unless TISKI_ROUTER says not."""
    global _embedded
    if settings.TISKI_ROUTER != "embedded" or _embedded is not None:
        return
    stop_event = asyncio.Event()
    task = asyncio.create_task(run(stop_event), name="tiski-router")
    _embedded = (task, stop_event)


async def stop(timeout: float = 10.0) -> None:
    """Stop the router start() started, letting the round in progress finish."""
    global _embedded
    if _embedded is None:
        return
    task, stop_event = _embedded
    _embedded = None
    stop_event.set()
    try:
        await asyncio.wait_for(task, timeout)
    except TimeoutError:
        logger.warning("the router did not stop within %s s", timeout)


async def run(stop_event: asyncio.Event) -> None:
    """Route until STOP_EVENT is set. Errors are logged and the loop goes on."""
    loop = asyncio.get_running_loop()
    woken = asyncio.Event()
    waker = (loop, woken)
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tiski-router")
    work = sync_to_async(_turn, thread_sensitive=False, executor=executor)
    helpers = [asyncio.create_task(_relay(stop_event, woken))]
    if connections["default"].vendor == "postgresql":
        helpers.append(asyncio.create_task(_listen(woken)))
    with _wakers_lock:
        _wakers.add(waker)
    poll = max(float(settings.TISKI_ROUTER_POLL_S), 0.01)
    next_timers = loop.time()
    try:
        while not stop_event.is_set():
            woken.clear()
            timers = loop.time() >= next_timers
            if timers:
                next_timers = loop.time() + TIMERS_EVERY_S
            try:
                more = await work(timers)
            except Exception:  # _turn logs its own errors; this is the thread or the executor failing
                logger.exception("router turn failed")
                more = False
            if more:
                await asyncio.sleep(0)
                continue
            timeout = max(min(poll, next_timers - loop.time()), 0.0)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await woken.wait()
    finally:
        with _wakers_lock:
            _wakers.discard(waker)
        for helper in helpers:
            helper.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        with contextlib.suppress(Exception):
            await sync_to_async(connections.close_all, thread_sensitive=False, executor=executor)()
        executor.shutdown(wait=False)


class _Connection:
    """When the router thread last recycled its database connection, and whether its last turn failed."""

    recycled = 0.0
    failed = False


def _turn(timers: bool) -> bool:
    """Route while full batches are offered, then run the clocks (when TIMERS); return whether work may remain.

    A batch short of the limit means everything routable was offered: work committed meanwhile has woken
    the loop again, so no confirming (and slow, on a big backlog) empty call is made.

    The router thread keeps its database connection between turns (connecting costs more than a routing
    decision): old connections are closed after a failed turn and every RECYCLE_S seconds.
    """
    from tiski.routing.router import route_pending, timers_run

    if _Connection.failed or time.monotonic() - _Connection.recycled > RECYCLE_S:
        close_old_connections()
        _Connection.recycled = time.monotonic()
    _Connection.failed = False
    more = True
    for _round in range(ROUNDS_PER_TURN):
        try:
            if len(route_pending(limit=BATCH)) < BATCH:
                more = False
                break
        except Exception:
            _Connection.failed = True
            logger.exception("routing failed")
            more = False
            break
    if timers:  # after routing: work that just arrived is not kept waiting by the clocks
        try:
            timers_run()
        except Exception:
            _Connection.failed = True
            logger.exception("routing timers failed")
    return more


async def _relay(stop_event: asyncio.Event, woken: asyncio.Event) -> None:
    """Wake the loop when it is to stop."""
    await stop_event.wait()
    woken.set()


async def _listen(woken: asyncio.Event) -> None:
    """LISTEN for commits of other processes on PostgreSQL and wake the loop on each; reconnect on failure."""
    import psycopg

    while True:
        try:
            async with await psycopg.AsyncConnection.connect(**_conninfo(), autocommit=True) as listener:
                await listener.execute(f"LISTEN {CHANNEL}")
                woken.set()  # catch up with anything committed while not listening
                async for _notify in listener.notifies():
                    woken.set()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.warning("router: LISTEN %s failed, retrying in %s s", CHANNEL, LISTEN_RETRY_S, exc_info=True)
        await asyncio.sleep(LISTEN_RETRY_S)


def _conninfo() -> dict[str, Any]:
    """Return psycopg connection arguments for the default database (the test database under tests)."""
    db = settings.DATABASES["default"]
    params: dict[str, Any] = {
        "dbname": db.get("NAME") or "postgres",
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
    }
    for key, value in (db.get("OPTIONS") or {}).items():
        if isinstance(value, str | int) and key not in ("isolation_level", "server_side_binding", "pool"):
            params[key] = value
    return {key: value for key, value in params.items() if value is not None}
