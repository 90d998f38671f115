"""What the conditions of rules read about a case: one flat dictionary, loaded with as few queries as needed.

Only the columns the rules read are selected (joining only the tables they need); on a message's event the
message and its case come in the same query. Tags and the customer's email addresses cost a query each, only
when a rule reads them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from django.utils import timezone

from tiski.cases.models import Case, Message
from tiski.customers.models import Identity

_CASE_COLUMNS = {
    "case.status": "status",
    "case.priority": "priority",
    "case.type": "type",
    "case.subject": "subject",
    "case.channel": "channel__kind",
    "case.category": "category__name",
    "case.team": "team__name",
    "case.owner": "owner__username",
    "case.hours_open": "created_at",
    "customer.name": "customer__name",
    "customer.tier": "customer__tier",
    "customer.language": "customer__language",
    "customer.organization": "customer__organization__name",
    "customer.interests": "customer__interests",
}
_PRIORITIES = {int(p): p.name.lower() for p in Case.Priority}


def _columns(fields: Collection[str]) -> list[str]:
    return sorted({_CASE_COLUMNS[f] for f in fields if f in _CASE_COLUMNS})


def _case_values(row: dict[str, Any], fields: Collection[str], prefix: str, now: datetime) -> dict[str, Any]:
    context = {f: row[prefix + column] for f, column in _CASE_COLUMNS.items() if f in fields}
    if "case.priority" in context:
        context["case.priority"] = _PRIORITIES.get(context["case.priority"], "")
    if "case.hours_open" in context:
        context["case.hours_open"] = (now - context["case.hours_open"]).total_seconds() / 3600
    return context


def _extras(contexts: dict[int, dict[str, Any]], customers: dict[int, int], fields: Collection[str]) -> None:
    """Add the tags and email addresses the rules read (a query each, only when read)."""
    if "case.tags" in fields:
        for context in contexts.values():
            context["case.tags"] = []
        for case_id, name in Case.tags.through.objects.filter(case_id__in=list(contexts)).values_list(
            "case_id", "tag__name"
        ):
            contexts[case_id]["case.tags"].append(name)
    if "customer.email" in fields:
        emails = _emails(set(customers.values()))
        for case_id, context in contexts.items():
            context["customer.email"] = " ".join(emails.get(customers[case_id], []))


def contexts_for(case_ids: Collection[int], *, fields: Collection[str]) -> dict[int, dict[str, Any]]:
    """Return the condition context of each case of CASE_IDS (the fields of FIELDS), by case id."""
    now = timezone.now()
    rows = list(Case.objects.filter(pk__in=list(case_ids)).values("pk", "customer_id", *_columns(fields)))
    contexts = {row["pk"]: _case_values(row, fields, "", now) for row in rows}
    _extras(contexts, {row["pk"]: row["customer_id"] for row in rows}, fields)
    return contexts


def _emails(customer_ids: Iterable[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for customer_id, value in Identity.objects.filter(
        customer_id__in=list(customer_ids), kind=Identity.Kind.EMAIL
    ).values_list("customer_id", "value"):
        found.setdefault(customer_id, []).append(value)
    return found


def context_for(
    case_id: int,
    *,
    fields: Collection[str],
    message_id: int | None = None,
    event: dict[str, Any] | None = None,
    reread: bool = False,
) -> dict[str, Any] | None:
    """Return the condition context of one case (None if it is gone), with its MESSAGE and the EVENT's fields.

    A message the pipeline is publishing now is read from its objects, without a query, unless the rules read
    related rows or REREAD (a rule has changed the case since).

    The message's fields are always read when there is one (a rule that writes to the customer never answers an
    automatic message), in the same query as the case's.
    """
    from tiski.channels.services import just_received

    stored = just_received(message_id) if message_id is not None and not reread else None
    context: dict[str, Any] | None
    if stored is not None and _RELATED.isdisjoint(fields) and stored.case.channel_id == stored.channel_id:
        context = _from_objects(stored, fields)  # the pipeline's own objects: no query
    elif message_id is None:
        context = contexts_for([case_id], fields=fields).get(case_id)
        if context is None:
            return None
    else:
        case_columns = [f"case__{column}" for column in _columns(fields)]
        row = (
            Message.objects.filter(pk=message_id, case_id=case_id)
            .values("subject", "body_text", "auto_submitted", "case__customer_id", *case_columns)
            .first()
        )
        if row is None:
            return None
        context = _case_values(row, fields, "case__", timezone.now())
        context["message.text"] = f"{row['subject']}\n{row['body_text']}"
        context["message.automatic"] = row["auto_submitted"]
        _extras({case_id: context}, {case_id: row["case__customer_id"]}, fields)
    for key, value in (event or {}).items():
        context[key if "." in key else f"event.{key}"] = value  # "survey.score" as it is
    return context


_RELATED = frozenset(
    {"case.category", "case.team", "case.owner", "customer.organization", "case.tags", "customer.email"}
)


def _from_objects(message: Message, fields: Collection[str]) -> dict[str, Any]:
    """Return the context of a message just stored by the pipeline, from its objects (no related rows read)."""
    case, customer = message.case, message.case.customer
    context: dict[str, Any] = {
        "message.text": f"{message.subject}\n{message.body_text}",
        "message.automatic": message.auto_submitted,
        "case.status": case.status,
        "case.priority": _PRIORITIES.get(case.priority, ""),
        "case.type": case.type,
        "case.subject": case.subject,
        "case.channel": message.channel.kind,
        "customer.name": customer.name,
        "customer.tier": customer.tier,
        "customer.language": customer.language,
        "customer.interests": customer.interests,
    }
    if "case.hours_open" in fields:
        context["case.hours_open"] = (timezone.now() - case.created_at).total_seconds() / 3600
    return context


def latest_messages(case_ids: Collection[int]) -> dict[int, dict[str, Any]]:
    """Return the message fields of each case's latest customer message (for a dry run over stored cases)."""
    found: dict[int, dict[str, Any]] = {}
    rows = (
        Message.objects.filter(case_id__in=list(case_ids), direction=Message.Direction.IN)
        .order_by("case_id", "created_at", "id")
        .values_list("case_id", "subject", "body_text", "auto_submitted")
    )
    for case_id, subject, body, automatic in rows.iterator():
        found[case_id] = {"message.text": f"{subject}\n{body}", "message.automatic": automatic}
    return found
