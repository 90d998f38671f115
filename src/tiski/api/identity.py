"""Customer identity: match suggestions (accept, reject), merging two customers, splitting an identity off."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.responses import Status

from tiski.accounts.roles import CHANGE_CUSTOMERS, MERGE_CUSTOMERS, VIEW_CUSTOMERS
from tiski.api.auth import require_perm
from tiski.api.customers import CustomerOut
from tiski.api.errors import ApiError
from tiski.api.schemas import AUTH_ERRORS, CustomerRef, ErrorOut, ObjectId
from tiski.customers.exceptions import CustomerMergeError, IdentitySplitError, SuggestionDecidedError
from tiski.customers.models import Customer, MatchSuggestion
from tiski.customers.selectors import customer_get, identity_get, suggestion_get, suggestions_open
from tiski.customers.services import customer_merge, identity_split, suggestion_accept, suggestion_reject

router = Router(tags=["customer identity"])

# The refusals of these services, as answers (status, code).
_REFUSALS: dict[type[Exception], tuple[int, str]] = {
    CustomerMergeError: (409, "merge_refused"),
    IdentitySplitError: (409, "split_refused"),
    SuggestionDecidedError: (409, "suggestion_decided"),
}


@contextmanager
def _refusals() -> Iterator[None]:
    try:
        yield
    except tuple(_REFUSALS) as exc:
        status, code = next(mapped for cls, mapped in _REFUSALS.items() if isinstance(exc, cls))
        raise ApiError(status, code, str(exc)) from exc


class ReasonOut(Schema):
    kind: str = Field(description="name, profile_name, email_local, organization or phone.")
    detail: str = Field(description='For a person: "Anssi Asiakas = Anssi Asiakas".')
    points: int = Field(description="What this evidence adds to the score.")


class CandidateOut(CustomerRef):
    organization: str = Field(description="The candidate's organisation, or an empty string.")

    @staticmethod
    def resolve_organization(obj: Customer) -> str:
        return obj.organization.name if obj.organization_id and obj.organization else ""


class SuggestionOut(Schema):
    id: int
    customer_id: int = Field(description="The provisional customer the contact created.")
    candidate: CandidateOut = Field(description="The known customer it probably is.")
    score: int = Field(description="0–100: how likely the two are one person.")
    reasons: list[ReasonOut]
    status: str = Field(description="open, accepted or rejected.")
    created_at: datetime


class MergeIn(Schema):
    other_id: ObjectId = Field(description="The customer merged into this one; it is deleted.")


@router.get(
    "/customers/{customer_id}/suggestions",
    response={200: list[SuggestionOut], 404: ErrorOut, **AUTH_ERRORS},
    summary="Likely matches of a provisional customer",
)
def suggestions_list(request: HttpRequest, customer_id: ObjectId) -> list[MatchSuggestion]:
    """List the open suggestions of who this (provisional) customer probably is, best first."""
    user = require_perm(request, VIEW_CUSTOMERS, "see customers")
    return suggestions_open(user=user, customer=customer_get(user=user, customer_id=customer_id))


@router.post(
    "/suggestions/{suggestion_id}/accept",
    response={200: CustomerOut, 404: ErrorOut, 409: ErrorOut, **AUTH_ERRORS},
    summary="Link a provisional customer to the suggested one",
)
def suggestions_accept(request: HttpRequest, suggestion_id: ObjectId) -> Customer:
    """Merge the provisional customer into the suggested known customer and return that customer."""
    user = require_perm(request, CHANGE_CUSTOMERS, "link customers")
    with _refusals():
        master = suggestion_accept(suggestion=suggestion_get(user=user, suggestion_id=suggestion_id), actor=user)
    return customer_get(user=user, customer_id=master.pk)


@router.post(
    "/suggestions/{suggestion_id}/reject",
    response={200: SuggestionOut, 404: ErrorOut, 409: ErrorOut, **AUTH_ERRORS},
    summary="Reject a suggested match",
)
def suggestions_reject(request: HttpRequest, suggestion_id: ObjectId) -> MatchSuggestion:
    """Mark the suggestion wrong; it is not made again."""
    user = require_perm(request, CHANGE_CUSTOMERS, "reject suggestions")
    with _refusals():
        return suggestion_reject(suggestion=suggestion_get(user=user, suggestion_id=suggestion_id), actor=user)


@router.post(
    "/customers/{customer_id}/merge",
    response={200: CustomerOut, 404: ErrorOut, 409: ErrorOut, **AUTH_ERRORS},
    summary="Merge another customer into this one",
)
def customers_merge(request: HttpRequest, customer_id: ObjectId, data: MergeIn) -> Customer:
    """Move everything of `other_id` to this customer (identities, cases, records, history) and delete it.

    Conflicting fields are resolved by the master-data rules. Team leads and administrators only.
    """
    user = require_perm(request, MERGE_CUSTOMERS, "merge customers")
    master = customer_get(user=user, customer_id=customer_id)
    other = customer_get(user=user, customer_id=data.other_id)
    with _refusals():
        customer_merge(master=master, other=other, actor=user)
    return customer_get(user=user, customer_id=master.pk)


@router.post(
    "/identities/{identity_id}/split",
    response={201: CustomerOut, 404: ErrorOut, 409: ErrorOut, **AUTH_ERRORS},
    summary="Split an identity off to a new customer",
)
def identities_split(request: HttpRequest, identity_id: ObjectId) -> Status[Customer]:
    """Move a wrongly linked identity, with the cases it opened, to a new customer; return that customer."""
    user = require_perm(request, MERGE_CUSTOMERS, "split customers")
    with _refusals():
        new = identity_split(identity=identity_get(user=user, identity_id=identity_id), actor=user)
    return Status(201, customer_get(user=user, customer_id=new.pk))
