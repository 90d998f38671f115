"""The console's WebSocket: routing pushes become HTML fragments that the htmx ws extension swaps in place.

One socket per open console page, at /ws/console/. It joins the group ``agent.<user id>`` (offers, withdrawals,
assignments, presence of this user, see tiski.routing.push) and, on a supervisor page (``?view=supervisor`` or
``?view=queue&queue=<id>``) of a user with routing.supervise, the group ``supervisors`` too. A push only says
that something changed; the consumer re-reads the database and sends the current state, so a lost or repeated
push costs nothing. The browser sends an activity heartbeat at most once a minute while the agent works.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import zoneinfo
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone, translation

from tiski.accounts.roles import SUPERVISE, WORK_CASES
from tiski.routing.push import SUPERVISORS, agent_group
from tiski.routing.services import agent_seen

logger = logging.getLogger(__name__)

CLOSE_FORBIDDEN = 4403  # 4000–4999: application codes; the ws extension does not reconnect after them
SUPERVISOR_MIN_INTERVAL_S = 1.0  # bursts of changes are coalesced into one refresh per second at most
SUPERVISOR_TICK_S = 10.0  # and the figures are refreshed this often anyway: waiting times grow
TZ_COOKIE = "tiski_tz"
SUPERVISOR_VIEWS = ("supervisor", "queue")


class ConsoleConsumer(AsyncWebsocketConsumer):
    user: User
    language: str
    zone: zoneinfo.ZoneInfo | None
    groups_joined: list[str]
    current_case: str  # the reference of the case the page shows, if it shows one
    supervisor_view: str | None  # "supervisor" or "queue" when this page shows the live supervisor view
    queue_id: int | None
    _last_supervisor_send: float
    _supervisor_pending: asyncio.Task[None] | None
    _ticker: asyncio.Task[None] | None

    async def connect(self) -> None:
        self.groups_joined = []
        self._supervisor_pending = None
        self._ticker = None
        self._last_supervisor_send = 0.0
        user = self.scope.get("user")
        await self.accept()
        if not isinstance(user, User) or not await database_sync_to_async(_may_work)(user):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.user = user
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        self.language = _language(query.get("lang", [""])[0])
        self.zone = _zone(self.scope.get("cookies", {}).get(TZ_COOKIE, ""))
        self.current_case = query.get("case", [""])[0][:40]
        self.supervisor_view, self.queue_id = None, None
        view = query.get("view", [""])[0]
        if view in SUPERVISOR_VIEWS and await database_sync_to_async(user.has_perm)(SUPERVISE):
            queue = query.get("queue", [""])[0]
            self.supervisor_view = view
            self.queue_id = int(queue) if view == "queue" and queue.isdigit() else None
        await self._join(agent_group(user.pk))
        if self.supervisor_view:
            await self._join(SUPERVISORS)
            self._ticker = asyncio.create_task(self._tick())
        # A page load is activity. What changed between the page's render and this connection (or while the
        # socket was down) arrives now.
        await database_sync_to_async(_seen)(user)
        await self._send_parts({"presence", "offers", "my_work"})

    async def disconnect(self, code: int) -> None:
        for task in (getattr(self, "_ticker", None), getattr(self, "_supervisor_pending", None)):
            if task is not None:
                task.cancel()
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Take the browser's activity heartbeat: the agent is at the desk (see agent_seen)."""
        if not hasattr(self, "user") or not text_data:
            return
        try:
            message = json.loads(text_data)
        except ValueError:
            return
        if isinstance(message, dict) and message.get("type") == "activity":
            await database_sync_to_async(_seen)(self.user)

    # --- pushes from tiski.routing.push --------------------------------------------------------------------

    async def routing_offer(self, event: dict[str, Any]) -> None:
        await self._send_parts({"offers"})

    async def routing_withdrawn(self, event: dict[str, Any]) -> None:
        await self._send_parts({"offers", "my_work"})

    async def routing_assigned(self, event: dict[str, Any]) -> None:
        await self._send_parts({"offers", "my_work"}, notice_item_id=event.get("item_id"))

    async def routing_presence(self, event: dict[str, Any]) -> None:
        await self._send_parts({"presence", "offers"})

    async def routing_changed(self, event: dict[str, Any]) -> None:
        """Refresh the supervisor view at once, or, within a second of the last refresh, once that second is up."""
        if not self.supervisor_view or self._supervisor_pending is not None:
            return
        delay = self._last_supervisor_send + SUPERVISOR_MIN_INTERVAL_S - time.monotonic()
        if delay <= 0:
            await self._send_supervisor()
        else:
            self._supervisor_pending = asyncio.create_task(self._send_supervisor_later(delay))

    # --- sending -------------------------------------------------------------------------------------------

    async def _join(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined.append(group)

    async def _send_parts(self, parts: set[str], notice_item_id: int | None = None) -> None:
        html = await database_sync_to_async(self._render_parts)(parts, notice_item_id)
        if html:
            await self.send(text_data=html)

    def _render_parts(self, parts: set[str], notice_item_id: int | None) -> str:
        from tiski.console.routing_views import live_html

        with self._locale():
            return live_html(user=self.user, parts=parts, notice_item_id=notice_item_id, current=self.current_case)

    async def _send_supervisor_later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._supervisor_pending = None  # a change from now on asks for the next refresh
        await self._send_supervisor_logged()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(SUPERVISOR_TICK_S)
            if time.monotonic() - self._last_supervisor_send >= SUPERVISOR_TICK_S - 0.5:
                await self._send_supervisor_logged()

    async def _send_supervisor_logged(self) -> None:
        """Refresh the supervisor view from a background task: a failure is logged, and the next one tries again
        (an exception would otherwise end the task unseen)."""
        try:
            await self._send_supervisor()
        except Exception:
            logger.exception("supervisor view refresh for user %s failed", self.user.pk)

    async def _send_supervisor(self) -> None:
        self._last_supervisor_send = time.monotonic()
        html = await database_sync_to_async(self._render_supervisor)()
        if html:
            await self.send(text_data=html)

    def _render_supervisor(self) -> str:
        from tiski.console.supervisor_views import supervisor_live_html

        assert self.supervisor_view is not None
        with self._locale():
            return supervisor_live_html(self.user, self.supervisor_view, self.queue_id)

    @contextlib.contextmanager
    def _locale(self) -> Iterator[None]:
        """Render in the page's language and the browser's time zone, as the page itself was."""
        with translation.override(self.language):
            if self.zone is None:
                yield
            else:
                with timezone.override(self.zone):
                    yield


def _may_work(user: User) -> bool:
    return user.is_active and user.has_perm(WORK_CASES)


def _seen(user: User) -> None:
    agent_seen(user)


def _language(code: str) -> str:
    """Return CODE if it is one of the site's languages, else the default language."""
    return code if code in {c for c, _name in settings.LANGUAGES} else settings.LANGUAGE_CODE


def _zone(name: str) -> zoneinfo.ZoneInfo | None:
    try:
        return zoneinfo.ZoneInfo(name) if name else None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None
