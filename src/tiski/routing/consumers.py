"""The console's WebSocket: routing pushes become HTML fragments that the htmx ws extension swaps in place.

One socket per open console page, at /ws/console/. It joins the group ``agent.<user id>`` (offers, withdrawals,
assignments, presence of this user, see tiski.routing.push) and, on a supervisor page (``?view=supervisor`` or
``?view=queue&queue=<id>``) of a user with routing.supervise, the group ``supervisors`` too. A push only says
that something changed; the consumer re-reads the database and sends the current state, so a lost or repeated
push costs nothing. The browser sends an activity heartbeat at most once a minute while the agent works.

Chat: the socket also joins ``case.<id>`` of the case the page shows (``?case=<reference>``, when the user may
see it) and of the user's own open chat cases. A ``chat.message`` push appends the message to the open case's
timeline (the case page's own partial, as an out-of-band swap) and refreshes "My chats"; ``chat.typing`` and
``chat.state`` show the customer typing and the customer's connection on the open case. The browser sends the
agent's typing (``{"type": "typing", "on": bool}``), which goes on to the customer's widget.
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
TYPING_MIN_INTERVAL_S = 1.0  # the agent's "typing" reaches the customer at most this often (pages: every 2 s)


def case_group(case_id: int) -> str:
    return f"case.{case_id}"


class ConsoleConsumer(AsyncWebsocketConsumer):
    user: User
    language: str
    zone: zoneinfo.ZoneInfo | None
    groups_joined: list[str]
    current_case: str  # the reference of the case the page shows, if it shows one
    current_case_id: int | None  # its id, when the user may see it
    current_is_chat: bool
    chat_groups: set[str]  # case.<id> groups joined for "My chats"
    _typing_sent: float
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
        self.current_case_id, self.current_is_chat, self.chat_groups, self._typing_sent = None, False, set(), 0.0
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
        if self.current_case:
            found = await database_sync_to_async(_case_for)(user, self.current_case)
            if found is not None:
                self.current_case_id, self.current_is_chat = found
                await self._join(case_group(self.current_case_id))
        await self._sync_chat_groups()
        if self.supervisor_view:
            await self._join(SUPERVISORS)
            self._ticker = asyncio.create_task(self._tick())
        # A page load is activity. What changed between the page's render and this connection (or while the
        # socket was down) arrives now.
        await database_sync_to_async(_seen)(user)
        await self._send_parts({"presence", "offers", "my_work", "my_chats"})

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
        if not isinstance(message, dict):
            return
        if message.get("type") == "activity":
            await database_sync_to_async(_seen)(self.user)
        elif message.get("type") == "typing":
            await self._agent_typing(bool(message.get("on")))

    # --- pushes from tiski.routing.push --------------------------------------------------------------------

    async def routing_offer(self, event: dict[str, Any]) -> None:
        await self._send_parts({"offers"})

    async def routing_withdrawn(self, event: dict[str, Any]) -> None:
        await self._sync_chat_groups()
        await self._send_parts({"offers", "my_work", "my_chats"})

    async def routing_assigned(self, event: dict[str, Any]) -> None:
        await self._sync_chat_groups()
        await self._send_parts({"offers", "my_work", "my_chats"}, notice_item_id=event.get("item_id"))

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

    async def call_changed(self, event: dict[str, Any]) -> None:
        """A call connected to this agent rang, was answered or ended: redraw the screen-pop."""
        html = await database_sync_to_async(self._render_screen_pop)()
        await self.send(text_data=html)

    def _render_screen_pop(self) -> str:
        from tiski.console.call_views import screen_pop_html

        with self._locale():
            return screen_pop_html(request=None, user=self.user, oob=True)

    # --- chat pushes (tiski.channels.chat), to group case.<id> ------------------------------------------------

    async def chat_message(self, event: dict[str, Any]) -> None:
        """Append the new message to the open case's timeline; refresh "My chats" (its unanswered counts)."""
        case_id, message_id = event.get("case_id"), event.get("message_id")
        if not isinstance(case_id, int) or not isinstance(message_id, int):
            return
        html = await database_sync_to_async(self._render_chat_message)(case_id, message_id)
        if html:
            await self.send(text_data=html)

    async def chat_typing(self, event: dict[str, Any]) -> None:
        """Show or hide "customer is typing…" on the open case."""
        if event.get("who") != "customer" or event.get("case_id") != self.current_case_id:
            return
        html = await database_sync_to_async(self._render_chat_part)(
            "console/_chat_typing.html", on=bool(event.get("on"))
        )
        if html:
            await self.send(text_data=html)

    async def chat_state(self, event: dict[str, Any]) -> None:
        """Show whether the customer is in the chat of the open case."""
        state = event.get("state")
        if event.get("case_id") != self.current_case_id or state not in ("connected", "disconnected", "ended"):
            return
        html = await database_sync_to_async(self._render_chat_part)("console/_chat_state.html", state=state)
        if html:
            await self.send(text_data=html)

    async def _agent_typing(self, on: bool) -> None:
        """Tell the customer of the open chat case that the agent types (at most once a second) or stopped."""
        if self.current_case_id is None or not self.current_is_chat:
            return
        now = time.monotonic()
        if on and now - self._typing_sent < TYPING_MIN_INTERVAL_S:
            return
        self._typing_sent = now if on else 0.0
        await database_sync_to_async(_typing_forward)(self.current_case_id, self.user, on)

    async def _sync_chat_groups(self) -> None:
        """Join the groups of the user's open chat cases, leave those of chats no longer theirs."""
        wanted = {case_group(pk) for pk in await database_sync_to_async(_my_chat_ids)(self.user)}
        current = case_group(self.current_case_id) if self.current_case_id is not None else None
        for group in wanted - self.chat_groups:
            if group != current:
                await self._join(group)
        for group in self.chat_groups - wanted:
            if group != current:
                await self.channel_layer.group_discard(group, self.channel_name)
                self.groups_joined.remove(group)
        self.chat_groups = wanted

    def _render_chat_message(self, case_id: int, message_id: int) -> str:
        from tiski.console.chat_live import chat_message_html, my_chats_html

        if not _case_visible(self.user, case_id):  # handed out of a partner's scope since the socket joined
            return ""
        with self._locale():
            html = my_chats_html(user=self.user, current=self.current_case)
            if case_id == self.current_case_id:
                html = chat_message_html(case_id=case_id, message_id=message_id) + html
            return html

    def _render_chat_part(self, template: str, **context: Any) -> str:
        from tiski.console.chat_live import chat_part_html

        assert self.current_case_id is not None
        if not _case_visible(self.user, self.current_case_id):
            return ""
        with self._locale():
            return chat_part_html(template=template, case_id=self.current_case_id, **context)

    # --- sending -------------------------------------------------------------------------------------------

    async def _join(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined.append(group)

    async def _send_parts(self, parts: set[str], notice_item_id: int | None = None) -> None:
        html = await database_sync_to_async(self._render_parts)(parts, notice_item_id)
        if html:
            await self.send(text_data=html)

    def _render_parts(self, parts: set[str], notice_item_id: int | None) -> str:
        from tiski.console.chat_live import my_chats_html
        from tiski.console.routing_views import live_html

        with self._locale():
            html = live_html(user=self.user, parts=parts, notice_item_id=notice_item_id, current=self.current_case)
            if "my_chats" in parts:
                html += my_chats_html(user=self.user, current=self.current_case)
            return html

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


def _case_visible(user: User, case_id: int) -> bool:
    """Return whether USER may still see case CASE_ID (a partner's agent may lose it when it is handed on)."""
    from tiski.accounts.scope import case_scope, user_partner
    from tiski.cases.models import Case

    if user_partner(user) is None:
        return True
    return Case.objects.filter(case_scope(user), pk=case_id).exists()


def _seen(user: User) -> None:
    agent_seen(user)


def _case_for(user: User, reference: str) -> tuple[int, bool] | None:
    """Return (id, whether the agent writes to a chat) of the case REFERENCE if USER may see it, else None."""
    from tiski.cases.exceptions import CaseError
    from tiski.cases.selectors import case_get_for_agent

    try:
        case = case_get_for_agent(user=user, reference=reference)
    except CaseError:
        return None
    from tiski.console.selectors import reply_channel_for

    channel = reply_channel_for(case=case)  # an escalated chat still answers in the chat
    return case.pk, channel is not None and channel.kind == "chat"


def _my_chat_ids(user: User) -> list[int]:
    from tiski.console.selectors import my_chat_case_ids

    return my_chat_case_ids(user=user)


def _typing_forward(case_id: int, agent: User, on: bool) -> None:
    from tiski.channels.chat.services import chat_agent_typing

    chat_agent_typing(case_id=case_id, agent=agent, on=on)


def _language(code: str) -> str:
    """Return CODE if it is one of the site's languages, else the default language."""
    return code if code in {c for c, _name in settings.LANGUAGES} else settings.LANGUAGE_CODE


def _zone(name: str) -> zoneinfo.ZoneInfo | None:
    try:
        return zoneinfo.ZoneInfo(name) if name else None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None
