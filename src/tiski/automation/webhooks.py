"""Outgoing webhooks of automation rules: a signed JSON POST about a case, delivered at least once.

The call is a durable task enqueued in the rule's transaction, so it goes out exactly when the change that
triggered it committed. The body is signed with HMAC-SHA256 of a secret read from the environment variable the
rule names (secrets never sit in the database): ``X-Tiski-Signature: sha256=<hex>``. ``X-Tiski-Delivery`` is
the same on every retry, for the receiver to drop repeats. A 2xx answer ends it; anything else is tried again
with backoff up to TISKI_RULE_WEBHOOK_ATTEMPTS times.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx
from django.conf import settings
from django.utils import timezone

if TYPE_CHECKING:
    from tiski.cases.models import Case

logger = logging.getLogger(__name__)
TIMEOUT_S = 10.0


def webhook_payload(case: Case) -> dict[str, Any]:
    """Return what a webhook says about CASE: its reference, state and customer (no message contents)."""
    return {
        "case": {
            "id": case.pk,
            "reference": case.reference,
            "subject": case.subject,
            "status": case.status,
            "priority": case.priority,
            "type": case.type,
            "channel": case.channel.kind if case.channel is not None else None,
            "owner": case.owner.get_username() if case.owner is not None else None,
            "team": case.team.name if case.team is not None else None,
            "tags": sorted(case.tags.values_list("name", flat=True)),
            "url": f"{settings.TISKI_BASE_URL}/console/cases/{case.reference}/",
        },
        "customer": {"id": case.customer_id, "name": case.customer.name, "tier": case.customer.tier},
    }


def webhook_enqueue(*, case: Case, url: str, secret_env: str, event: str = "rule") -> None:
    """Queue the webhook call about CASE (in the caller's transaction)."""
    from tiski.automation.tasks import automation_webhook

    body = {"event": event, "at": timezone.now().isoformat(), **webhook_payload(case)}
    automation_webhook.enqueue(url=url, body=body, secret_env=secret_env, delivery=str(uuid.uuid4()), attempt=1)


def signature(secret: str, raw: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def webhook_post(*, url: str, body: dict[str, Any], secret_env: str, delivery: str, attempt: int) -> str:
    """POST BODY to URL once; on failure queue the next attempt. Return what happened."""
    from tiski.automation.tasks import automation_webhook

    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", "X-Tiski-Delivery": delivery, "User-Agent": "Tiski-Webhook/1"}
    if secret_env:
        secret = os.environ.get(secret_env, "")
        if not secret:
            logger.error("webhook to %s not sent: the environment variable %s is not set", url, secret_env)
            return f"failed: set the environment variable {secret_env} (the signing secret)"
        headers["X-Tiski-Signature"] = signature(secret, raw)
    try:
        response = httpx.post(url, content=raw, headers=headers, timeout=TIMEOUT_S)
        outcome = "" if response.is_success else f"HTTP {response.status_code}"
    except httpx.HTTPError as error:
        outcome = f"{type(error).__name__}: {error}"
    if not outcome:
        return "sent"
    if attempt >= settings.TISKI_RULE_WEBHOOK_ATTEMPTS:
        logger.error("webhook to %s failed for good after %s attempts: %s", url, attempt, outcome)
        return f"failed: {outcome}"
    retry_at = timezone.now() + timedelta(seconds=settings.TISKI_RULE_WEBHOOK_BACKOFF_S * 2 ** (attempt - 1))
    automation_webhook.using(run_after=retry_at).enqueue(
        url=url, body=body, secret_env=secret_env, delivery=delivery, attempt=attempt + 1
    )
    return f"retrying: {outcome}"
