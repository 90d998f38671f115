"""Reads of the chat channel: sessions by token, the transcript as the widget shows it, queue place and wait,
and whether anyone is online to answer."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from tiski.cases.models import Case, Message
from tiski.channels.chat.models import ChatSession
from tiski.channels.models import Channel, ChannelKind
from tiski.routing.models import AgentState, Presence, Queue, WorkItem
from tiski.routing.router import ROUTING_ORDER

HISTORY_LIMIT = 200  # messages sent to a resuming widget
POSITION_SCAN_LIMIT = 1000  # a queue longer than this shows "1000+" places ahead, which is plenty
RECENT_WAITS = 30  # the expected wait is the mean of this many latest waits in the queue …
RECENT_WINDOW = timedelta(hours=2)  # … taken within this long


def token_hash(token: str) -> str:
    """Return the stored digest of a session's public TOKEN."""
    return hashlib.sha256(token.encode()).hexdigest()


def chat_session_by_token(*, channel_id: int, token: str) -> ChatSession | None:
    """Return the session of CHANNEL_ID whose public token is TOKEN, or None."""
    if not token or len(token) > 200:
        return None
    return (
        ChatSession.objects.select_related("channel", "case", "customer")
        .filter(channel_id=channel_id, token_hash=token_hash(token))
        .first()
    )


def chat_session_for_case(*, case: Case) -> ChatSession | None:
    """Return the latest chat session on CASE, or None when the case did not come from a chat."""
    return ChatSession.objects.filter(case_id=case.pk).order_by("-created_at", "-pk").first()


LIVE_WITHIN = timedelta(seconds=90)  # an open socket marks its session seen every 30 s; a dead server's do not


def chat_is_live(*, case: Case) -> bool:
    """Return whether the customer of CASE's chat has a socket open and has not ended the chat."""
    sessions = ChatSession.objects.filter(
        case_id=case.pk, connections__gt=0, last_seen_at__gte=timezone.now() - LIVE_WITHIN
    )
    return sessions.exclude(status=ChatSession.Status.ENDED).exists()


def chat_message_out(message: Message, *, client_id: str = "") -> dict[str, Any]:
    """Return MESSAGE as the widget's ``message`` frame."""
    if message.author == Message.Author.CUSTOMER:
        author = "customer"
    elif message.author == Message.Author.AGENT:
        author = "agent"
    else:
        author = "system"
    if not client_id and message.external_id and message.direction == Message.Direction.IN:
        client_id = message.external_id.partition(":")[2]
    name = message.sender_name
    if author == "agent" and message.author_user is not None:
        name = message.author_user.first_name or name
    return {
        "type": "message",
        "id": f"m{message.pk}",
        "client_id": client_id,
        "author": author,
        "name": name,
        "text": message.body_text,
        "at": message.created_at.isoformat(),
        "attachments": [
            {
                "name": attachment.filename,
                "size": attachment.size,
                "url": reverse("chat:attachment", args=[message.channel_id, attachment.pk]),
            }
            for attachment in message.attachments.all()
        ],
    }


def chat_history(*, session: ChatSession) -> list[dict[str, Any]]:
    """Return the chat's transcript for the widget, oldest first: the messages of its case on its channel."""
    if session.case_id is None:
        return []
    messages = (
        Message.objects.filter(case_id=session.case_id, channel_id=session.channel_id)
        .select_related("author_user")
        .prefetch_related("attachments")
        .order_by("-created_at", "-pk")[:HISTORY_LIMIT]
    )
    return [chat_message_out(message) for message in reversed(list(messages))]


def chat_transcript_lines(*, case: Case, channel_id: int | None = None) -> list[Message]:
    """Return the messages of CASE's chat for a transcript, oldest first."""
    messages = Message.objects.filter(case_id=case.pk).select_related("author_user").order_by("created_at", "pk")
    if channel_id is not None:
        messages = messages.filter(channel_id=channel_id)
    return list(messages)


def chat_queue(*, channel: Channel) -> Queue | None:
    """Return the queue the channel's settings name for its chats, or None (routing rules decide)."""
    queue_id = (channel.config or {}).get("queue_id")
    if not isinstance(queue_id, int):
        return None
    return Queue.objects.filter(pk=queue_id, active=True).first()


