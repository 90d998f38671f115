"""The import API (idempotent, clear errors), the responses list, and the console pages' permissions."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.api.conftest import Api, token_for
from tests.conftest import PASSWORD
from tests.surveys.conftest import sent
from tiski.cases.models import Case, CaseEvent
from tiski.surveys.models import SurveyResponse, SurveySettings
from tiski.surveys.services import survey_answer

pytestmark = pytest.mark.django_db


def answer(case: Case, **extra: Any) -> dict[str, Any]:
    return {"case_reference": case.reference, "kind": "nps", "score": 9, "external_id": "typeform-1", **extra}


def test_an_imported_answer_is_stored_once_and_shows_on_the_case(receive, administrator, agent) -> None:
    case = receive().case
    api = Api(token_for(administrator))
    first = api.post("/survey-responses", answer(case, comment="Great shop", answered_at="2026-11-20T10:00:00"))
    assert first.status_code == 201, first.content
    body = first.json()
    assert (body["score"], body["source"], body["case_reference"], body["created"]) == (
        9,
        "import",
        case.reference,
        True,
    )
    assert body["answered_at"].startswith("2026-11-20T10:00:00")
    again = api.post("/survey-responses", answer(case, comment="Great shop", answered_at="2026-11-20T10:00:00"))
    assert again.status_code == 200 and again.json()["id"] == body["id"] and again.json()["created"] is False
    assert SurveyResponse.objects.count() == 1
    assert CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.SURVEY_ANSWERED).count() == 1
    changed = api.post("/survey-responses", answer(case, score=3, comment="Changed my mind"))
    assert changed.status_code == 200 and changed.json()["score"] == 3 and SurveyResponse.objects.count() == 1


def test_bad_imports_are_refused_saying_why(receive, administrator) -> None:
    case = receive().case
    api = Api(token_for(administrator))
    unknown = api.post("/survey-responses", answer(case, case_reference="TSK-999999"))
    assert unknown.status_code == 404 and unknown.json()["code"] == "case_not_found"
    assert "TSK-999999" in unknown.json()["detail"]
    off_scale = api.post("/survey-responses", answer(case, score=11))
    assert off_scale.status_code == 400 and off_scale.json()["detail"] == "A NPS score is a whole number from 0 to 10."
    kind = api.post("/survey-responses", answer(case, kind="ces"))
    assert kind.status_code == 400 and "csat or nps" in kind.json()["detail"]
    missing = api.post("/survey-responses", {"case_reference": case.reference, "kind": "csat", "score": 3})
    assert missing.status_code == 422
    assert not SurveyResponse.objects.exists()


def test_only_allowed_users_import_and_list(receive, agent, team_lead) -> None:
    case = receive().case
    assert Api(token_for(agent)).post("/survey-responses", answer(case)).status_code == 403
    assert Api(token_for(agent)).get("/survey-responses").status_code == 403
    assert Api(token_for(team_lead)).get("/survey-responses").status_code == 200


def test_the_list_filters_by_kind_band_agent_and_team(solved, agent, team_lead) -> None:
    case = solved()
    survey_answer(invitation=sent(case), score=2, comment="Slow")
    api = Api(token_for(team_lead))
    rows = api.get("/survey-responses", {"kind": "csat", "band": "negative", "agent": "maija"}).json()
    assert [(r["score"], r["agent"], r["comment"]) for r in rows["items"]] == [(2, "maija", "Slow")]
    assert api.get("/survey-responses", {"band": "positive"}).json()["items"] == []
    assert api.get("/survey-responses", {"band": "awful"}).status_code == 400
    assert api.get("/survey-responses", {"agent": "ghost"}).json()["code"] == "agent_unknown"


def login(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def test_the_settings_page_is_for_administrators_only(agent, team_lead, administrator) -> None:
    assert login("maija").get("/console/surveys/settings/").status_code == 403
    assert login("minna").get("/console/surveys/settings/").status_code == 403
    assert login("minna").post("/console/surveys/settings/", {}).status_code == 403
    admin = login("admin")
    assert admin.get("/console/surveys/settings/").status_code == 200
    data = {
        f"{kind}-{name}": value
        for kind in ("csat", "nps")
        for name, value in {
            "delay_minutes": "30",
            "sample_percent": "50",
            "throttle_days": "14",
            "link_valid_days": "7",
            "channel_kinds": ["email", "chat"],
        }.items()
    }
    data["csat-enabled"] = "on"
    assert admin.post("/console/surveys/settings/", data).status_code == 302
    csat = SurveySettings.objects.get(kind="csat")
    assert (csat.enabled, csat.delay_minutes, csat.sample_percent, csat.channel_kinds) == (
        True,
        30,
        50,
        ["chat", "email"],
    )
    assert not SurveySettings.objects.get(kind="nps").enabled
    data["csat-sample_percent"] = "150"
    assert admin.post("/console/surveys/settings/", data).status_code == 400


def test_the_responses_page_is_for_team_leads_and_the_agent_sees_feedback_on_the_case(solved, agent, team_lead) -> None:
    case = solved()
    survey_answer(invitation=sent(case), score=2, comment="Vastaus ei auttanut")
    assert login("maija").get("/console/surveys/").status_code == 403
    page = login("minna").get("/console/surveys/?kind=csat&band=negative")
    assert page.status_code == 200 and "Vastaus ei auttanut" in page.content.decode()
    case_page = login("maija").get(f"/console/cases/{case.reference}/").content.decode()
    assert 'id="survey-feedback"' in case_page and "Vastaus ei auttanut" in case_page
    assert "CSAT survey answered: 2 / 5" in case_page


def test_the_case_page_shows_a_survey_whose_agent_is_gone(solved, agent, team_lead) -> None:
    case = solved()
    invitation = sent(case)
    invitation.agent = None  # the agent's account was deleted since (SET_NULL)
    invitation.save(update_fields=["agent"])
    page = login("minna").get(f"/console/cases/{case.reference}/")
    assert page.status_code == 200
    assert "about the service of –" in page.content.decode()
