"""The customer's merged timeline: every source in time order, keyset pages, filters, permissions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from tiski.cases.models import Case, CaseEvent, Message, Note
from tiski.channels.models import Channel, ChannelKind
from tiski.customers.exceptions import TimelineCursorInvalidError, TimelineFilterInvalidError
from tiski.customers.models import Customer, CustomerEvent
from tiski.customers.selectors import (
    CustomerPermissionError,
    TimelineCursor,
    customer_cases,
    customer_timeline,
)

START = timezone.now().replace(microsecond=0) - timedelta(days=30)


def _at(minutes: int) -> datetime:
    return START + timedelta(minutes=minutes)


def _message(case: Case, channel: Channel, minutes: int, text: str, direction: str = "in") -> Message:
    message = Message.objects.create(
        case=case,
        channel=channel,
        direction=direction,
        author="customer" if direction == "in" else "agent",
        body_text=text,
    )
    Message.objects.filter(pk=message.pk).update(created_at=_at(minutes))
    return message


def _dated(model: Any, minutes: int, **fields: Any) -> Any:
    row = model.objects.create(**fields)
    model.objects.filter(pk=row.pk).update(created_at=_at(minutes))
    return row


@dataclass
class History:
    customer: Customer
    email_case: Case
    phone_case: Case
    email: Channel
    phone: Channel


@pytest.fixture
def history(agent: User) -> History:
    """Anssi: an email case (two messages, a note, a status change) and a later phone case; one link event."""
    email = Channel.objects.create(kind=ChannelKind.EMAIL, name="Support")
    phone = Channel.objects.create(kind=ChannelKind.PHONE, name="Phone")
    customer = Customer.objects.create(name="Anssi Asiakas")
    other = Customer.objects.create(name="Someone Else")
    email_case = Case.objects.create(subject="Order late", customer=customer, channel=email)
    phone_case = Case.objects.create(subject="Called about invoice", customer=customer, channel=phone)
    _message(email_case, email, 0, "Where is my order?")
    _dated(CaseEvent, 0, case=email_case, kind=CaseEvent.Kind.MESSAGE_RECEIVED)  # announces the message: hidden
    _dated(Note, 5, case=email_case, author=agent, body="Checked with the carrier")
    _message(email_case, email, 10, "It is on its way.", direction="out")
    _dated(CaseEvent, 20, case=email_case, kind=CaseEvent.Kind.STATUS_CHANGED, actor=agent, data={"new": "solved"})
    _dated(CustomerEvent, 30, customer=customer, kind=CustomerEvent.Kind.LINKED, actor=agent)
    _message(phone_case, phone, 40, "Caller asked about invoice 48102")
    other_case = Case.objects.create(subject="Not Anssi's", customer=other, channel=email)
    _message(other_case, email, 15, "Someone else's message")
    return History(customer, email_case, phone_case, email, phone)


def _text(entry: Any) -> str:
    item = entry.item
    if entry.kind == "message":
        return str(item.body_text)
    if entry.kind == "note":
        return str(item.body)
    return str(item.kind) if entry.kind == "event" else f"customer:{item.kind}"


def _texts(entries: list[Any]) -> list[str]:
    return [_text(entry) for entry in entries]


def test_timeline_merges_messages_notes_and_events_of_every_case_newest_first(history: History, agent: User) -> None:
    page = customer_timeline(user=agent, customer=history.customer)
    assert _texts(page.entries) == [
        "Caller asked about invoice 48102",
        "customer:linked",
        "status_changed",
        "It is on its way.",
        "Checked with the carrier",
        "Where is my order?",
    ]
    assert page.next_cursor is None
    assert [e.case.pk if e.case else None for e in page.entries][:2] == [history.phone_case.pk, None]


def test_keyset_pages_cover_every_entry_once_in_order(history: History, agent: User) -> None:
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = customer_timeline(user=agent, customer=history.customer, before=cursor, limit=2)
        seen += _texts(page.entries)
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 3
    assert seen == _texts(customer_timeline(user=agent, customer=history.customer).entries)


def test_entries_at_the_same_instant_are_neither_lost_nor_repeated_across_pages(history: History, agent: User) -> None:
    same = _at(100)
    for i in range(5):
        message = _message(history.phone_case, history.phone, 100, f"burst {i}")
        Message.objects.filter(pk=message.pk).update(created_at=same)
        _dated(Note, 100, case=history.phone_case, author=agent, body=f"note {i}")
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = customer_timeline(user=agent, customer=history.customer, before=cursor, limit=3)
        seen += _texts(page.entries)
        if (cursor := page.next_cursor) is None:
            break
    bursts = [t for t in seen if t.startswith(("burst", "note "))]
    assert len(bursts) == 10 and len(set(bursts)) == 10
    assert len(seen) == 16


def test_filter_by_kind(history: History, agent: User) -> None:
    notes = customer_timeline(user=agent, customer=history.customer, kinds={"notes"})
    assert _texts(notes.entries) == ["Checked with the carrier"]
    events = customer_timeline(user=agent, customer=history.customer, kinds={"events"})
    assert _texts(events.entries) == ["customer:linked", "status_changed"]
    messages = customer_timeline(user=agent, customer=history.customer, kinds={"messages"})
    assert len(messages.entries) == 3 and {e.kind for e in messages.entries} == {"message"}


def test_filter_by_channel_shows_that_channels_messages_only(history: History, agent: User) -> None:
    page = customer_timeline(user=agent, customer=history.customer, channel="phone")
    assert _texts(page.entries) == ["Caller asked about invoice 48102"]
    assert customer_timeline(user=agent, customer=history.customer, channel="sms").entries == []


def test_a_case_can_be_left_out(history: History, agent: User) -> None:
    page = customer_timeline(user=agent, customer=history.customer, exclude_case_id=history.phone_case.pk)
    assert "Caller asked about invoice 48102" not in _texts(page.entries)
    assert "Where is my order?" in _texts(page.entries)


def test_unknown_filters_and_forged_cursors_are_refused(history: History, agent: User) -> None:
    with pytest.raises(TimelineFilterInvalidError):
        customer_timeline(user=agent, customer=history.customer, kinds={"gossip"})
    with pytest.raises(TimelineFilterInvalidError):
        customer_timeline(user=agent, customer=history.customer, channel="pigeon")
    for bad in ("", "1.2", "abc.message.1", "1.message.x", "1.drop table.1", "9" * 40 + ".message.1"):
        with pytest.raises(TimelineCursorInvalidError):
            customer_timeline(user=agent, customer=history.customer, before=bad)


def test_cursor_round_trips() -> None:
    cursor = TimelineCursor(at=_at(7).replace(microsecond=123456), kind="note", id=42)
    assert TimelineCursor.decode(cursor.encode()) == cursor


def test_without_customer_permission_nothing_is_returned(history: History) -> None:
    outsider = User.objects.create_user(username="outsider")
    with pytest.raises(CustomerPermissionError):
        customer_timeline(user=outsider, customer=history.customer)


def test_open_and_recent_cases(history: History, agent: User) -> None:
    Case.objects.filter(pk=history.email_case.pk).update(status=Case.Status.SOLVED)
    cases = customer_cases(user=agent, customer=history.customer)
    assert [c.pk for c in cases.open] == [history.phone_case.pk]
    assert [c.pk for c in cases.recent] == [history.email_case.pk]


def test_timeline_page_costs_a_fixed_number_of_queries(
    history: History,
    agent: User,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    for i in range(60):
        _message(history.email_case, history.email, 200 + i, f"message {i}")
    agent = User.objects.get(pk=agent.pk)  # fresh permission cache
    # permissions (2), four narrow reads (the recent window holds enough), the messages, their
    # attachments and their cases
    with django_assert_max_num_queries(9):
        page = customer_timeline(user=agent, customer=history.customer, limit=50)
    assert len(page.entries) == 50 and page.next_cursor is not None


def test_pages_are_complete_across_a_history_of_many_years(history: History, agent: User) -> None:
    """The narrow reads look at recent weeks first and then further back: nothing may fall between."""
    now = timezone.now()
    ages = [timedelta(minutes=5), timedelta(days=29), timedelta(days=31), timedelta(days=200), timedelta(days=900)]
    for i, age in enumerate(ages):
        message = _message(history.phone_case, history.phone, 0, f"aged {i}")
        Message.objects.filter(pk=message.pk).update(created_at=now - age)
        note = _dated(Note, 0, case=history.email_case, author=agent, body=f"aged note {i}")
        Note.objects.filter(pk=note.pk).update(created_at=now - age - timedelta(seconds=1))
    expected = sorted(
        [(m.created_at, "message", m.pk) for m in Message.objects.filter(case__customer=history.customer)]
        + [(n.created_at, "note", n.pk) for n in Note.objects.filter(case__customer=history.customer)]
        + [
            (e.created_at, "event", e.pk)
            for e in CaseEvent.objects.filter(case__customer=history.customer, kind="status_changed")
        ]
        + [(e.created_at, "customer_event", e.pk) for e in CustomerEvent.objects.filter(customer=history.customer)],
        reverse=True,
    )
    for limit in (1, 2, 3, 7, 50):
        seen: list[tuple[Any, str, int]] = []
        cursor: str | None = None
        while True:
            page = customer_timeline(user=agent, customer=history.customer, before=cursor, limit=limit)
            seen += [(e.at, e.kind, e.item.pk) for e in page.entries]
            if (cursor := page.next_cursor) is None:
                break
        assert seen == expected, limit
