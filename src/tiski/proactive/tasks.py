"""Background work of proactive service."""

from __future__ import annotations

from django_tasks import task

from tiski.proactive.services import external_event_process


@task()
def external_event_run(event_id: int) -> int:
    """Make the outbound work of an external event that reaches many customers; return how many cases were made."""
    return external_event_process(event_id=event_id).created
