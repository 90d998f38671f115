"""Background work of the channel layer."""

from __future__ import annotations

from django_tasks import task

from tiski.channels.outbox import outbox_attempt


@task()
def outbox_deliver(delivery_id: int) -> str:
    """Send one outbound message (see outbox_attempt)."""
    return outbox_attempt(delivery_id=delivery_id)
