"""Marketing suppression: a customer with an open complaint case must not be marketed to.

``Customer.marketing_suppressed`` is the state as announced: marketing_refresh() recomputes it after
every change that can move it (a complaint case opened, solved, reopened, or a case's type changed),
records a "marketing" customer event when it changes and queues the outgoing webhook. A marketing system
either listens to the webhook or polls GET /api/v1/marketing/suppressions.

The webhook (TISKI_MARKETING_WEBHOOK_URL) is POSTed

    {"event": "customer.marketing_suppression", "customer_id": 12, "suppressed": true,
     "reason": "open_complaint", "cases": ["TSK-1042"], "identities": [{"kind": "email", "value": "…"}],
     "sequence": 345, "occurred_at": "2026-11-22T12:38:00.123456+00:00"}

with the headers ``X-Tiski-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed with
TISKI_MARKETING_WEBHOOK_SECRET>`` and ``X-Tiski-Delivery: <uuid>`` (the same on every retry of one
change: use it to drop duplicates). Delivery is at least once, retried with exponential backoff on
network errors, timeouts (10 s), 408, 429 and 5xx; any other 4xx is logged and not retried. Retries can
arrive after a later change: ``sequence`` increases with every change of every customer (it is the
customer event's id), so a receiver keeps, per customer, the state with the highest sequence and ignores
older ones. A retry whose change has been superseded by a newer one is not sent at all.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_tasks import task

from tiski.cases.models import Case, CaseEvent
from tiski.customers.models import Customer, CustomerEvent
from tiski.customers.selectors import customer_get, customer_list

logger = logging.getLogger(__name__)

WEBHOOK_EVENT = "customer.marketing_suppression"
REASON_OPEN_COMPLAINT = "open_complaint"
REASON_NONE = "no_open_complaint"
WEBHOOK_TIMEOUT_S = 10.0
RETRY_STATUSES = frozenset({408, 429})

# Case timeline entries that can change whether a customer has an open complaint.
MARKETING_EVENT_KINDS = frozenset(
    {
        CaseEvent.Kind.CREATED,
        CaseEvent.Kind.STATUS_CHANGED,
        CaseEvent.Kind.REOPENED,
        CaseEvent.Kind.UPDATED,
        CaseEvent.Kind.SPLIT,
    }
)


@dataclass(frozen=True)
class MarketingStatus:
    """Whether a customer may be marketed to, and why not."""

    customer_id: int
    do_not_market: bool
    reason: str
    cases: list[str] = field(default_factory=list)  # references of the open complaint cases


def _open_complaints(customer_id: int) -> list[str]:
    """Return the references of CUSTOMER_ID's open complaint cases, oldest first."""
    cases = Case.objects.filter(customer_id=customer_id, type=Case.Type.COMPLAINT, status__in=Case.OPEN_STATUSES)
    return [case.reference for case in cases.order_by("created_at", "pk").only("pk")]


def marketing_status(*, user: User, customer_id: int) -> MarketingStatus:
    """Return CUSTOMER_ID's marketing status as announced; raise CustomerNotFoundError or CustomerPermissionError."""
    customer = customer_get(user=user, customer_id=customer_id)
    suppressed = customer.marketing_suppressed
    return MarketingStatus(
        customer_id=customer.pk,
        do_not_market=suppressed,
        reason=REASON_OPEN_COMPLAINT if suppressed else REASON_NONE,
        cases=_open_complaints(customer.pk) if suppressed else [],
    )


def marketing_suppressions(*, user: User) -> QuerySet[Customer]:
    """Return the customers not to be marketed to now, with their identities, by id (for paging a sync)."""
    return customer_list(user=user).filter(marketing_suppressed=True).order_by("pk")


@transaction.atomic
def marketing_refresh(*, customer_id: int) -> bool:
    """Recompute whether CUSTOMER_ID must not be marketed to; return that (True: do not market).

    When the state changes, record a "marketing" customer event and queue the webhook in the same
    transaction. Holds the customer's row lock, so two refreshes of one customer cannot cross.
    """
    customer = Customer.objects.select_for_update().filter(pk=customer_id).first()
    if customer is None:
        return False
    complaints = _open_complaints(customer.pk)
    suppressed = bool(complaints)
    if suppressed == customer.marketing_suppressed:
        return suppressed
    customer.marketing_suppressed = suppressed
    customer.save(update_fields=["marketing_suppressed", "updated_at"])
    reason = REASON_OPEN_COMPLAINT if suppressed else REASON_NONE
    event = CustomerEvent.objects.create(
        customer=customer,
        kind=CustomerEvent.Kind.MARKETING,
        data={"suppressed": suppressed, "reason": reason, "cases": complaints},
    )
    if settings.TISKI_MARKETING_WEBHOOK_URL:
        marketing_webhook.enqueue(event_id=event.pk, delivery_id=str(uuid.uuid4()), attempt=1)
    return suppressed


def marketing_payload(*, event: CustomerEvent) -> dict[str, Any]:
    """Return the webhook body announcing the marketing EVENT (with the customer's identities of now)."""
    identities = list(event.customer.identities.order_by("kind", "value").values("kind", "value"))
    return {
        "event": WEBHOOK_EVENT,
        "customer_id": event.customer_id,
        "suppressed": bool(event.data.get("suppressed")),
        "reason": str(event.data.get("reason", "")),
        "cases": list(event.data.get("cases", [])),
        "identities": identities,
        "sequence": event.pk,
        "occurred_at": event.created_at.isoformat(),
    }


