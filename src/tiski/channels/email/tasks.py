"""Background work of the email channel."""

from __future__ import annotations

from django_tasks import task


@task()
def email_acknowledge(
    message_id: int,
    case_id: int,
    case_created: bool,
    channel_kind: str,
    customer_id: int = 0,
    customer_created: bool = False,
) -> str:
    """Acknowledge a new email case. Kept for the tasks queued before the service levels' automatic replies
    (tiski.sla.tasks.autoreply) took this over: it sends the same automatic reply, once."""
    from tiski.sla.autoreplies import autoreply_send

    return autoreply_send(message_id=message_id, case_created=case_created)
