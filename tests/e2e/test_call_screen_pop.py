"""The issue's browser test: a call rings and the caller's screen-pop arrives in the agent's console, live.

Twilio Voice status callbacks, signed with the twilio SDK's algorithm, are posted over real HTTP to the real
ASGI server (tests/e2e/live_asgi.py). Maija has the console open: the ringing call pops up without a reload
with Liisa's name and her open case; Maija logs the call on it, the call is answered and ends, she wraps it up
and the screen-pop goes; the case shows the call and her note.
"""

from __future__ import annotations

from email.utils import format_datetime
from urllib.parse import urlencode

import httpx
import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Browser, expect
from twilio.request_validator import RequestValidator

from tests.conftest import PASSWORD
from tests.e2e.live_asgi import live_asgi  # noqa: F401  (the fixture)
from tests.e2e.test_screenshots import ARTIFACTS
from tiski.cases.models import CaseEvent, Note
from tiski.cases.services import case_create
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.voice.models import Call
from tiski.customers.models import Customer, Identity

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIVE_TIMEOUT_MS = 15_000
TOKEN = "0d5f1c2b3a4e5f60718293a4b5c6d7e8"
CALLER = "+358401234567"


def test_ringing_call_pops_up_in_the_agents_console_and_is_logged_where_she_picks(
    browser: Browser,
    live_asgi: str,  # noqa: F811
    agent: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TISKI_TEST_VOICE_TOKEN", TOKEN)
    phone = Channel.objects.create(
        kind=ChannelKind.PHONE,
        name="Phone",
        config={"provider": "twilio", "secrets": {"auth_token": "TISKI_TEST_VOICE_TOKEN"}},
    )
    liisa = Customer.objects.create(name="Liisa Laine")
    Identity.objects.create(customer=liisa, kind=Identity.Kind.PHONE, value=CALLER)
    case = case_create(customer=liisa, subject="Grinder makes a noise", actor=None)
    url = f"{live_asgi}/hooks/phone/{phone.pk}/?queue=Support"

    def twilio(status: str, **extra: str) -> None:
        params = {
            "CallSid": "CA" + "9" * 32,
            "From": CALLER,
            "To": "client:maija",
            "Direction": "inbound",
            "CallStatus": status,
            "Timestamp": format_datetime(timezone.now()),
            **extra,
        }
        signature = RequestValidator(TOKEN).compute_signature(url, params)
        response = httpx.post(
            url,
            content=urlencode(params),
            headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature},
        )
        assert response.status_code == 200, response.text

    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.goto(f"{live_asgi}/login/")
    page.locator("input[name=username]").fill("maija")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("button[type=submit].btn--primary").click()
    page.wait_for_url("**/console/")
    page.wait_for_selector("body[data-live=on]", timeout=LIVE_TIMEOUT_MS)
    page.evaluate("window.tiskiSamePage = true")
    pop = page.locator("#screen-pop .screen-pop")
    expect(pop).to_have_count(0)

    twilio("ringing")
    expect(pop).to_be_visible(timeout=LIVE_TIMEOUT_MS)  # pushed over the console's WebSocket
    expect(pop).to_contain_text("Incoming call")
    expect(pop).to_contain_text("Liisa Laine")
    expect(pop).to_contain_text(CALLER)
    expect(pop).to_contain_text("Grinder makes a noise")
    pop.get_by_role("button", name=f"Log the call on {case.reference}").click()
    expect(pop).to_contain_text("The call is logged here")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "call-screen-pop-en-1440.png")

    twilio("in-progress")
    expect(pop).to_contain_text("Call in progress", timeout=LIVE_TIMEOUT_MS)
    twilio("completed", CallDuration="95")
    expect(pop).to_contain_text("Call ended · 1:35", timeout=LIVE_TIMEOUT_MS)
    pop.get_by_label("Reason").select_option("order")
    pop.get_by_label("Wrap-up note").fill("New grinder sent today.")
    page.screenshot(path=ARTIFACTS / "call-wrap-up-en-1440.png")
    pop.get_by_role("button", name="Done").click()
    expect(pop).to_have_count(0)
    assert page.evaluate("window.tiskiSamePage") is True  # all of it without a reload

    call = Call.objects.get()
    assert (call.case, call.agent, call.talk_s, call.reason_code) == (case, agent, 95, "order")
    assert CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.CALL_ENDED).count() == 1
    assert Note.objects.get(case=case).body.endswith("New grinder sent today.")
    context.close()
