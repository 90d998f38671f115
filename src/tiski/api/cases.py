"""Cases: list with the inbox's filters, get by id or reference, create, update; internal notes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema
from ninja.responses import Status
from pydantic import model_validator

from tiski.accounts.roles import WORK_CASES
from tiski.api.auth import require_case_reader, require_perm
from tiski.api.paging import PageIn, PageMeta, page_of
from tiski.api.schemas import (
    AUTH_ERRORS,
    OMITTED,
    PRIORITY_BY_NAME,
    PRIORITY_NAME,
    CaseStatus,
    CaseType,
    CategoryRef,
    ChannelRef,
    CustomerRef,
    ErrorOut,
    ObjectId,
    PriorityName,
    TeamRef,
    UserRef,
)
from tiski.api.selectors import (
    CASE_RELATED,
    case_by_ref,
    case_with_related,
    category_ref,
    channel_ref_for,
    customer_ref_for,
    note_list_for_case,
    team_ref,
    user_ref_active,
)
from tiski.api.timestamps import aware
from tiski.cases.models import Case, Note
from tiski.cases.selectors import CaseFilters, case_list
from tiski.cases.services import case_create, case_update, note_add

router = Router(tags=["cases"])

CaseRef = Annotated[str, Path(description='The case\'s id (1) or its reference ("TSK-1001").', max_length=40)]


class CaseOut(Schema):
    id: int
    reference: str = Field(description='The human-readable reference, e.g. "TSK-1042".')
    subject: str
    status: str = Field(description="new, open, pending, on_hold, solved or closed.")
    priority: PriorityName
    type: str = Field(description="question, incident, problem, task or complaint.")
    category: CategoryRef | None
    customer: CustomerRef
    owner: UserRef | None = Field(description="The agent who owns the case, or null when unassigned.")
    team: TeamRef | None
    channel: ChannelRef | None = Field(description="The channel the case came in on; replies leave on it.")
    tags: list[str]
    parent_id: int | None = Field(description="The case this one is part of, if any.")
    related_ids: list[int] = Field(description="Ids of related cases (e.g. an earlier case this one follows up).")
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    solved_at: datetime | None
    closed_at: datetime | None

    @staticmethod
    def resolve_priority(obj: Case) -> str:
        return PRIORITY_NAME.get(obj.priority, "normal")

    @staticmethod
    def resolve_tags(obj: Case) -> list[str]:
        return [tag.name for tag in obj.tags.all()]

    @staticmethod
    def resolve_related_ids(obj: Case) -> list[int]:
        return sorted(case.pk for case in obj.related.all())


class CasePage(PageMeta):
    items: list[CaseOut]


class CaseFiltersIn(Schema):
    status: list[CaseStatus | Literal["active"]] = Field(
        default_factory=list, description='Repeat for several; "active" means every status that still needs work.'
    )
    priority: list[PriorityName] = Field(default_factory=list, description="Repeat for several.")
    channel_id: list[ObjectId] = Field(default_factory=list, description="Repeat for several.")
    team_id: list[ObjectId] = Field(default_factory=list, description="Repeat for several.")
    owner_id: ObjectId | None = Field(None, description="Cases owned by this user.")
    owner: Literal["me", "unassigned"] | None = Field(None, description="me: the token's user; unassigned: no owner.")
    customer_id: ObjectId | None = None
    q: str = Field("", max_length=200, description="A reference, a part of the subject or name, or a whole identity.")
    updated_since: datetime | None = Field(
        None, description="Only cases changed at or after this time (ISO 8601; UTC without an offset)."
    )

    @model_validator(mode="after")
    def _one_owner_filter(self) -> CaseFiltersIn:
        if self.owner_id is not None and self.owner is not None:
            raise ValueError("give owner or owner_id, not both")
        return self

    def to_filters(self) -> CaseFilters:
        return CaseFilters(
            status=list(self.status),
            priority=[PRIORITY_BY_NAME[name] for name in self.priority],
            channel=list(self.channel_id),
            team=list(self.team_id),
            owner=str(self.owner_id) if self.owner_id is not None else (self.owner or ""),
            customer=self.customer_id,
            q=self.q,
            updated_since=aware(self.updated_since) if self.updated_since else None,
        )


class CaseIn(Schema):
    customer_id: ObjectId
    subject: str = Field(min_length=1, max_length=300)
    description: str = Field(
        "", max_length=100_000, description="Stored as the customer's first message on channel_id, which it then needs."
    )
    channel_id: ObjectId | None = Field(None, description="The channel replies leave on.")
    priority: PriorityName = "normal"
    type: CaseType = "question"
    category_id: ObjectId | None = None
    tags: list[str] = Field(default_factory=list, max_length=50)


class CasePatch(Schema):
    status: CaseStatus = Field(OMITTED, description="Closed is final: a closed case cannot be changed.")
    priority: PriorityName = Field(OMITTED)
    owner_id: ObjectId | None = Field(
        None, description="Null unassigns. Assigning to someone else, or taking over, needs a team lead."
    )
    team_id: ObjectId | None = Field(None, description="Null removes the team. Needs a team lead.")
    subject: str = Field(OMITTED, min_length=1, max_length=300)
    type: CaseType = Field(OMITTED)
    category_id: ObjectId | None = Field(None, description="Null removes the category.")
    tags: list[str] = Field(OMITTED, max_length=50, description="Replaces the case's tags.")


class NoteIn(Schema):
    body: str = Field(min_length=1, max_length=100_000, description="Seen by agents only, never sent to the customer.")


class NoteOut(Schema):
    id: int
    case_id: int
    author: UserRef | None
    body: str
    created_at: datetime


class NotePage(PageMeta):
    items: list[NoteOut]


CASE_ERRORS: dict[int, type[Schema]] = {400: ErrorOut, 404: ErrorOut, 409: ErrorOut, **AUTH_ERRORS}


@router.get("/cases", response={200: CasePage, **AUTH_ERRORS}, summary="List cases")
def cases_list(request: HttpRequest, filters: Query[CaseFiltersIn], page: Query[PageIn]) -> dict[str, Any]:
    """List the cases matching the filters, most recently updated first."""
    user = require_case_reader(request)
    cases = case_list(user=user, filters=filters.to_filters()).prefetch_related(*CASE_RELATED)
    return page_of(request, cases, page)


@router.get("/cases/{case_ref}", response={200: CaseOut, 404: ErrorOut, **AUTH_ERRORS}, summary="Get a case")
def cases_get(request: HttpRequest, case_ref: CaseRef) -> Case:
    """Return one case by id or reference."""
    user = require_case_reader(request)
    return case_with_related(case_by_ref(user=user, ref=case_ref))


@router.post("/cases", response={201: CaseOut, **CASE_ERRORS}, summary="Create a case")
def cases_create(request: HttpRequest, data: CaseIn) -> Status[Case]:
    """Open a case for a customer, as the token's user. A description needs channel_id."""
    user = require_perm(request, WORK_CASES, "work on cases")
    case = case_create(
        customer=customer_ref_for(user=user, pk=data.customer_id),
        subject=data.subject,
        actor=user,
        channel=channel_ref_for(user=user, pk=data.channel_id) if data.channel_id is not None else None,
        description=data.description,
        priority=PRIORITY_BY_NAME[data.priority],
        type=data.type,
        category=category_ref(data.category_id) if data.category_id is not None else None,
        tags=data.tags,
    )
    return Status(201, case_with_related(case))


