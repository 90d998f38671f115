"""Background work of report delivery: writing a claimed day of the nightly export, mailing a claimed report."""

from __future__ import annotations

import logging
from datetime import date

from django.utils import timezone
from django_tasks import task

logger = logging.getLogger(__name__)


@task()
def report_export_day(day: str) -> str:
    """Write the claimed DAY (YYYY-MM-DD) of the nightly export; return its status."""
    from tiski.reports.delivery.nightly import export_run

    run = export_run(day=date.fromisoformat(day))
    return run.status if run else "skipped: not waiting (another process took it)"


@task()
def report_subscription_send(subscription_id: int, period: str, attempt: int = 1) -> str:
    """Mail the claimed report of SUBSCRIPTION_ID for PERIOD (its scheduled moment); on failure try again later,
    up to MAX_ATTEMPTS times."""
    from tiski.reports.delivery.subscriptions import MAX_ATTEMPTS, retry_at, subscription_send

    try:
        return subscription_send(subscription_id=subscription_id)
    except Exception as error:
        if attempt >= MAX_ATTEMPTS:
            logger.error(
                "report %s of %s failed for good after %s attempts: %s", subscription_id, period, attempt, error
            )
            return f"failed: {type(error).__name__}: {error}"
        report_subscription_send.using(run_after=retry_at(attempt, timezone.now())).enqueue(
            subscription_id=subscription_id, period=period, attempt=attempt + 1
        )
        logger.warning("report %s of %s failed (attempt %s), retrying: %s", subscription_id, period, attempt, error)
        return f"retrying: {type(error).__name__}: {error}"