def chat_agents_online(*, channel: Channel) -> bool:
    """Return whether an agent is online who serves chats (and the channel's queue, when it names one)."""
    states = AgentState.objects.filter(presence=Presence.ONLINE)
    queue = chat_queue(channel=channel)
    states = states.filter(queues=queue) if queue is not None else states.filter(queues__active=True)
    # channel_kinds is a short JSON list (empty: every channel); filtered here, the same on SQLite and PostgreSQL.
    return any(not kinds or ChannelKind.CHAT in kinds for kinds in states.values_list("channel_kinds", flat=True))


def chat_response_target_minutes(*, channel: Channel, queue: Queue | None = None) -> int:
    """Return within how many minutes a chat is to be answered: the queue's target, else the channel kind's."""
    queue = queue or chat_queue(channel=channel)
    if queue is not None and queue.response_target:
        return int(queue.response_target)
    return int(settings.TISKI_RESPONSE_TARGETS.get(ChannelKind.CHAT, 2))


@dataclass(frozen=True)
class QueuePlace:
    """Where a waiting chat stands: 1 is next; the expected wait in seconds."""

    position: int
    expected_wait_s: int


def chat_queue_place(*, case_id: int) -> QueuePlace | None:
    """Return the place of CASE_ID's waiting work item in its queue (routing order) and the expected wait, or
    None when no item of the case waits (an agent holds it, or there is no work)."""
    return chat_queue_places(case_ids=[case_id]).get(case_id)


def chat_queue_places(*, case_ids: Collection[int]) -> dict[int, QueuePlace]:
    """Return the queue place of each of CASE_IDS whose work waits (see chat_queue_place), by case id.

    One query finds the waiting items; then two per queue that has any (its queued items in routing order,
    and its recent waits), whatever the number of cases: every chat socket of a process is refreshed at once.
    """
    if not case_ids:
        return {}
    items = list(
        WorkItem.objects.filter(
            case_id__in=list(case_ids), status__in=(WorkItem.Status.QUEUED, WorkItem.Status.OFFERED)
        ).select_related("queue")
    )
    now = timezone.now()
    by_queue: dict[int, list[WorkItem]] = defaultdict(list)
    for item in items:
        by_queue[item.queue_id].append(item)
    places: dict[int, QueuePlace] = {}
    for queue_id, waiting in by_queue.items():
        order: dict[int, int] = {}
        if any(item.status == WorkItem.Status.QUEUED for item in waiting):
            ids = (
                WorkItem.objects.filter(queue_id=queue_id, status=WorkItem.Status.QUEUED)
                .order_by(*ROUTING_ORDER)
                .values_list("pk", flat=True)[:POSITION_SCAN_LIMIT]
            )
            order = {pk: n for n, pk in enumerate(ids, start=1)}
        per_place, measured = _per_place(waiting[0].queue, now)
        for item in waiting:
            position = 1 if item.status == WorkItem.Status.OFFERED else order.get(item.pk, len(order) + 1)
            waited = (now - item.enqueued_at).total_seconds()
            expected = max(per_place * position - waited, 0.0) if measured else max(per_place - waited, 0.0)
            places[item.case_id] = QueuePlace(position=position, expected_wait_s=round(expected))
    return places


def _per_place(queue: Queue, now: datetime) -> tuple[float, bool]:
    """Return the seconds one place in QUEUE takes (the mean of its recent waits, else its response target),
    and whether it was measured."""
    recent = (
        WorkItem.objects.filter(queue_id=queue.pk, assigned_at__gte=now - RECENT_WINDOW)
        .order_by("-assigned_at")
        .values_list("enqueued_at", "assigned_at")[:RECENT_WAITS]
    )
    waits = [(assigned - enqueued).total_seconds() for enqueued, assigned in recent if assigned is not None]
    if waits:
        return max(sum(waits) / len(waits), 0.0), True
    minutes = queue.response_target or settings.TISKI_RESPONSE_TARGETS.get(ChannelKind.CHAT, 2)
    return minutes * 60.0, False
