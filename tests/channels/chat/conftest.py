"""Chat fixtures: a chat channel (allowed on the shop's origin), a mailbox for left messages, an online agent,
and a browser's WebSocket to the real ASGI application."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.contrib.auth.models import User
from django.db import connections

from tests.e2e.conftest import CHROMIUM_ARGS
from tiski.channels.models import Channel, ChannelKind
from tiski.routing.models import Queue
from tiski.routing.services import agent_state, presence_set

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop runs in the test's thread

SHOP = "https://shop.example"
SECRET_ENV = "TISKI_TEST_CHAT_SHOP_SECRET"
SECRET = "shop-secret-for-tests"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture
def chat_channel(db: None, monkeypatch: pytest.MonkeyPatch) -> Channel:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    return Channel.objects.create(
        kind=ChannelKind.CHAT,
        name="Shop chat",
        config={"allowed_origins": [SHOP], "secrets": {"identity_secret": SECRET_ENV}},
    )


@pytest.fixture
def mailbox(db: None) -> Channel:
    return Channel.objects.create(kind=ChannelKind.EMAIL, name="Support mailbox", address="support@shop.example")


@pytest.fixture
def chat_queue(db: None) -> Queue:
    return Queue.objects.create(name="Chat", response_target=3, offer_timeout=300)


@pytest.fixture
def online(agent: User, chat_queue: Queue) -> User:
    """Maija, online, serving the chat queue."""
    state = agent_state(agent)
    state.queues.add(chat_queue)
    presence_set(user=agent, presence="online")
    return agent


@pytest.fixture
def chat_always_open(db: None) -> None:
    """The chats' service level counts round the clock: a new chat is told "within 2 minutes" at any hour (the
    default calendar is closed at night and at weekends; tests/sla/test_autoreplies.py covers that)."""
    from tiski.sla.models import SlaPolicy
    from tiski.sla.services import policies_forget

    SlaPolicy.objects.update(calendar=None)
    policies_forget()


@pytest.fixture(autouse=True)
def _layer_flushed() -> Iterator[None]:
    yield
    layer = get_channel_layer()
    if isinstance(layer, InMemoryChannelLayer):  # the browser tests' Redis layer is cleaned by live_asgi
        run(layer.flush)


class Socket(ApplicationCommunicator):
    """A browser's WebSocket to tiski.asgi.application (channels.testing's needs daphne, not installed)."""

    def __init__(self, path: str, origin: str = SHOP) -> None:
        from tiski.asgi import application

        headers = [(b"host", b"tiski.example:8000")]
        if origin:
            headers.append((b"origin", origin.encode()))
        scope = {
            "type": "websocket",
            "path": path,
            "query_string": b"",
            "headers": headers,
            "subprotocols": [],
            "client": ("127.0.0.1", 50000),
            "server": ("tiski.example", 8000),
        }
        super().__init__(application, scope)

    async def connect(self, timeout: float = 5) -> bool:
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(timeout)
        return bool(response["type"] == "websocket.accept")

    async def send_json(self, data: dict[str, Any]) -> None:
        await self.send_input({"type": "websocket.receive", "text": json.dumps(data)})

    async def receive_json(self, timeout: float = 5) -> dict[str, Any]:
        response = await self.receive_output(timeout)
        assert response["type"] == "websocket.send", response
        frame: dict[str, Any] = json.loads(response["text"])
        return frame

    async def expect(self, kind: str, timeout: float = 5) -> dict[str, Any]:
        """Return the next frame of type KIND, skipping others (queue places, presence)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self.receive_json(max(deadline - loop.time(), 0.01))
            if frame["type"] == kind:
                return frame

    async def frames(self, seconds: float = 0.5) -> list[dict[str, Any]]:
        """Return the frames that arrive within SECONDS (without timing out the application)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        received = []
        while loop.time() < deadline:
            if self.output_queue.empty():
                await asyncio.sleep(0.02)
            else:
                received.append(await self.receive_json())
        return received

    async def close(self) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": 1000})
        await self.wait(2)


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    """Run SCENARIO on an event loop; database work of the consumer comes back to the calling thread.

    With Playwright's loop running in this thread (after a browser test), the scenario runs in a thread of its own.
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
