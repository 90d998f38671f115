"""The console's WebSocket: who may connect, what routing pushes become (HTML swapped in by htmx), the supervisor
view's coalesced refreshes, and the activity heartbeat.

Each test drives tiski.asgi.application with a session cookie, as a browser does; the database work of the
consumer runs in the test's thread (async_to_sync), on committed data (transactional tests).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.contrib.auth.models import User
from django.db import connections
from django.test import Client
from django.utils import timezone

from tiski.asgi import application
from tiski.console.supervisor_views import supervisor_live_html
from tiski.routing import consumers, push, services
from tiski.routing.models import AgentState, Presence, Queue, WorkItem
from tiski.routing.router import route_pending
from tiski.routing.services import presence_set

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _layer_flushed() -> Iterator[None]:
    yield
    layer = get_channel_layer()
    if layer is not None:
        run(layer.flush)  # type: ignore[attr-defined]


class WebsocketCommunicator(ApplicationCommunicator):
    """A browser's WebSocket against an ASGI application (channels.testing's own needs daphne, not installed)."""

    def __init__(self, path: str, query: str, headers: list[tuple[bytes, bytes]]) -> None:
        self.scope = {
            "type": "websocket",
            "path": path,
            "query_string": query.lstrip("?").encode(),
            "headers": headers,
            "subprotocols": [],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        super().__init__(application, self.scope)

    async def connect(self, timeout: float = 3) -> tuple[bool, Any]:
        """Open the socket; return (True, subprotocol) if accepted, (False, close code) if refused."""
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(timeout)
        if response["type"] == "websocket.close":
            return False, response.get("code", 1000)
        assert response["type"] == "websocket.accept"
        return True, response.get("subprotocol")

    async def send_to(self, text_data: str) -> None:
        await self.send_input({"type": "websocket.receive", "text": text_data})

    async def send_json_to(self, data: Any) -> None:
        await self.send_to(json.dumps(data))

    async def receive_from(self, timeout: float = 1) -> str:
        """Return the next text frame the application sends (fail if it sends anything else)."""
        response = await self.receive_output(timeout)
        assert response["type"] == "websocket.send" and "text" in response, response
        return str(response["text"])

    async def disconnect(self, code: int = 1000, timeout: float = 1) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(timeout)


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    """Run SCENARIO on an event loop; its database_sync_to_async calls come back to the calling thread.

    A browser test earlier in the session leaves Playwright's event loop running in this thread, where
    async_to_sync refuses to run: then the scenario runs from a thread of its own (with its own connection).
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        async_to_sync(scenario)()
        return

    def in_thread() -> None:
        try:
            async_to_sync(scenario)()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(in_thread).result()


def login(user: User | None) -> list[tuple[bytes, bytes]]:
    """Return the headers of a browser on this site, logged in as USER (None: anonymous)."""
    headers = [(b"origin", b"http://localhost:8000"), (b"host", b"localhost:8000")]  # in ALLOWED_HOSTS
    if user is not None:
        client = Client()
        client.force_login(user)
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    return headers


def socket(headers: list[tuple[bytes, bytes]], query: str = "") -> WebsocketCommunicator:
    """Return a socket to the console (create it on the scenario's event loop)."""
    return WebsocketCommunicator("/ws/console/", query, headers)


