"""GDPR basics: export everything Tiski holds about a customer, and erase (anonymise) a customer on request.

Erasure keeps what statistics need — the cases with their statuses, types, channels, owners, timestamps
and timeline, the messages as rows (direction, channel, times, delivery status), the external records'
kind, status, dates and amount — and removes what identifies the person or what they said: name, notes,
address, interests, identities, message texts and raw sources, attachments (files too), note texts, case
subjects, record titles and attributes, match suggestions, and personal values in timeline data.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Prefetch, Q
from django.utils import timezone

from tiski.accounts.roles import ERASE_CUSTOMERS, EXPORT_CUSTOMERS
from tiski.audit.services import audit_customer_label, audit_record
from tiski.cases.models import Attachment, Case, CaseEvent, Message, Note
from tiski.channels.models import Delivery, QuarantinedMail
from tiski.customers.exceptions import CustomerErasedError
from tiski.customers.models import Customer, CustomerEvent, CustomerMatchKey, ExternalRecord, MatchSuggestion
from tiski.customers.selectors import CustomerPermissionError
from tiski.notifications.models import Follow, Notification

logger = logging.getLogger(__name__)

EXPORT_FORMAT = "tiski.customer-export/1"
ERASED = "[erased]"
# Customer events whose data holds no personal data (and stays readable after an erasure).
_IMPERSONAL_EVENTS = (CustomerEvent.Kind.MARKETING, CustomerEvent.Kind.EXPORTED, CustomerEvent.Kind.ERASED)


def _require(actor: User | None, perm: str, doing: str) -> None:
    """Raise CustomerPermissionError unless ACTOR holds PERM (None: the operator at the command line)."""
    if actor is not None and not (actor.is_active and actor.has_perm(perm)):
        raise CustomerPermissionError(f"You do not have permission to {doing}.")


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _user(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.pk, "username": user.get_username(), "name": user.get_full_name() or user.get_username()}


def _amount(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


@transaction.atomic
def customer_export(*, customer: Customer, actor: User | None) -> dict[str, Any]:
    """Return everything about CUSTOMER as a JSON-serialisable dict and record the export on their history.

    Internal notes on the customer's cases are included (they are personal data about them), marked
    "internal": true. ACTOR needs the export permission; None is the operator at the command line.
    """
    _require(actor, EXPORT_CUSTOMERS, "export customers' data")
    customer = Customer.objects.select_related("organization").get(pk=customer.pk)
    cases = [_case_data(case) for case in _cases(customer)]
    export: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "exported_at": _iso(timezone.now()),
        "customer": _customer_data(customer),
        "organization": _organization_data(customer),
        "identities": [
            {"kind": i.kind, "value": i.value, "verified": i.verified, "created_at": _iso(i.created_at)}
            for i in customer.identities.order_by("kind", "value")
        ],
        "cases": cases,
        "customer_events": [
            {"kind": e.kind, "actor": _user(e.actor), "data": e.data, "created_at": _iso(e.created_at)}
            for e in customer.events.select_related("actor").order_by("created_at", "pk")
        ],
        "external_records": [_record_data(r) for r in customer.records.order_by("kind", "date", "pk")],
        "match_suggestions": [
            {
                "customer_id": s.customer_id,
                "candidate_id": s.candidate_id,
                "score": s.score,
                "reasons": s.reasons,
                "status": s.status,
                "decided_by": _user(s.decided_by),
                "decided_at": _iso(s.decided_at),
                "created_at": _iso(s.created_at),
            }
            for s in MatchSuggestion.objects.filter(Q(customer=customer) | Q(candidate=customer))
            .select_related("decided_by")
            .order_by("created_at", "pk")
        ],
        "followed_by": [
            {"user": _user(f.user), "since": _iso(f.created_at)}
            for f in Follow.objects.filter(customer=customer).select_related("user").order_by("created_at", "pk")
        ],
    }
    CustomerEvent.objects.create(
        customer=customer,
        kind=CustomerEvent.Kind.EXPORTED,
        actor=actor,
        data={"via": "command line" if actor is None else "user", "cases": len(cases)},
    )
    audit_record(
        action="customer.export",
        actor=actor,
        target=customer,
        target_label=audit_customer_label(customer.pk),
        detail={"via": "command line" if actor is None else "user", "cases": len(cases)},
    )
    return export


def _customer_data(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.pk,
        "name": customer.name,
        "language": customer.language,
        "tier": customer.tier,
        "notes": customer.notes,
        "address": customer.address,
        "interests": customer.interests,
        "provisional": customer.provisional,
        "field_sources": customer.field_sources,
        "do_not_market": customer.marketing_suppressed,
        "erased_at": _iso(customer.erased_at),
        "created_at": _iso(customer.created_at),
        "updated_at": _iso(customer.updated_at),
    }


def _organization_data(customer: Customer) -> dict[str, Any] | None:
    organization = customer.organization
    if organization is None:
        return None
    return {"id": organization.pk, "name": organization.name, "domain": organization.domain}


def _cases(customer: Customer) -> Iterable[Case]:
    messages = Message.objects.select_related("channel", "identity", "author_user").prefetch_related("attachments")
    return (
        Case.objects.filter(customer=customer)
        .select_related("channel", "owner", "team", "category")
        .prefetch_related(
            "tags",
            Prefetch("messages", queryset=messages.order_by("created_at", "pk")),
            Prefetch("notes", queryset=Note.objects.select_related("author").order_by("created_at", "pk")),
            Prefetch("events", queryset=CaseEvent.objects.select_related("actor").order_by("created_at", "pk")),
        )
        .order_by("created_at", "pk")
    )


def _case_data(case: Case) -> dict[str, Any]:
    return {
        "reference": case.reference,
        "subject": case.subject,
        "status": case.status,
        "type": case.type,
        "priority": case.priority,
        "category": case.category.name if case.category else None,
        "tags": [tag.name for tag in case.tags.all()],
        "channel": {"kind": case.channel.kind, "name": case.channel.name} if case.channel else None,
        "owner": _user(case.owner),
        "team": case.team.name if case.team else None,
        "created_at": _iso(case.created_at),
        "updated_at": _iso(case.updated_at),
        "first_response_at": _iso(case.first_response_at),
        "solved_at": _iso(case.solved_at),
        "closed_at": _iso(case.closed_at),
        "messages": [_message_data(message) for message in case.messages.all()],
        "internal_notes": [
            {"internal": True, "body": note.body, "author": _user(note.author), "created_at": _iso(note.created_at)}
            for note in case.notes.all()
        ],
        "events": [
            {"kind": e.kind, "actor": _user(e.actor), "data": e.data, "created_at": _iso(e.created_at)}
            for e in case.events.all()
        ],
    }


def _message_data(message: Message) -> dict[str, Any]:
    return {
        "id": message.pk,
        "direction": message.direction,
        "author": message.author,
        "agent": _user(message.author_user),
        "channel": {"kind": message.channel.kind, "name": message.channel.name},
        "from": {"kind": message.identity.kind, "value": message.identity.value} if message.identity else None,
        "sender_name": message.sender_name,
        "subject": message.subject,
        "text": message.body_text,
        "full_text": message.full_text,
        "html": message.body_html,
        "automatic": message.auto_submitted,
        "delivery_status": message.delivery_status,
        "delivery_error": message.delivery_error,
        "created_at": _iso(message.created_at),
        "sent_at": _iso(message.sent_at),
        "raw_source_bytes": len(message.raw or b""),
        "attachments": [
            {"filename": a.filename, "content_type": a.content_type, "size": a.size, "sha256": a.sha256}
            for a in message.attachments.all()
        ],
    }


def _record_data(record: ExternalRecord) -> dict[str, Any]:
    return {
        "kind": record.kind,
        "source": record.source,
        "external_id": record.external_id,
        "title": record.title,
        "status": record.status,
        "date": _iso(record.date),
        "due_date": _iso(record.due_date),
        "renewal_date": _iso(record.renewal_date),
        "amount": _amount(record.amount),
        "currency": record.currency,
        "attributes": record.attributes,
        "created_at": _iso(record.created_at),
        "updated_at": _iso(record.updated_at),
    }


@transaction.atomic
def customer_erase(*, customer: Customer, actor: User | None) -> None:
    """Anonymise CUSTOMER: remove their personal data everywhere and keep what statistics need.

    Raise CustomerErasedError when the customer was erased already, CustomerPermissionError unless ACTOR
    may erase customers (None: the operator at the command line). Attachment files are deleted after the
    transaction commits (a file shared with another customer's attachment stays). The ERASED event on the
    customer's history records who erased and when, and counts, nothing more.
    """
    _require(actor, ERASE_CUSTOMERS, "erase customers' personal data")
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.erased_at is not None:
        raise CustomerErasedError(
            f"Customer #{customer.pk} was erased on {customer.erased_at:%Y-%m-%d}; there is nothing left to erase."
        )
    tokens = _personal_tokens(customer)
    case_ids = list(Case.objects.filter(customer=customer).values_list("pk", flat=True))
    messages = Message.objects.filter(case_id__in=case_ids)
    counts = {"cases": len(case_ids), "messages": messages.count()}
    counts["attachments"] = _attachments_erase(case_ids)
    messages.filter(direction=Message.Direction.IN).update(sender_name=ERASED)
    messages.update(subject=ERASED, body_text=ERASED, body_html="", full_text="", raw=b"", delivery_error="")
    for token in tokens:  # message ids sometimes carry the sender's address
        messages.filter(external_id__icontains=token).update(external_id=None)
    Delivery.objects.filter(message__case_id__in=case_ids).update(last_error="")
    QuarantinedMail.objects.filter(message__case_id__in=case_ids).delete()  # bounce reports: raw mail
    Note.objects.filter(case_id__in=case_ids).update(body=ERASED)
    Case.objects.filter(pk__in=case_ids).update(subject=ERASED)
    _case_events_scrub(case_ids, tokens)
    Notification.objects.filter(Q(customer=customer) | Q(case_id__in=case_ids)).update(text=ERASED)
    ExternalRecord.objects.filter(customer=customer).update(title="", attributes={})
    MatchSuggestion.objects.filter(Q(customer=customer) | Q(candidate=customer)).delete()
    CustomerMatchKey.objects.filter(customer=customer).delete()
    Follow.objects.filter(customer=customer).delete()
    customer.identities.all().delete()  # the messages keep their rows; their identity becomes empty
    CustomerEvent.objects.filter(customer=customer).exclude(kind__in=_IMPERSONAL_EVENTS).update(data={})
    customer.name = ""
    customer.name_key = ""
    customer.notes = ""
    customer.address = ""
    customer.interests = ""
    customer.field_sources = {}
    customer.erased_at = timezone.now()
    customer.save(
        update_fields=["name", "name_key", "notes", "address", "interests", "field_sources", "erased_at", "updated_at"]
    )
    CustomerEvent.objects.create(customer=customer, kind=CustomerEvent.Kind.ERASED, actor=actor, data=counts)
    audit_record(
        action="customer.erase",
        actor=actor,
        target=customer,
        target_label=audit_customer_label(customer.pk),
        detail={"via": "command line" if actor is None else "user", **counts},
    )


def _personal_tokens(customer: Customer) -> list[str]:
    """Return the strings that identify CUSTOMER (name, identity values), to find them in free-form data."""
    tokens = {customer.name.strip(), *customer.identities.values_list("value", flat=True)}
    return sorted(token for token in tokens if len(token) >= 3)


def _attachments_erase(case_ids: list[int]) -> int:
    """Delete the attachments of the cases' messages; delete their files after commit unless still used."""
    attachments = Attachment.objects.filter(message__case_id__in=case_ids)
    names = set(attachments.values_list("file", flat=True))
    count, _by_model = attachments.delete()
    still_used = set(Attachment.objects.filter(file__in=names).values_list("file", flat=True))
    orphaned = sorted(names - still_used)
    if orphaned:
        storage = Attachment.file.field.storage
        transaction.on_commit(lambda: _files_delete(storage, orphaned))
    return count


def _files_delete(storage: Any, names: list[str]) -> None:
    for name in names:
        try:
            storage.delete(name)
        except OSError:
            logger.exception("erasure: could not delete the attachment file %s; delete it by hand", name)


def _case_events_scrub(case_ids: list[int], tokens: list[str]) -> None:
    """Remove personal values from the timeline data of the cases (subjects, bounce texts, names)."""
    changed: list[CaseEvent] = []
    for event in CaseEvent.objects.filter(case_id__in=case_ids).only("pk", "kind", "data").iterator(chunk_size=2000):
        data = event.data if isinstance(event.data, dict) else {}
        cleaned = {key: _scrub(value, tokens) for key, value in data.items()}
        if "error" in cleaned:
            cleaned["error"] = ERASED
        if event.kind == CaseEvent.Kind.UPDATED and cleaned.get("field") == "subject":
            cleaned.update({key: ERASED for key in ("old", "new") if key in cleaned})
        if cleaned != data:
            event.data = cleaned
            changed.append(event)
    CaseEvent.objects.bulk_update(changed, ["data"], batch_size=500)


def _scrub(value: Any, tokens: list[str]) -> Any:
    """Return VALUE with every string that contains one of TOKENS (case-insensitively) replaced by ERASED."""
    if isinstance(value, str):
        folded = value.casefold()
        return ERASED if any(token.casefold() in folded for token in tokens) else value
    if isinstance(value, list):
        return [_scrub(item, tokens) for item in value]
    if isinstance(value, dict):
        return {key: _scrub(item, tokens) for key, item in value.items()}
    return value
