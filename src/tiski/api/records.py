"""External records: bulk upserts from other systems, and a customer's records with links to the originals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import Status
from pydantic import ConfigDict

from tiski.accounts.roles import CHANGE_RECORDS, VIEW_CUSTOMERS
from tiski.accounts.scope import can_see_full_customer
from tiski.api.auth import require_perm
from tiski.api.errors import ApiError
from tiski.api.paging import PageIn, PageMeta, page_of
from tiski.api.schemas import AUTH_ERRORS, CustomerRef, ErrorOut, ObjectId
from tiski.api.selectors import customer_full_required
from tiski.customers.exceptions import RecordNotFoundError, RecordPermissionError, RecordSourceUnknownError
from tiski.customers.models import ExternalRecord
from tiski.customers.records import (
    RecordIn,
    record_delete,
    record_get,
    record_upsert_many,
    records_query,
    records_with_links,
)
from tiski.customers.selectors import customer_get

MAX_ROWS = 1000
KINDS = ", ".join(ExternalRecord.Kind.values)

router = Router(tags=["external records"])


@contextmanager
def _record_errors() -> Iterator[None]:
    try:
        yield
    except RecordNotFoundError as exc:
        raise ApiError(404, "record_not_found", str(exc)) from exc
    except RecordSourceUnknownError as exc:
        raise ApiError(400, "source_unknown", str(exc)) from exc
    except RecordPermissionError as exc:
        raise ApiError(403, "permission_denied", str(exc)) from exc


class RecordRowIn(Schema):
    """One record. Name its owner by one of customer_id, customer_email, customer_phone, and/or by
    organization_id or organization_domain; the owner must exist."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(max_length=50, description=f"One of {KINDS}.")
    external_id: str = Field(max_length=1000, description="The record's id in the source system (1–200 characters).")
    customer_id: int | None = Field(None, ge=1)
    customer_email: str | None = Field(None, max_length=320)
    customer_phone: str | None = Field(None, max_length=64)
    organization_id: int | None = Field(None, ge=1)
    organization_domain: str | None = Field(None, max_length=200)
    title: str = Field("", max_length=1000)
    status: str = Field(
        "", max_length=200, description='As the source says; stored lower-case snake ("In collection" → in_collection).'
    )
    date: str | None = Field(None, max_length=40, description="Ordered, issued, signed or visited on: YYYY-MM-DD.")
    due_date: str | None = Field(None, max_length=40, description="YYYY-MM-DD")
    renewal_date: str | None = Field(None, max_length=40, description="YYYY-MM-DD")
    amount: str | int | float | None = Field(
        None, description='A number with at most two decimals: 1234.5 or "1234.50".'
    )
    currency: str = Field("", max_length=10, description="A three-letter code such as EUR.")
    attributes: dict[str, Any] = Field(default_factory=dict, description="Anything else, as a JSON object.")

    def record_in(self, row: int) -> RecordIn:
        return RecordIn(
            kind=self.kind,
            external_id=self.external_id,
            customer_id=self.customer_id,
            customer_email=self.customer_email or "",
            customer_phone=self.customer_phone or "",
            organization_id=self.organization_id,
            organization_domain=self.organization_domain or "",
            title=self.title,
            status=self.status,
            date=self.date,
            due_date=self.due_date,
            renewal_date=self.renewal_date,
            amount=self.amount,
            currency=self.currency,
            attributes=self.attributes,
            row=row,
        )


class RecordsUpsertIn(Schema):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, max_length=50, description="The source system's id, e.g. erp.")
    records: list[RecordRowIn] = Field(max_length=MAX_ROWS, description=f"Up to {MAX_ROWS} records.")


class RejectionOut(Schema):
    row: int = Field(description="The record's position in `records`, counting from 1.")
    external_id: str
    reason: str


class UpsertOut(Schema):
    created: int
    updated: int
    unchanged: int = Field(description="Records whose every field was the same already; left untouched.")
    superseded: int = Field(description="Rows replaced by a later row with the same external_id in this request.")
    rejected: list[RejectionOut] = Field(description="Rows not stored, with the reason; the other rows are stored.")


