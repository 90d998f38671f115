"""Background work of the service levels."""

from __future__ import annotations

from django_tasks import task

from tiski.sla.autoreplies import autoreply_send


@task()
def autoreply(
    message_id: int,
    case_id: int,
    case_created: bool,
    channel_kind: str,
    customer_id: int = 0,
    customer_created: bool = False,
) -> str:
    """Send a new case's automatic reply (a durable subscriber of MessageReceived; chat answers inline)."""
    return autoreply_send(message_id=message_id, case_created=case_created)
