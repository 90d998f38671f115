"""Screenshots of surveys: the public survey page (phone 390 px and desktop, Finnish and English), the case's
feedback panel and the administrator's settings page, into test-artifacts/console/."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, expect

from tests.e2e.test_screenshots import ARTIFACTS, LANGUAGES, console_in
from tiski.cases.services import case_update
from tiski.channels.interface import InboundMessage
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.services import message_receive
from tiski.customers.services import Handle
from tiski.surveys.links import survey_token
from tiski.surveys.models import SurveyInvitation
from tiski.surveys.services import survey_answer, survey_settings_update, surveys_due_run

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _surveyed(channel: Channel, agent: User, *, email: str, name: str, subject: str, language: str) -> Any:
    case = message_receive(
        inbound=InboundMessage(
            channel=channel, handles=[Handle("email", email)], body_text=subject, subject=subject, sender_name=name
        )
    ).case
    case.customer.language = language
    case.customer.save(update_fields=["language"])
    case_update(case=case, actor=agent, owner=agent)
    case_update(case=case, actor=agent, status="solved")
    from tiski.surveys.services import surveys_schedule

    [invitation] = surveys_schedule(case_id=case.pk)
    surveys_due_run(now=invitation.due_at + timedelta(seconds=1))
    return SurveyInvitation.objects.get(pk=invitation.pk)


def test_screenshots_of_surveys(browser: Browser, live_server: Any, agent: User, administrator: User) -> None:
    base = live_server.url
    survey_settings_update(kind="csat", data={"enabled": True}, actor=None)
    channel = Channel.objects.create(kind=ChannelKind.WEBFORM, name="Contact form", address="support@shop.example")
    answered = _surveyed(
        channel, agent, email="liisa@example.com", name="Liisa Laine", subject="Huolto myöhässä", language="fi"
    )
    survey_answer(
        invitation=answered,
        score=2,
        comment="Huoltoa piti odottaa kaksi viikkoa, eikä kukaan kertonut miksi. Pyörä on nyt kunnossa.",
    )
    fresh = _surveyed(channel, agent, email="anssi@example.com", name="Anssi", subject="Shirt size", language="en")
    url = f"{base}/survey/{survey_token(fresh)}/"

    for language in LANGUAGES:
        for width, height in ((390, 844), (1440, 900)):
            context = browser.new_context(viewport={"width": width, "height": height}, locale=LANGUAGES[language])
            page = context.new_page()
            page.goto(f"{url}?lang={language}&score=4")
            expect(page.locator(".sv-score input[value='4']")).to_be_checked()
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"survey page {language}-{width}: {overflow}px too wide"
            page.screenshot(path=ARTIFACTS / f"survey-page-{language}-{width}.png", full_page=True)
            context.close()

    # Answering in the browser: the thank-you page; a changed link: the clear error.
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale=LANGUAGES["en"])
    page = context.new_page()
    page.goto(url)
    page.locator(".sv-score:has(input[value='5'])").click()
    page.locator("#sv-comment").fill("Quick and friendly, thanks!")
    page.locator(".sv-send").click()
    expect(page.locator("h1")).to_have_text("Thank you for your feedback!")
    page.screenshot(path=ARTIFACTS / "survey-thanks-en-390.png")
    assert page.goto(url[:-6] + "xxxxx/").status == 400
    expect(page.locator("h1")).to_have_text("This survey link does not work")
    context.close()

    for language in LANGUAGES:
        context, page = console_in(browser, base, language=language, width=1440, height=900)
        page.goto(f"{base}/console/cases/{answered.case.reference}/")
        expect(page.locator("#survey-feedback .survey-panel__comment")).to_be_visible()
        page.screenshot(path=ARTIFACTS / f"survey-case-panel-{language}.png")
        context.close()
    context, page = console_in(browser, base, language="fi", width=1440, height=900, username="admin")
    page.goto(f"{base}/console/surveys/settings/")
    expect(page.locator(".survey-settings__kind")).to_have_count(2)
    page.screenshot(path=ARTIFACTS / "survey-settings-fi.png", full_page=True)
    page.goto(f"{base}/console/surveys/")
    expect(page.locator(".survey-table tbody tr")).to_have_count(2)
    page.screenshot(path=ARTIFACTS / "survey-responses-fi.png")
    context.close()
