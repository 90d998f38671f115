"""The case page's feedback panel: each survey of the case, its score, comment, when and whom it asked."""

from __future__ import annotations

from typing import Any

from django import template

from tiski.cases.models import Case
from tiski.surveys.selectors import survey_feedback_for_case

register = template.Library()


@register.inclusion_tag("surveys/_panel.html")
def survey_panel(case: Case) -> dict[str, Any]:
    """The feedback of CASE (two queries)."""
    feedback = survey_feedback_for_case(case_id=case.pk)
    return {"feedback": feedback, "case": case}
