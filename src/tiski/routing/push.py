"""Live pushes of routing changes to open consoles, over the channel layer, after the change committed.

Group ``agent.<user_id>`` gets an agent's offers, withdrawals, assignments and presence changes; group
``supervisors`` hears that something changed. A push is a hint to re-read: a lost push (no layer, Redis down)
costs freshness, never data, so no function here raises into its caller.

Works from plain threads (another process's services, with the Redis layer), from threads that
``sync_to_async`` started (the embedded router and sync views under ASGI: the message is sent on the server's
event loop, where the in-memory layer's consumers live) and from code running on an event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

SUPERVISORS = "supervisors"

Push = tuple[str, dict[str, Any]]  # (group, message)


def agent_group(user_id: int) -> str:
    return f"agent.{user_id}"


def offer(user_id: int, item_id: int) -> Push:
    return agent_group(user_id), {"type": "routing.offer", "item_id": item_id}


def withdrawn(user_id: int, item_id: int) -> Push:
    return agent_group(user_id), {"type": "routing.withdrawn", "item_id": item_id}


def assigned(user_id: int, item_id: int) -> Push:
    return agent_group(user_id), {"type": "routing.assigned", "item_id": item_id}


def presence(user_id: int) -> Push:
    return agent_group(user_id), {"type": "routing.presence"}


def changed() -> Push:
    return SUPERVISORS, {"type": "routing.changed"}


async def send_async(pushes: Iterable[Push]) -> None:
    """Send PUSHES on the running event loop; log and drop failures."""
    layer = get_channel_layer()
    if layer is None:
        return
    for group, message in dict.fromkeys((group, _frozen(message)) for group, message in pushes):
        try:
            await layer.group_send(group, dict(message))
        except Exception:
            logger.warning("routing push to %s failed", group, exc_info=True)


def send(pushes: Iterable[Push]) -> None:
    """Send PUSHES now, in one trip to the layer (duplicates once); never raise."""
    pushes = list(pushes)
    layer = get_channel_layer()
    if isinstance(layer, InMemoryChannelLayer):
        # The in-memory layer reaches this process only: a group nobody here listens to (an SMTP receiver's
        # or worker's pushes) is skipped without starting an event loop for nothing.
        pushes = [(group, message) for group, message in pushes if layer.groups.get(group)]
    if not pushes:
        return
    try:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:  # called on an event loop: async_to_sync would refuse
            task = loop.create_task(send_async(pushes))
            _pending.add(task)
            task.add_done_callback(_pending.discard)
        else:
            async_to_sync(send_async)(pushes)
    except Exception:
        logger.warning("routing pushes failed", exc_info=True)


def send_on_commit(pushes: Iterable[Push]) -> None:
    """Send PUSHES when the current transaction commits (at once outside a transaction); drop them on rollback."""
    pushes = list(pushes)
    if pushes:
        transaction.on_commit(lambda: send(pushes))


_pending: set[asyncio.Task[None]] = set()  # keeps tasks started from event-loop code alive until they finish


def _frozen(message: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(message.items()))


def push_offer(user_id: int, item_id: int) -> None:
    send([offer(user_id, item_id), changed()])


def push_withdrawn(user_id: int, item_id: int) -> None:
    send([withdrawn(user_id, item_id), changed()])


def push_assigned(user_id: int, item_id: int) -> None:
    send([assigned(user_id, item_id), changed()])


def push_presence(user_id: int) -> None:
    send([presence(user_id), changed()])


def push_changed() -> None:
    send([changed()])