async def frames(communicator: WebsocketCommunicator, seconds: float = 1.0) -> list[str]:
    """Return the text frames that arrive within the next SECONDS (without timing out: the communicator
    cancels the application when a receive times out)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    received = []
    while loop.time() < deadline:
        if communicator.output_queue.empty():
            await asyncio.sleep(0.02)
        else:
            received.append(await communicator.receive_from())
    return received


def swapped_ids(html: str) -> set[str]:
    """Return the ids of the out-of-band elements in HTML."""
    return set(re.findall(r'id="([^"]+)"[^>]*hx-swap-oob=', html))


def oob(frame: str, element_id: str) -> str | None:
    """Return the out-of-band element ELEMENT_ID in FRAME (its whole outer HTML up to the next one), or None."""
    match = re.search(
        rf'<div id="{element_id}"[^>]*hx-swap-oob="[^"]+"[^>]*>.*?(?=<div id="[a-z-]+"[^>]*hx-swap-oob|$)', frame, re.S
    )
    return match.group(0) if match else None


@pytest.fixture
def incidents(make_queue: Callable[..., Queue]) -> Queue:
    return make_queue("Incidents", priority=9)


@pytest.fixture
def maija(agent: User, online_agent: Callable[..., User], incidents: Queue) -> User:
    return online_agent(agent, queues=[incidents])


def _offer(make_item: Callable[..., WorkItem], queue: Queue) -> WorkItem:
    item = make_item(queue)
    route_pending()
    item.refresh_from_db()
    return item


# --- who may connect ------------------------------------------------------------------------------------------


def test_anonymous_users_are_refused_with_4403() -> None:
    browser = login(None)

    async def scenario() -> None:
        communicator = socket(browser)
        connected, _protocol = await communicator.connect()
        assert connected
        assert await communicator.receive_output(timeout=10) == {"type": "websocket.close", "code": 4403}

    run(scenario)


def test_users_who_do_not_work_cases_are_refused_with_4403(db: Any) -> None:
    browser = login(User.objects.create_user("kirjanpito"))

    async def scenario() -> None:
        communicator = socket(browser)
        await communicator.connect()
        assert await communicator.receive_output(timeout=10) == {"type": "websocket.close", "code": 4403}

    run(scenario)


def test_a_socket_from_another_site_is_refused(maija: User) -> None:
    browser = [(name, b"http://evil.example" if name == b"origin" else value) for name, value in login(maija)]

    async def scenario() -> None:
        connected, _code = await socket(browser).connect()
        assert not connected

    run(scenario)


# --- what an agent receives -----------------------------------------------------------------------------------


def test_on_connect_the_agent_gets_the_current_presence_offers_and_work(
    maija: User, make_item: Callable[..., WorkItem], incidents: Queue
) -> None:
    item = _offer(make_item, incidents)

    browser = login(maija)

    async def scenario() -> None:
        communicator = socket(browser)
        connected, _protocol = await communicator.connect()
        assert connected
        first = await communicator.receive_from(timeout=10)
        presence = oob(first, "presence")
        assert presence is not None and 'class="presence__label">Online<' in presence
        offers = oob(first, "offers")
        assert offers is not None and f'id="offer-{item.pk}"' in offers
        assert oob(first, "my-work") is not None
        await communicator.disconnect()

    run(scenario)


def test_an_offer_is_pushed_to_its_agent_as_a_card_and_not_to_others(
    maija: User, other_agent: User, make_item: Callable[..., WorkItem], incidents: Queue
) -> None:
    mine_login, theirs_login = login(maija), login(other_agent)

    async def scenario() -> None:
        mine, theirs = socket(mine_login), socket(theirs_login)
        for communicator in (mine, theirs):
            await communicator.connect()
            await communicator.receive_from(timeout=10)  # the state on connect
        item = await database_sync_to_async(_offer)(make_item, incidents)
        assert item.agent_id == maija.pk
        frame = await mine.receive_from(timeout=10)
        offers = oob(frame, "offers")
        assert offers is not None and f'id="offer-{item.pk}"' in offers
        subject, customer = await database_sync_to_async(lambda: (item.case.subject, item.case.customer.name))()
        assert subject in offers and customer in offers
        assert "Accept" in offers and "Decline" in offers and "data-countdown" in offers
        assert f"/console/offers/{item.pk}/accept/" in offers
        assert await theirs.receive_nothing(timeout=0.5)
        await mine.disconnect()
        await theirs.disconnect()

    run(scenario)


def test_an_offer_withdrawn_when_the_agent_steps_away_disappears(
    maija: User, make_item: Callable[..., WorkItem], incidents: Queue
) -> None:
    item = _offer(make_item, incidents)

    browser = login(maija)

    async def scenario() -> None:
        communicator = socket(browser)
        await communicator.connect()
        await communicator.receive_from(timeout=10)
        await database_sync_to_async(presence_set)(user=maija, presence=Presence.AWAY)
        received = await frames(communicator)
        last_offers = [o for o in (oob(f, "offers") for f in received) if o is not None][-1]
        assert f'id="offer-{item.pk}"' not in last_offers
        last_presence = [p for p in (oob(f, "presence") for f in received) if p is not None][-1]
        assert 'class="presence__label">Away<' in last_presence
        await communicator.disconnect()

    run(scenario)


def test_work_assigned_without_asking_arrives_as_a_notice_with_a_link(
    maija: User, make_item: Callable[..., WorkItem], make_queue: Callable[..., Queue]
) -> None:
    direct = make_queue("Callbacks", auto_accept=True)
    AgentState.objects.get(user=maija).queues.add(direct)

    browser = login(maija)

    async def scenario() -> None:
        communicator = socket(browser)
        await communicator.connect()
        await communicator.receive_from(timeout=10)
        item = await database_sync_to_async(_offer)(make_item, direct)
        assert item.status == WorkItem.Status.ASSIGNED
        frame = await communicator.receive_from(timeout=10)
        reference = await database_sync_to_async(lambda: item.case.reference)()
        assert 'id="work-notices" hx-swap-oob="beforeend"' in frame
        assert "Assigned to you:" in frame and f'href="/console/cases/{reference}/"' in frame
        my_work = oob(frame, "my-work")
        assert my_work is not None and reference in my_work
        await communicator.disconnect()

    run(scenario)


def test_the_activity_heartbeat_marks_the_agent_as_seen(maija: User) -> None:
    long_ago = timezone.now() - timedelta(hours=1)

    browser = login(maija)

    async def scenario() -> None:
        communicator = socket(browser)
        await communicator.connect()
        await communicator.receive_from(timeout=10)

        def forget() -> None:
            AgentState.objects.filter(user=maija).update(last_seen_at=long_ago)
            services._seen_cache.clear()

        await database_sync_to_async(forget)()
        await communicator.send_json_to({"type": "activity"})
        await communicator.send_to(text_data="not json")  # ignored
        for _ in range(50):
            seen = await database_sync_to_async(lambda: AgentState.objects.get(user=maija).last_seen_at)()
            if seen is not None and seen > long_ago:
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the heartbeat did not reach agent_seen")
        await communicator.disconnect()

    run(scenario)


# --- the supervisor view --------------------------------------------------------------------------------------


def test_supervisors_get_the_live_view_at_most_once_a_second(team_lead: User, monkeypatch: Any) -> None:
    monkeypatch.setattr(consumers, "SUPERVISOR_TICK_S", 60.0)

    browser = login(team_lead)

    async def scenario() -> None:
        communicator = socket(browser, "?view=supervisor")
        await communicator.connect()
        await communicator.receive_from(timeout=10)  # the lead's own console state
        for _ in range(5):
            await push.send_async([push.changed()])
        first = await communicator.receive_from(timeout=2)
        assert "hx-swap-oob" in first
        burst = await frames(communicator, seconds=1.5)
        assert len(burst) <= 1  # the other four changes: one refresh a second later, at most
        await communicator.disconnect()

    run(scenario)


def test_the_supervisor_view_refreshes_by_itself_as_waiting_times_grow(team_lead: User, monkeypatch: Any) -> None:
    monkeypatch.setattr(consumers, "SUPERVISOR_TICK_S", 0.5)

    browser = login(team_lead)

    async def scenario() -> None:
        communicator = socket(browser, "?view=supervisor")
        await communicator.connect()
        await communicator.receive_from(timeout=10)
        ticks = await frames(communicator, seconds=1.3)
        assert len(ticks) >= 2 and all("hx-swap-oob" in t for t in ticks)
        await communicator.disconnect()

    run(scenario)


def test_an_agent_asking_for_the_supervisor_view_gets_only_their_own_console(maija: User, monkeypatch: Any) -> None:
    monkeypatch.setattr(consumers, "SUPERVISOR_TICK_S", 0.3)

    browser = login(maija)

    async def scenario() -> None:
        communicator = socket(browser, "?view=supervisor")
        await communicator.connect()
        await communicator.receive_from(timeout=10)
        await push.send_async([push.changed()])
        assert await communicator.receive_nothing(timeout=1.0)
        await communicator.disconnect()

    run(scenario)


def test_a_queue_page_gets_that_queues_live_figures(team_lead: User, incidents: Queue, monkeypatch: Any) -> None:
    monkeypatch.setattr(consumers, "SUPERVISOR_TICK_S", 60.0)

    browser = login(team_lead)

    async def scenario() -> None:
        communicator = socket(browser, f"?view=queue&queue={incidents.pk}")
        await communicator.connect()
        await communicator.receive_from(timeout=10)
        await push.send_async([push.changed()])
        frame = await communicator.receive_from(timeout=10)
        expected = await database_sync_to_async(supervisor_live_html)(team_lead, "queue", incidents.pk)
        assert (
            swapped_ids(frame)
            == swapped_ids(expected)
            != swapped_ids(await database_sync_to_async(supervisor_live_html)(team_lead, "supervisor"))
        )
        await communicator.disconnect()

    run(scenario)
