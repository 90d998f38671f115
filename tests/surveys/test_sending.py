"""When a survey goes out and on which channel: delay, sampling, throttling, reopened cases, anonymity, delivery."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from tests.surveys.conftest import sent, solve
from tiski.cases.models import Case, CaseEvent, Message
from tiski.cases.services import case_update
from tiski.channels.chat.models import ChatSession
from tiski.channels.models import Channel, ChannelKind
from tiski.customers.models import Customer, Identity
from tiski.surveys.models import Kind, SurveyInvitation, SurveyResponse
from tiski.surveys.services import (
    sampled,
    survey_answer,
    survey_settings_update,
    surveys_due_run,
    surveys_schedule,
)

pytestmark = pytest.mark.django_db


def test_solving_a_case_schedules_its_survey_the_delay_later_and_it_is_not_sent_before(solved) -> None:
    case = solved()
    invitation = SurveyInvitation.objects.get(case=case)
    assert invitation.status == "scheduled" and invitation.kind == "csat"
    assert invitation.due_at == case.solved_at + timedelta(minutes=60)
    assert invitation.agent_id == case.owner_id and invitation.customer_id == case.customer_id

    assert surveys_due_run(now=invitation.due_at - timedelta(seconds=1)) == 0
    invitation.refresh_from_db()
    assert invitation.status == "scheduled"
    assert sent(case).status == "sent"


def test_nothing_is_scheduled_while_surveys_are_off(receive, agent, run_tasks) -> None:
    case = solve(receive().case, agent)
    run_tasks()
    assert not SurveyInvitation.objects.filter(case=case).exists()


def surveys_mailed() -> list[Any]:
    return [m for m in mail.outbox if "/survey/" in m.body]


def test_the_survey_email_has_the_link_and_one_click_scores_and_keeps_the_case_solved(solved, run_tasks) -> None:
    case = solved()
    invitation = sent(case)
    run_tasks()  # the outbox sends it
    case.refresh_from_db()
    assert case.status == "solved" and case.first_response_at is None  # no reply, no response time
    [email] = surveys_mailed()
    assert email.to == ["anssi@example.com"] and case.reference in email.subject
    assert email.extra_headers["Auto-Submitted"] == "auto-replied"
    assert "/survey/" in email.body and "How satisfied are you" in email.body
    html = email.alternatives[0][0]
    assert html.count("?score=") == 5 and "Very dissatisfied" in html
    assert invitation.via == "email" and invitation.expires_at == invitation.sent_at + timedelta(days=14)
    message = Message.objects.get(pk=invitation.message_id)
    assert message.author == "system" and message.auto_submitted and message.delivery_status == "sent"
    event = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.SURVEY_SENT)
    assert event.data["via"] == "email" and event.data["survey"] == "csat"


def test_the_survey_is_in_the_customers_language(solved, run_tasks) -> None:
    case = solved(email="liisa@example.com", name="Liisa Laine")
    Customer.objects.filter(pk=case.customer_id).update(language="fi")
    invitation = sent(case)
    run_tasks()
    assert invitation.language == "fi"
    [email] = surveys_mailed()
    assert "Kuinka tyytyväinen olet" in email.body and "Hei Liisa" in email.body


def test_sampling_is_deterministic_and_cases_out_of_the_sample_are_skipped(solved, csat_on) -> None:
    assert [sampled(case_id=n, kind="csat", percent=50) for n in range(40)] == [
        sampled(case_id=n, kind="csat", percent=50) for n in range(40)
    ]
    share = sum(sampled(case_id=n, kind="csat", percent=30) for n in range(2000)) / 2000
    assert 0.25 < share < 0.35
    assert all(sampled(case_id=n, kind="nps", percent=100) for n in range(50))
    survey_settings_update(kind="csat", data={"sample_percent": 0}, actor=None)
    invitation = sent(solved())
    assert (invitation.status, invitation.skip_reason) == ("skipped", "sampling")


def test_a_customer_gets_at_most_one_survey_in_the_throttle_period(solved) -> None:
    first = sent(solved(subject="Shirt size"))
    assert first.status == "sent"
    second = sent(solved(subject="Another question"))
    assert (second.status, second.skip_reason) == ("skipped", "throttled")
    survey_settings_update(kind="csat", data={"throttle_days": 0}, actor=None)
    third = solved(subject="Third question")
    assert sent(third).status == "sent"


def test_after_the_throttle_period_the_customer_is_surveyed_again(solved) -> None:
    first = sent(solved(subject="Shirt size"))
    SurveyInvitation.objects.filter(pk=first.pk).update(sent_at=timezone.now() - timedelta(days=8))
    assert sent(solved(subject="Another question")).status == "sent"


def test_a_case_reopened_before_the_survey_is_due_is_not_surveyed_and_is_when_solved_again(
    solved, agent, run_tasks
) -> None:
    case = solved()
    case_update(case=case, actor=agent, status=Case.Status.OPEN)
    invitation = sent(case)
    assert (invitation.status, invitation.skip_reason) == ("skipped", "reopened")
    solve(case, agent)
    run_tasks()
    invitation.refresh_from_db()
    assert invitation.status == "scheduled"
    assert sent(case).status == "sent"


def test_channels_not_chosen_are_not_surveyed(solved) -> None:
    survey_settings_update(kind="csat", data={"channel_kinds": ["email", "chat"]}, actor=None)
    invitation = sent(solved())  # a web-form case
    assert (invitation.status, invitation.skip_reason) == ("skipped", "channel")


def test_a_customer_without_an_address_on_the_channel_is_skipped(solved) -> None:
    case = solved()
    Identity.objects.filter(customer_id=case.customer_id).delete()
    invitation = sent(case)
    assert (invitation.status, invitation.skip_reason) == ("skipped", "no_address")


def test_an_anonymous_surveys_answer_keeps_no_customer_case_or_agent(solved) -> None:
    survey_settings_update(kind="csat", data={"anonymous": True}, actor=None)
    case = solved()
    invitation = sent(case)
    response = survey_answer(invitation=invitation, score=1, comment="Slow")
    assert (response.case_id, response.customer_id, response.agent_id, response.invitation_id) == (
        None,
        None,
        None,
        None,
    )
    assert response.channel_kind == "webform" and response.anonymous_key
    assert not CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.SURVEY_ANSWERED).exists()
    assert not Case.objects.filter(parent=case).exists()  # no follow-up about an anonymous answer
    again = survey_answer(invitation=invitation, score=4)
    assert again.pk == response.pk and SurveyResponse.objects.count() == 1


@pytest.mark.django_db(transaction=True)  # the Twilio simulator answers from its own thread
def test_an_sms_case_is_surveyed_by_a_short_text_through_twilio(
    twilio: Any, sms_channel: Channel, agent: Any, csat_on: Any, run_tasks: Any
) -> None:
    from tests.channels.sms.test_outbound import sms_case

    case = solve(sms_case(sms_channel), agent)
    run_tasks()
    invitation = sent(case)
    assert invitation.via == "sms"
    run_tasks()
    [sms] = [m for m in twilio.messages if "/survey/" in m.body]  # the other: the case's acknowledgement
    assert sms.to == "+358401234567" and "/survey/" in sms.body and case.reference in sms.body
    assert len(sms.body) < 320


def test_a_chat_gets_its_end_card_at_once_while_the_widget_is_open(agent, csat_on, run_tasks) -> None:
    from tiski.channels.chat.services import chat_message_post, chat_session_start

    channel = Channel.objects.create(kind=ChannelKind.CHAT, name="Chat")
    session, _token = chat_session_start(channel=channel, language="fi", prechat={"name": "Liisa"})
    receipt = chat_message_post(session=session, client_id="m1", text="Hei, onko koko M varastossa?")
    ChatSession.objects.filter(pk=session.pk).update(connections=1, last_seen_at=timezone.now())
    case = solve(receipt.case, agent)
    run_tasks()
    invitation = SurveyInvitation.objects.get(case=case)
    assert invitation.due_at == case.solved_at  # no delay for a chat
    invitation = sent(case)
    assert (invitation.via, invitation.language, invitation.message_id) == ("chat", "fi", None)


def test_a_chat_whose_visitor_left_is_surveyed_by_email_when_the_address_is_known(agent, csat_on, run_tasks) -> None:
    from tiski.channels.chat.services import chat_message_post, chat_session_start

    Channel.objects.create(kind=ChannelKind.EMAIL, name="Support", address="support@shop.example")
    channel = Channel.objects.create(kind=ChannelKind.CHAT, name="Chat")
    session, _token = chat_session_start(
        channel=channel, language="en", prechat={"name": "Liisa", "email": "liisa@example.com"}
    )
    case = solve(chat_message_post(session=session, client_id="m1", text="Is size M in stock?").case, agent)
    run_tasks()
    invitation = sent(case)
    assert invitation.via == "email" and invitation.channel.kind == "email"
    run_tasks()
    assert [m.to for m in surveys_mailed()] == [["liisa@example.com"]]


def test_scheduling_twice_makes_one_invitation(solved) -> None:
    case = solved()
    surveys_schedule(case_id=case.pk)
    assert SurveyInvitation.objects.filter(case=case, kind=Kind.CSAT).count() == 1
