"""Fixtures of the survey tests: a solved case on the web form (answered by email), survey settings turned on."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from tests.channels.sms.fixtures import sms_channel, twilio  # noqa: F401  (fixtures)
from tiski.cases.models import Case
from tiski.cases.services import case_update
from tiski.surveys.models import Kind, SurveyInvitation
from tiski.surveys.services import survey_settings_update, surveys_due_run


@pytest.fixture
def csat_on(db) -> Any:  # type: ignore[no-untyped-def]
    return survey_settings_update(
        kind=Kind.CSAT,
        data={"enabled": True, "delay_minutes": 60, "sample_percent": 100, "throttle_days": 7, "link_valid_days": 14},
        actor=None,
    )


def solve(case: Case, agent: Any) -> Case:
    """Have AGENT own and solve CASE; return it fresh."""
    if case.owner_id is None:
        case_update(case=case, actor=agent, owner=agent)
    case_update(case=case, actor=agent, status=Case.Status.SOLVED)
    case.refresh_from_db()
    return case


@pytest.fixture
def solved(receive, agent, csat_on, run_tasks) -> Callable[..., Case]:  # type: ignore[no-untyped-def]
    """Return a factory: a web-form case from EMAIL, solved by the agent, its survey scheduled."""

    def make(email: str = "anssi@example.com", **extra: Any) -> Case:
        case = solve(receive(email=email, **extra).case, agent)
        run_tasks()
        return case

    return make


def sent(case: Case, *, kind: str = Kind.CSAT, at: datetime | None = None) -> SurveyInvitation:
    """Run the survey clock past CASE's due time and return its invitation."""
    invitation = SurveyInvitation.objects.get(case=case, kind=kind)
    surveys_due_run(now=at or invitation.due_at + timedelta(seconds=1))
    invitation.refresh_from_db()
    return invitation


def later(minutes: float) -> datetime:
    return timezone.now() + timedelta(minutes=minutes)
