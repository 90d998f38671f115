"""Background work of the email channel."""

from __future__ import annotations

from django_tasks import task

from tiski.channels.email.acknowledge import acknowledgement_send


@task()
def email_acknowledge(
    message_id: int,
    case_id: int,
    case_created: bool,
    channel_kind: str,
    customer_id: int = 0,
    customer_created: bool = False,
) -> str:
    """Acknowledge a new email case (a durable subscriber of MessageReceived)."""
    return acknowledgement_send(message_id=message_id, case_created=case_created)
