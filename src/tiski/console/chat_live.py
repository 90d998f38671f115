"""Chat pushes as HTML for the console's WebSocket: the same partials the case page and the nav render, marked
for out-of-band swaps (see tiski.routing.consumers). Called with the page's language and time zone active."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.template.loader import render_to_string

from tiski.cases.models import Case
from tiski.console.selectors import message_for_push, message_splits, messages_with_source, my_chats


def my_chats_html(*, user: User, current: str = "") -> str:
    """Return USER's "My chats" as an out-of-band swap (CURRENT: the reference of the case on screen)."""
    context = {"chats": my_chats(user=user), "chats_current": current, "oob": True}
    return render_to_string("console/_my_chats.html", context)


def chat_message_html(*, case_id: int, message_id: int) -> str:
    """Return message MESSAGE_ID as an entry appended to case CASE_ID's timeline ("" when it is not there)."""
    message = message_for_push(case_id=case_id, message_id=message_id)
    if message is None:
        return ""
    case = message.case
    context = {
        "m": message,
        "case": case,
        "splits": message_splits(case=case),
        "with_source": messages_with_source(case=case),
    }
    return render_to_string("console/_chat_push.html", context)


def chat_part_html(*, template: str, case_id: int, **extra: Any) -> str:
    """Return TEMPLATE (the chat's typing or connection state) for case CASE_ID as an out-of-band swap."""
    case = Case.objects.select_related("customer").filter(pk=case_id).first()
    if case is None:
        return ""
    return render_to_string(template, {"case": case, "oob": True, **extra})
