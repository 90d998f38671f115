"""Survey responses in the API: import answers an external survey tool collected, and list the responses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import Status
from pydantic import ConfigDict

from tiski.api.auth import require_perm
from tiski.api.errors import ApiError
from tiski.api.paging import PageIn, PageMeta, page_of
from tiski.api.schemas import AUTH_ERRORS, ErrorOut
from tiski.api.timestamps import aware
from tiski.surveys.models import Kind, SurveyResponse
from tiski.surveys.selectors import BANDS, responses_list
from tiski.surveys.services import SurveyCaseUnknownError, SurveyInvalidError, survey_import

IMPORT_RESPONSES = "surveys.add_surveyresponse"
VIEW_RESPONSES = "surveys.view_surveyresponse"

router = Router(tags=["surveys"])


class SurveyResponseIn(Schema):
    model_config = ConfigDict(extra="forbid")

    case_reference: str = Field(min_length=1, max_length=50, description='The case the answer is about: "TSK-1042".')
    kind: str = Field(description="csat (score 1–5) or nps (score 0–10).")
    score: int = Field(description="The customer's score on the kind's scale.")
    comment: str = Field("", max_length=5000, description="The customer's comment, if any.")
    external_id: str = Field(
        min_length=1,
        max_length=200,
        description="The answer's id in the survey tool: sending it again is idempotent (a changed score or "
        "comment replaces the stored one).",
    )
    answered_at: datetime | None = Field(None, description="When the customer answered (ISO 8601); default: now.")


class SurveyResponseOut(Schema):
    id: int
    kind: str
    score: int
    negative: bool = Field(description="CSAT 1–2, NPS 0–6.")
    comment: str
    source: str = Field(description="link (the survey page), chat (the chat's end card) or import.")
    external_id: str | None
    case_reference: str | None = Field(description="Null for an anonymous survey's answer.")
    customer_id: int | None
    agent: str | None = Field(description="The user name of the case's owner when it was solved.")
    team: str | None
    channel_kind: str
    language: str
    answered_at: datetime
    created: bool = Field(False, description="Import only: false when this external_id was stored before.")

    @staticmethod
    def resolve_case_reference(obj: SurveyResponse) -> str | None:
        return obj.case.reference if obj.case_id and obj.case else None

    @staticmethod
    def resolve_agent(obj: SurveyResponse) -> str | None:
        return obj.agent.username if obj.agent_id and obj.agent else None

    @staticmethod
    def resolve_team(obj: SurveyResponse) -> str | None:
        return obj.team.name if obj.team_id and obj.team else None

    @staticmethod
    def resolve_created(obj: SurveyResponse) -> bool:
        return bool(getattr(obj, "created", False))


class SurveyResponsePage(PageMeta):
    items: list[SurveyResponseOut]


class SurveyResponseFilters(Schema):
    kind: str | None = Field(None, description="csat or nps.")
    band: str | None = Field(
        None, description="negative (CSAT 1–2, NPS 0–6), neutral or positive (CSAT 4–5, NPS 9–10)."
    )
    agent: str | None = Field(None, description="The agent's user name.")
    team: str | None = Field(None, description="The team's name.")
    case_reference: str | None = Field(None, description='Only the answers about this case: "TSK-1042".')
    since: datetime | None = Field(None, description="Answered at or after (ISO 8601).")
    until: datetime | None = Field(None, description="Answered before (ISO 8601).")


@router.post(
    "/survey-responses",
    response={200: SurveyResponseOut, 201: SurveyResponseOut, 400: ErrorOut, 404: ErrorOut, **AUTH_ERRORS},
    summary="Import a survey answer",
)
def survey_responses_import(request: HttpRequest, data: SurveyResponseIn) -> Status[SurveyResponse]:
    """Store an answer an external survey tool collected about a case: it shows on the case and the customer,
    feeds the reports and runs the "survey answered" automation rules (a low score: a follow-up task).

    Answers 201 when new, 200 when the external_id was imported before (changed or not), 404 for an unknown
    case, 400 for a kind or score Tiski does not take.
    """
    require_perm(request, IMPORT_RESPONSES, "import survey answers")
    try:
        response, created = survey_import(
            case_reference=data.case_reference,
            kind=data.kind,
            score=data.score,
            comment=data.comment,
            external_id=data.external_id,
            answered_at=aware(data.answered_at) if data.answered_at else None,
        )
    except SurveyCaseUnknownError as error:
        raise ApiError(404, "case_not_found", str(error)) from None
    except SurveyInvalidError as error:
        raise ApiError(400, "survey_invalid", str(error)) from None
    response.created = created  # type: ignore[attr-defined]
    return Status(201 if created else 200, response)


@router.get(
    "/survey-responses",
    response={200: SurveyResponsePage, 400: ErrorOut, **AUTH_ERRORS},
    summary="List survey responses",
)
def survey_responses_list(
    request: HttpRequest, filters: Query[SurveyResponseFilters], page: Query[PageIn]
) -> dict[str, Any]:
    """List survey answers, newest first, with their case, agent, team and channel (for reports and BI)."""
    require_perm(request, VIEW_RESPONSES, "see survey responses")
    if filters.kind and filters.kind not in Kind.values:
        raise ApiError(400, "kind_unknown", f"Unknown kind {filters.kind!r}; use csat or nps.")
    if filters.band and filters.band not in BANDS:
        raise ApiError(400, "band_unknown", f"Unknown band {filters.band!r}; use {', '.join(BANDS)}.")
    agent_id = team_id = case_id = None
    if filters.agent:
        from django.contrib.auth.models import User

        agent_id = User.objects.filter(username=filters.agent).values_list("pk", flat=True).first()
        if agent_id is None:
            raise ApiError(400, "agent_unknown", f"There is no user {filters.agent!r}.")
    if filters.team:
        from tiski.accounts.models import Team

        team_id = Team.objects.filter(name=filters.team).values_list("pk", flat=True).first()
        if team_id is None:
            raise ApiError(400, "team_unknown", f"There is no team {filters.team!r}.")
    if filters.case_reference:
        from tiski.cases.references import case_pk_from_reference

        case_id = case_pk_from_reference(filters.case_reference) or -1
    rows = responses_list(
        kind=filters.kind or "",
        band=filters.band or "",
        agent_id=agent_id,
        team_id=team_id,
        case_id=case_id,
        since=aware(filters.since) if filters.since else None,
        until=aware(filters.until) if filters.until else None,
    )
    return page_of(request, rows, page)