@router.patch("/cases/{case_ref}", response={200: CaseOut, **CASE_ERRORS}, summary="Update a case")
def cases_update(request: HttpRequest, case_ref: CaseRef, data: CasePatch) -> Case:
    """Change the fields given, each recorded on the case's timeline. A closed case answers 409."""
    user = require_perm(request, WORK_CASES, "work on cases")
    case = case_by_ref(user=user, ref=case_ref)
    given = data.model_dump(exclude_unset=True)
    changes: dict[str, Any] = {}
    for field in ("status", "type", "subject", "tags"):
        if field in given:
            changes[field] = given[field]
    if "priority" in given:
        changes["priority"] = PRIORITY_BY_NAME[given["priority"]]
    if "owner_id" in given:
        changes["owner"] = user_ref_active(given["owner_id"]) if given["owner_id"] is not None else None
    if "team_id" in given:
        changes["team"] = team_ref(given["team_id"]) if given["team_id"] is not None else None
    if "category_id" in given:
        changes["category"] = category_ref(given["category_id"]) if given["category_id"] is not None else None
    case_update(case=case, actor=user, **changes)
    return case_with_related(case)


@router.get(
    "/cases/{case_ref}/notes", response={200: NotePage, 404: ErrorOut, **AUTH_ERRORS}, summary="List internal notes"
)
def notes_list(request: HttpRequest, case_ref: CaseRef, page: Query[PageIn]) -> dict[str, Any]:
    """List the case's internal notes, oldest first."""
    user = require_case_reader(request)
    return page_of(request, note_list_for_case(case=case_by_ref(user=user, ref=case_ref)), page)


@router.post("/cases/{case_ref}/notes", response={201: NoteOut, **CASE_ERRORS}, summary="Add an internal note")
def notes_create(request: HttpRequest, case_ref: CaseRef, data: NoteIn) -> Status[Note]:
    """Add an internal note to the case, as the token's user."""
    user = require_perm(request, WORK_CASES, "work on cases")
    return Status(201, note_add(case=case_by_ref(user=user, ref=case_ref), actor=user, body=data.body))
