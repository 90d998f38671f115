"""What the widget shows while waiting: the place in the queue (routing order), the expected wait (recent waits,
else the response target), and whether anyone is online to answer a chat."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from tiski.cases.models import Case
from tiski.channels.chat.selectors import chat_agents_online, chat_queue_place, chat_queue_places
from tiski.channels.models import Channel
from tiski.customers.models import Customer
from tiski.routing.models import Queue, WorkItem
from tiski.routing.services import agent_state, presence_set


def _item(queue: Queue, *, minutes_ago: int, priority: int = 2, status: str = "queued") -> WorkItem:
    case = Case.objects.create(subject="Chat", customer=Customer.objects.create(name="C"))
    return WorkItem.objects.create(
        case=case,
        queue=queue,
        queue_priority=queue.priority,
        priority=priority,
        channel_kind="chat",
        units=33,
        status=status,
        enqueued_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


def test_the_place_follows_routing_order_and_the_wait_the_response_target(chat_queue: Queue) -> None:
    older = _item(chat_queue, minutes_ago=2)
    newer = _item(chat_queue, minutes_ago=1)
    urgent = _item(chat_queue, minutes_ago=0, priority=4)  # a higher priority goes first whatever its age
    assert chat_queue_place(case_id=urgent.case_id).position == 1  # type: ignore[union-attr]
    assert chat_queue_place(case_id=older.case_id).position == 2  # type: ignore[union-attr]
    place = chat_queue_place(case_id=newer.case_id)
    assert place is not None and place.position == 3
    # no recent waits: the queue's 3-minute target, less the minute waited so far
    assert 115 <= place.expected_wait_s <= 120


def test_every_waiting_case_of_a_process_is_placed_at_once_in_a_fixed_number_of_queries(
    chat_queue: Queue,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    other = Queue.objects.create(name="Chat, English", priority=5)
    items = [_item(chat_queue, minutes_ago=n) for n in range(30, 0, -1)] + [_item(other, minutes_ago=1)]
    taken = _item(chat_queue, minutes_ago=40, status="assigned")
    with django_assert_max_num_queries(5):  # the waiting items; per queue: its order and its recent waits
        places = chat_queue_places(case_ids=[item.case_id for item in items] + [taken.case_id])
    assert taken.case_id not in places
    assert [places[item.case_id].position for item in items[:30]] == list(range(1, 31))
    assert places[items[-1].case_id].position == 1
    assert {case_id: chat_queue_place(case_id=case_id) for case_id in places} == places


def test_the_expected_wait_comes_from_recent_waits_and_taken_work_has_no_place(chat_queue: Queue) -> None:
    now = timezone.now()
    for waited in (60, 120):  # two chats taken lately, after 1 and 2 minutes
        item = _item(chat_queue, minutes_ago=10, status="assigned")
        item.enqueued_at, item.assigned_at = now - timedelta(seconds=waited + 30), now - timedelta(seconds=30)
        item.save()
    first = _item(chat_queue, minutes_ago=0)
    second = _item(chat_queue, minutes_ago=0)
    assert chat_queue_place(case_id=first.case_id).expected_wait_s in (89, 90)  # type: ignore[union-attr]
    assert chat_queue_place(case_id=second.case_id).expected_wait_s in (179, 180)  # type: ignore[union-attr]
    first.status = WorkItem.Status.ASSIGNED
    first.save()
    assert chat_queue_place(case_id=first.case_id) is None
    assert chat_queue_place(case_id=second.case_id).position == 1  # type: ignore[union-attr]


def test_online_means_an_online_agent_serving_a_queue_and_chats(
    chat_channel: Channel, agent: User, chat_queue: Queue
) -> None:
    assert not chat_agents_online(channel=chat_channel)
    presence_set(user=agent, presence="online")
    assert not chat_agents_online(channel=chat_channel)  # serves no queue
    state = agent_state(agent)
    state.queues.add(chat_queue)
    assert chat_agents_online(channel=chat_channel)
    state.channel_kinds = ["email", "phone"]
    state.save()
    assert not chat_agents_online(channel=chat_channel)  # does not take chats
    state.channel_kinds = ["chat"]
    state.save()
    other = Queue.objects.create(name="Elsewhere")
    chat_channel.config["queue_id"] = other.pk
    assert not chat_agents_online(channel=chat_channel)  # the channel's own queue is not theirs
    presence_set(user=agent, presence="away")
    chat_channel.config.pop("queue_id")
    assert not chat_agents_online(channel=chat_channel)


def test_a_chat_is_live_while_a_socket_is_open_and_seen_lately(chat_channel: Channel) -> None:
    from tiski.channels.chat.models import ChatSession
    from tiski.channels.chat.selectors import chat_is_live

    case = Case.objects.create(subject="Chat", customer=Customer.objects.create(name="C"), channel=chat_channel)
    session = ChatSession.objects.create(channel=chat_channel, case=case, token_hash="x" * 64, connections=1)
    assert chat_is_live(case=case)
    ChatSession.objects.filter(pk=session.pk).update(last_seen_at=timezone.now() - timedelta(minutes=5))
    assert not chat_is_live(case=case)  # a server that died left its count behind
    ChatSession.objects.filter(pk=session.pk).update(last_seen_at=timezone.now(), status=ChatSession.Status.ENDED)
    assert not chat_is_live(case=case)
