"""The router loop's clock for report delivery: claims the nightly export's due days and the due report mails.

Called about once a second; looks at most once a minute per process (a monotonic-time gate), and then only
when the export is on or a subscription may be due.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from django.utils import timezone

from tiski.reports.delivery.nightly import exports_due_run
from tiski.reports.delivery.subscriptions import subscriptions_due_run

logger = logging.getLogger(__name__)

EVERY_S = 60.0
_next_check = 0.0


def delivery_clock(*, now: datetime | None = None) -> bool:
    """Claim and queue what is due by NOW, at most every EVERY_S seconds; return whether it looked."""
    global _next_check
    if time.monotonic() < _next_check:
        return False
    _next_check = time.monotonic() + EVERY_S
    now = now or timezone.now()
    for run in (exports_due_run, subscriptions_due_run):
        try:
            run(now=now)
        except Exception:
            logger.exception("report delivery: %s failed", run.__name__)
    return True
