"""Writes to the audit log: record an action, prune past the retention period."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone

from tiski.audit.context import current_request
from tiski.audit.models import LABEL_MAX, USER_AGENT_MAX, AuditEntry, AuditPruneGate
from tiski.core.net import client_ip


def audit_record(
    *,
    action: str,
    actor: AbstractBaseUser | AnonymousUser | None,
    target: models.Model | None = None,
    target_label: str = "",
    detail: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> AuditEntry:
    """Append one entry to the audit log and return it.

    `action` is a dotted code (`customer.merge`). Without `request`, the request being served (set by
    AuditContextMiddleware) supplies the address, user agent and request id, and its signed-in user
    stands in for a missing `actor`; outside a request (a task, a command) those stay empty.
    `target_label` defaults to `str(target)`; `detail` must be JSON-serialisable (dates and decimals are
    turned into strings).
    """
    request = request if request is not None else current_request.get()
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        actor = user if user is not None and user.is_authenticated else None
    if actor is not None and not actor.is_authenticated:
        actor = None
    entry = AuditEntry(
        action=action,
        actor=actor,  # type: ignore[misc]
        actor_label=actor.get_username() if actor is not None else "",
        detail=_jsonable(detail or {}),
    )
    if target is not None:
        entry.target_type = ContentType.objects.get_for_model(target, for_concrete_model=False)
        entry.target_id = str(target.pk)
        entry.target_label = (target_label or str(target))[:LABEL_MAX]
    else:
        entry.target_label = target_label[:LABEL_MAX]
    if request is not None:
        entry.ip = client_ip(request)[:45]
        entry.user_agent = request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX]
        entry.request_id = str(getattr(request, "request_id", "") or request.META.get("HTTP_X_REQUEST_ID", ""))[:64]
    entry.save()
    return entry


def audit_customer_label(customer_id: int) -> str:
    """Return the label for a customer target: the number only, as the log outlives an erasure."""
    return f"customer #{customer_id}"


def _jsonable(detail: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(detail, cls=DjangoJSONEncoder))


@transaction.atomic
def audit_prune(*, now: datetime | None = None, days: int | None = None) -> int:
    """Delete the entries older than the retention period and return how many were deleted.

    The period is `days`, else TISKI_AUDIT_RETENTION_DAYS (730). The database triggers refuse every
    delete unless the prune gate is open; it is opened and closed again inside this transaction.
    """
    days = settings.TISKI_AUDIT_RETENTION_DAYS if days is None else days
    cutoff = (now or timezone.now()) - timedelta(days=days)
    return _delete_before(cutoff=cutoff)


def audit_delete_all_for_flush(*, using: str = "default") -> int:
    """Delete every entry and return how many: for `flush` of a test or development database only."""
    with transaction.atomic(using=using):
        return _delete_before(cutoff=datetime(9999, 12, 31, tzinfo=UTC), using=using)


def _delete_before(*, cutoff: datetime, using: str = "default") -> int:
    gates = AuditPruneGate.objects.using(using)
    gates.update_or_create(id=1, defaults={"until": cutoff})
    deleted, _ = models.QuerySet.delete(AuditEntry.objects.using(using).filter(at__lt=cutoff))
    gates.filter(id=1).update(until=None)
    return deleted
