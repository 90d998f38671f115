"""The queue a new installation starts with: every contact becomes work in some queue, so there is always one.

Created after every `migrate` or `flush` (post_migrate) when there is no queue at all, so a database emptied by
tests or by hand gets it back, while queues an administrator set up (or renamed) stay as they are.
"""

from __future__ import annotations

from typing import Any

from tiski.routing.models import Queue

GENERAL = {"name": "General", "name_fi": "Yleinen"}


def queue_default_ensure(**_kwargs: Any) -> None:
    """Create the default queue if there is no queue (a post_migrate receiver)."""
    if not Queue.objects.exists():
        Queue.objects.create(is_default=True, **GENERAL)


def queue_fallback() -> Queue:
    """Return a queue for work that no rule and no active queue takes: the default or first queue, or a new one.

    Used only when every queue is inactive or none exists (an administrator deleted them all): work is never
    dropped for want of a queue, it waits where a supervisor sees it.
    """
    queue = Queue.objects.order_by("-is_default", "-priority", "position", "name").first()
    if queue is None:
        queue = Queue.objects.create(is_default=True, **GENERAL)
    return queue
