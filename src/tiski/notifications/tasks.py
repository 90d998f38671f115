"""Background work of following: notify followers of contacts and case changes, mail notifications."""

from __future__ import annotations

from django_tasks import task

from tiski.notifications.services import (
    notifications_email_send,
    notifications_for_case_event,
    notifications_for_contact,
)


@task()
def notifications_contact(
    message_id: int,
    case_id: int,
    case_created: bool = False,
    channel_kind: str = "",
    customer_id: int = 0,
    customer_created: bool = False,
) -> int:
    """Notify the followers of a contact (a durable subscriber of events.MessageReceived)."""
    return notifications_for_contact(message_id=message_id)


@task()
def notifications_case_event(event_id: int, case_id: int, customer_id: int, kind: str, actor_id: int | None) -> int:
    """Notify the followers of a case about a change (a durable subscriber of events.CaseEventRecorded)."""
    return notifications_for_case_event(event_id=event_id)


@task()
def notifications_email(user_id: int, notification_ids: list[int], attempt: int = 1) -> str:
    """Mail notifications to a user who asked for them by email (see notifications_email_send)."""
    return notifications_email_send(user_id=user_id, notification_ids=notification_ids, attempt=attempt)
