"""Background work of automation: webhook calls and time-based rules."""

from __future__ import annotations

from typing import Any

from django_tasks import task

from tiski.automation.services import rules_run_for_case_event
from tiski.automation.webhooks import webhook_post


@task()
def automation_webhook(url: str, body: dict[str, Any], secret_env: str, delivery: str, attempt: int = 1) -> str:
    """Call a rule's webhook (see webhooks.webhook_post)."""
    return webhook_post(url=url, body=body, secret_env=secret_env, delivery=delivery, attempt=attempt)


@task()
def automation_case_event(trigger: str, case_id: int, event_id: int, chain: list[int]) -> int:
    """Run the rules of a committed case change (see subscribers.on_case_event)."""
    return rules_run_for_case_event(trigger=trigger, case_id=case_id, event_id=event_id, chain=tuple(chain))
