"""Background work of surveys."""

from __future__ import annotations

from django_tasks import task

from tiski.surveys.services import surveys_schedule


@task()
def survey_schedule(case_id: int) -> int:
    """Schedule the surveys of a case just solved (enqueued with the solve, so it runs once that commits)."""
    return len(surveys_schedule(case_id=case_id))