def marketing_signature(*, body: bytes, secret: str) -> str:
    """Return the X-Tiski-Signature header value for BODY: "sha256=" and the hex HMAC-SHA256 under SECRET."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_backoff(attempt: int) -> timedelta:
    """Return the wait after failed attempt ATTEMPT: base × 2^(attempt−1), at most six hours."""
    seconds = settings.TISKI_MARKETING_WEBHOOK_BACKOFF_S * 2 ** max(attempt - 1, 0)
    return timedelta(seconds=min(seconds, 6 * 3600))


def marketing_webhook_deliver(*, event_id: int, delivery_id: str, attempt: int = 1) -> str:
    """POST the marketing event EVENT_ID to the webhook once; schedule a retry when that may help.

    Return what happened: "sent", "retrying: …", "refused: …", "failed: …" or "skipped: …".
    """
    url = settings.TISKI_MARKETING_WEBHOOK_URL
    secret = settings.TISKI_MARKETING_WEBHOOK_SECRET
    if not url:
        return "skipped: TISKI_MARKETING_WEBHOOK_URL is not set"
    if not secret:
        logger.error("marketing webhook: TISKI_MARKETING_WEBHOOK_SECRET is not set; nothing is sent unsigned")
        return "failed: TISKI_MARKETING_WEBHOOK_SECRET is not set"
    event = (
        CustomerEvent.objects.select_related("customer").filter(pk=event_id, kind=CustomerEvent.Kind.MARKETING).first()
    )
    if event is None:
        return "skipped: the change is gone (customer deleted)"
    if CustomerEvent.objects.filter(
        customer_id=event.customer_id, kind=CustomerEvent.Kind.MARKETING, pk__gt=event.pk
    ).exists():
        return "skipped: superseded by a newer change"
    body = json.dumps(marketing_payload(event=event), separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Tiski",
        "X-Tiski-Event": WEBHOOK_EVENT,
        "X-Tiski-Delivery": delivery_id,
        "X-Tiski-Signature": marketing_signature(body=body, secret=secret),
    }
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=WEBHOOK_TIMEOUT_S)
    except httpx.HTTPError as exc:
        return _retry(event_id=event_id, delivery_id=delivery_id, attempt=attempt, error=f"{type(exc).__name__}: {exc}")
    status = response.status_code
    if status >= 500 or status in RETRY_STATUSES:
        return _retry(event_id=event_id, delivery_id=delivery_id, attempt=attempt, error=f"HTTP {status}")
    if status >= 300:
        logger.warning(
            "marketing webhook refused delivery %s (customer %s) with HTTP %s; not retried: %s",
            delivery_id,
            event.customer_id,
            status,
            response.text[:500],
        )
        return f"refused: HTTP {status}"
    return "sent"


def _retry(*, event_id: int, delivery_id: str, attempt: int, error: str) -> str:
    if attempt >= settings.TISKI_MARKETING_WEBHOOK_MAX_ATTEMPTS:
        logger.error("marketing webhook delivery %s failed for good after %s attempts: %s", delivery_id, attempt, error)
        return f"failed: {error}"
    retry_at = timezone.now() + webhook_backoff(attempt)
    marketing_webhook.using(run_after=retry_at).enqueue(event_id=event_id, delivery_id=delivery_id, attempt=attempt + 1)
    logger.warning("marketing webhook delivery %s attempt %s failed, retrying: %s", delivery_id, attempt, error)
    return f"retrying: {error}"


@task()
def marketing_webhook(event_id: int, delivery_id: str, attempt: int = 1) -> str:
    """Deliver one marketing change to the webhook (see marketing_webhook_deliver)."""
    return marketing_webhook_deliver(event_id=event_id, delivery_id=delivery_id, attempt=attempt)


@task()
def marketing_case_changed(event_id: int, case_id: int, customer_id: int, kind: str, actor_id: int | None) -> bool:
    """Recompute the marketing suppression of a case's customer (a durable subscriber of CaseEventRecorded)."""
    # The case's customer now: a merge may have moved the case since the event.
    current = Case.objects.filter(pk=case_id).values_list("customer_id", flat=True).first()
    return marketing_refresh(customer_id=current or customer_id)


def case_event_touches_marketing(event: Any) -> bool:
    """Return whether a CaseEventRecorded EVENT can change its customer's suppression (at most one query).

    Runs in the publishing transaction, where the case row may not be saved yet (case_update records its
    events first): a type change is read from the event's own data, not from the case.
    """
    if event.kind not in MARKETING_EVENT_KINDS:
        return False
    row = CaseEvent.objects.filter(pk=event.event_id).values("data", "case__type").first()
    if row is None:
        return False
    data = row["data"] or {}
    if event.kind == CaseEvent.Kind.UPDATED:
        return bool(data.get("field") == "type")
    if row["case__type"] != Case.Type.COMPLAINT:
        return False
    if event.kind in (CaseEvent.Kind.STATUS_CHANGED, CaseEvent.Kind.REOPENED):
        return (data.get("old") in Case.OPEN_STATUSES) != (data.get("new") in Case.OPEN_STATUSES)
    return True  # a complaint case created, or split


def marketing_subscribe() -> None:
    """Subscribe the suppression's refresh to case changes (call once at start-up; again is harmless)."""
    from tiski import events

    events.subscribe(events.CaseEventRecorded, marketing_case_changed, when=case_event_touches_marketing)
