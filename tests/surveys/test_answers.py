"""Answering: the signed link (tampered 400, expired 410), changing the answer, and what a low score sets off."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.surveys.conftest import sent
from tiski.cases.models import Case, CaseEvent
from tiski.customers.models import Customer
from tiski.customers.signal_rules import signals_for
from tiski.notifications.models import Notification
from tiski.surveys.links import survey_token
from tiski.surveys.models import SurveyInvitation, SurveyResponse
from tiski.surveys.services import survey_answer

pytestmark = pytest.mark.django_db


def page(invitation: SurveyInvitation) -> str:
    return f"/survey/{survey_token(invitation)}/"


def test_the_page_asks_in_the_customers_language_and_shows_only_the_reference_and_company(solved) -> None:
    case = solved()
    Customer.objects.filter(pk=case.customer_id).update(language="fi")
    invitation = sent(case)
    response = Client().get(page(invitation) + "?score=4")
    html = response.content.decode()
    assert response.status_code == 200 and response["Content-Language"] == "fi"
    assert "Miten onnistuimme?" in html and case.reference in html and "Tiski" in html
    assert case.subject not in html and "maija" not in html.lower() and "anssi@example.com" not in html
    assert 'value="4" required checked' in html
    assert not SurveyResponse.objects.exists()  # opening a link (a mail scanner) answers nothing


def test_an_answer_is_stored_with_whom_it_is_about_and_can_be_changed_until_expiry(solved, agent) -> None:
    case = solved()
    invitation = sent(case)
    client = Client(enforce_csrf_checks=True)
    assert client.post(page(invitation), {"score": "5"}).status_code == 403  # CSRF is on
    client.get(page(invitation))
    token = client.cookies["csrftoken"].value
    answered = client.post(page(invitation), {"score": "4", "comment": "Nopeaa", "csrfmiddlewaretoken": token})
    assert answered.status_code == 302 and "done=1" in answered["Location"]
    assert "Thank you for your feedback" in client.get(answered["Location"]).content.decode()
    response = SurveyResponse.objects.get()
    assert (response.score, response.comment, response.source, response.negative) == (4, "Nopeaa", "link", False)
    assert (response.case_id, response.customer_id, response.agent_id) == (case.pk, case.customer_id, agent.pk)
    assert response.channel_kind == "webform"

    client.post(page(invitation), {"score": "2", "comment": "", "csrfmiddlewaretoken": token})
    response.refresh_from_db()
    assert (response.score, response.negative) == (2, True) and SurveyResponse.objects.count() == 1
    events = CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.SURVEY_ANSWERED).order_by("pk")
    assert [(e.data["score"], e.data["changed"]) for e in events] == [(4, False), (2, True)]


def test_a_score_off_the_scale_is_refused_clearly(solved) -> None:
    invitation = sent(solved())
    response = Client().post(page(invitation), {"score": "7"})
    assert response.status_code == 400
    assert "A CSAT score is a whole number from 1 to 5." in response.content.decode()
    assert not SurveyResponse.objects.exists()


def test_a_tampered_link_answers_400_saying_it_does_not_work(solved) -> None:
    invitation = sent(solved())
    token = survey_token(invitation)
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for bad in (tampered, "not-a-token", token.replace(":", ".", 1)):
        response = Client().get(f"/survey/{bad}/")
        assert response.status_code == 400
        assert "This survey link does not work" in response.content.decode()
    assert Client().post(f"/survey/{tampered}/", {"score": "1"}).status_code == 400
    assert not SurveyResponse.objects.exists()


def test_an_expired_link_answers_410_saying_the_survey_has_closed(solved) -> None:
    case = solved()
    invitation = sent(case)
    SurveyInvitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    response = Client().get(page(invitation))
    assert response.status_code == 410
    html = response.content.decode()
    assert "This survey has closed" in html and case.reference in html
    assert Client().post(page(invitation), {"score": "5"}).status_code == 410
    assert not SurveyResponse.objects.exists()


def test_a_low_score_creates_a_follow_up_task_tells_the_team_lead_and_signals_the_customer(
    solved, team_lead: Any, django_capture_on_commit_callbacks: Any
) -> None:
    case = solved()
    invitation = sent(case)
    with django_capture_on_commit_callbacks(execute=True):
        survey_answer(invitation=invitation, score=1, comment="Waited two weeks")
    follow_up = Case.objects.get(parent=case)
    assert follow_up.type == Case.Type.TASK and follow_up.team_id == case.team_id
    assert case.reference in follow_up.subject and case in follow_up.related.all()
    assert "(1)" in follow_up.notes.get().body and "Waited two weeks" in follow_up.notes.get().body
    [note] = Notification.objects.filter(user=team_lead)
    assert note.text.startswith("Low survey score (1)") and case.reference in note.text
    customer = Customer.objects.get(pk=case.customer_id)
    assert (customer.last_survey_score, customer.last_survey_negative) == (1, True)
    assert "Negative last survey" in [s.label for s in signals_for(customer_ids=[customer.pk])[customer.pk]]

    # Correcting 1 to 2 makes no second follow-up; a good answer clears the signal.
    with django_capture_on_commit_callbacks(execute=True):
        survey_answer(invitation=invitation, score=2)
    assert Case.objects.filter(parent=case).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        survey_answer(invitation=invitation, score=5)
    assert "Negative last survey" not in [s.label for s in signals_for(customer_ids=[customer.pk])[customer.pk]]


def test_a_good_score_makes_no_follow_up(solved, django_capture_on_commit_callbacks: Any) -> None:
    case = solved()
    with django_capture_on_commit_callbacks(execute=True):
        survey_answer(invitation=sent(case), score=4)
    assert not Case.objects.filter(parent=case).exists()


def test_the_chat_cards_answer_goes_through_the_same_service(solved) -> None:
    from tiski.surveys.services import survey_answer_by_token

    invitation = sent(solved())
    response = survey_answer_by_token(token=survey_token(invitation), score=5, comment="", source="chat")
    assert response.source == "chat" and response.invitation_id == invitation.pk
