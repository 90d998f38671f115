"""Reads of surveys: a case's feedback, the responses list with its filters and figures, the timeline's texts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Avg, Count, Q, QuerySet
from django.utils.translation import gettext as _

from tiski.surveys.models import NEGATIVE_AT_MOST, POSITIVE_AT_LEAST, SCALE, Kind, SurveyInvitation, SurveyResponse

BANDS = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class CaseFeedback:
    invitation: SurveyInvitation | None
    response: SurveyResponse | None
    kind: str


def survey_feedback_for_case(*, case_id: int) -> list[CaseFeedback]:
    """Return each survey of case CASE_ID: sent or skipped, and its answer (one query: an imported answer has its
    invitation too, see services.survey_import)."""
    invitations = SurveyInvitation.objects.filter(case_id=case_id).select_related("agent", "customer", "response")
    found = []
    for invitation in invitations.order_by("kind"):
        response = getattr(invitation, "response", None)
        found.append(CaseFeedback(invitation, response, invitation.kind))
    return found


def band_filter(kind: str | None, band: str) -> Q:
    """Return the condition of responses in BAND (negative, neutral, positive) of their kind (or of KIND)."""
    parts = Q()
    for each in [kind] if kind else Kind.values:
        low_top, high_bottom = NEGATIVE_AT_MOST[each], POSITIVE_AT_LEAST[each]
        if band == "negative":
            parts |= Q(kind=each, score__lte=low_top)
        elif band == "positive":
            parts |= Q(kind=each, score__gte=high_bottom)
        else:
            parts |= Q(kind=each, score__gt=low_top, score__lt=high_bottom)
    return parts


def responses_list(
    *,
    kind: str = "",
    band: str = "",
    agent_id: int | None = None,
    team_id: int | None = None,
    case_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[SurveyResponse]:
    """Return the responses matching the filters, newest first (an unknown kind or band filters nothing out)."""
    rows = SurveyResponse.objects.select_related("case", "customer", "agent", "team").order_by("-answered_at", "-pk")
    if kind in Kind.values:
        rows = rows.filter(kind=kind)
    if band in BANDS:
        rows = rows.filter(band_filter(kind if kind in Kind.values else None, band))
    if agent_id:
        rows = rows.filter(agent_id=agent_id)
    if team_id:
        rows = rows.filter(team_id=team_id)
    if case_id:
        rows = rows.filter(case_id=case_id)
    if since is not None:
        rows = rows.filter(answered_at__gte=since)
    if until is not None:
        rows = rows.filter(answered_at__lt=until)
    return rows


@dataclass(frozen=True)
class Figures:
    kind: str
    count: int
    average: float | None
    negative: int
    positive: int

    @property
    def score(self) -> int | None:
        """CSAT: the share of satisfied answers (4–5), %; NPS: promoters % − detractors % (−100…100)."""
        if not self.count:
            return None
        if self.kind == Kind.NPS:
            return round(100 * (self.positive - self.negative) / self.count)
        return round(100 * self.positive / self.count)


def responses_figures(rows: QuerySet[SurveyResponse]) -> list[Figures]:
    """Return the count, average and score of ROWS per kind (one query)."""
    found = []
    for kind in Kind.values:
        agg = (
            rows.order_by()
            .filter(kind=kind)
            .aggregate(
                count=Count("pk"),
                average=Avg("score"),
                negative=Count("pk", filter=Q(score__lte=NEGATIVE_AT_MOST[kind])),
                positive=Count("pk", filter=Q(score__gte=POSITIVE_AT_LEAST[kind])),
            )
        )
        found.append(Figures(kind=kind, **agg))
    return found


def survey_event_text(kind: str, data: dict[str, Any]) -> str:
    """Return the timeline's sentence for a survey sent or answered (active language)."""
    survey = str(data.get("survey") or "").upper() or "–"
    if kind == "survey_sent":
        via = {
            "email": _("by email"),
            "sms": _("by SMS"),
            "whatsapp": _("on WhatsApp"),
            "messenger": _("on Messenger"),
            "instagram": _("on Instagram"),
            "chat": _("as the chat's end card"),
        }.get(str(data.get("via") or ""), "")
        return " ".join(filter(None, [_("%(survey)s survey sent") % {"survey": survey}, via]))
    high = data.get("scale_max") or SCALE.get(str(data.get("survey") or ""), (0, 0))[1]
    text = _("%(survey)s survey answered: %(score)s / %(high)s") % {
        "survey": survey,
        "score": data.get("score", "–"),
        "high": high,
    }
    if data.get("changed"):
        text += " · " + _("answer changed")
    if data.get("source") == SurveyResponse.Source.IMPORT:
        text += " · " + _("imported")
    if data.get("comment"):
        text += f" · “{data['comment']}”"
    return text