class OrganizationRef(Schema):
    id: int
    name: str


class RecordOut(Schema):
    id: int
    kind: str
    source: str
    external_id: str
    customer: CustomerRef | None
    organization: OrganizationRef | None
    title: str
    status: str
    date: dt.date | None
    due_date: dt.date | None
    renewal_date: dt.date | None
    amount: str | None = Field(description='A decimal as text ("1234.50"), or null.')
    currency: str
    attributes: dict[str, Any]
    link: str | None = Field(description="The record's address in its source system, when the source has a link.")
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_amount(obj: ExternalRecord) -> str | None:
        return None if obj.amount is None else str(Decimal(obj.amount).quantize(Decimal("0.01")))

    @staticmethod
    def resolve_link(obj: ExternalRecord) -> str | None:
        return getattr(obj, "link", None)


class RecordPage(PageMeta):
    items: list[RecordOut]


class RecordFilters(Schema):
    kind: str | None = Field(None, description=f"Only records of this kind: {KINDS}.")


@router.put("/records", response={200: UpsertOut, 400: ErrorOut, **AUTH_ERRORS}, summary="Create or update records")
def records_upsert(request: HttpRequest, data: RecordsUpsertIn) -> Any:
    """Create or update up to 1000 records of one source by their external ids; answer what was done.

    A source system is the master of its records: every field is replaced by what is sent. Rows that
    cannot be stored (unknown kind or owner, a malformed date …) are listed in `rejected` with the reason,
    and the other rows are stored: the answer is 200 all the same. Sending the same rows again changes
    nothing (all unchanged).
    """
    user = require_perm(request, CHANGE_RECORDS, "change external records")
    rows = [row.record_in(position) for position, row in enumerate(data.records, start=1)]
    with _record_errors():
        return record_upsert_many(rows=rows, source=data.source, actor=user)


@router.get(
    "/customers/{customer_id}/records",
    response={200: RecordPage, 404: ErrorOut, **AUTH_ERRORS},
    summary="List a customer's records",
)
def customer_records(
    request: HttpRequest, customer_id: ObjectId, filters: Query[RecordFilters], page: Query[PageIn]
) -> dict[str, Any]:
    """List the customer's records and their organisation's, newest first."""
    user = require_perm(request, VIEW_CUSTOMERS, "see customers")
    customer = customer_get(user=user, customer_id=customer_id)
    customer_full_required(user=user, customer_id=customer_id)  # a partner agent sees no external records
    if filters.kind and filters.kind not in ExternalRecord.Kind.values:
        raise ApiError(400, "kind_unknown", f"Unknown kind {filters.kind!r}; use one of {KINDS}.")
    records = records_query(user=user, customer=customer, kind=filters.kind).select_related("customer", "organization")
    result = page_of(request, records, page)
    result["items"] = records_with_links(result["items"])
    return result


@router.get(
    "/records/{source}/{path:external_id}",
    response={200: RecordOut, 404: ErrorOut, **AUTH_ERRORS},
    summary="Get a record",
)
def records_get(request: HttpRequest, source: str, external_id: str) -> ExternalRecord:
    """Return the record SOURCE/EXTERNAL_ID (an external id may contain slashes)."""
    user = require_perm(request, VIEW_CUSTOMERS, "see customers")
    if not can_see_full_customer(user):  # a partner agent sees no external records
        raise ApiError(404, "record_not_found", f"No record {external_id!r} from {source!r}.")
    with _record_errors():
        return record_get(user=user, source=source, external_id=external_id)


@router.delete(
    "/records/{source}/{path:external_id}",
    response={204: None, 404: ErrorOut, **AUTH_ERRORS},
    summary="Delete a record",
)
def records_delete(request: HttpRequest, source: str, external_id: str) -> Status[None]:
    """Delete the record SOURCE/EXTERNAL_ID."""
    user = require_perm(request, CHANGE_RECORDS, "change external records")
    with _record_errors():
        record_delete(source=source, external_id=external_id, actor=user)
    return Status(204, None)
