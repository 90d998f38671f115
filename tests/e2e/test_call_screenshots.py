"""Screenshots of a case whose calls the telephony system logged, at 1440×900 and 1024×768, English and Finnish.

An answered call with its wait, talk time, agent, queue and recording, and a missed call with a voicemail, as
the timeline shows them. The calls come in through the real webhook view in the generic format.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from playwright.sync_api import Browser, expect

from tests.e2e.live_asgi import live_asgi  # noqa: F401  (the fixture)
from tests.e2e.test_screenshots import ARTIFACTS, LANGUAGES, console_in, sizes
from tiski.cases.services import case_create
from tiski.channels.interface import CallEvent
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.voice.adapter import generic_signature
from tiski.channels.voice.models import Call
from tiski.channels.voice.services import call_event_apply
from tiski.customers.models import Customer, Identity

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

T0 = datetime(2026, 11, 20, 9, 0, 0, tzinfo=UTC)


def test_screenshots_of_logged_calls(browser: Browser, live_asgi: str, agent: User, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setenv("TISKI_TEST_PBX_SECRET", "secret")
    channel = Channel.objects.create(
        kind=ChannelKind.PHONE,
        name="Puhelin",
        config={
            "provider": "generic",
            "dial_url": "http://127.0.0.1:9/dial",  # the case page then offers "Call" by the number
            "secrets": {"signing_secret": "TISKI_TEST_PBX_SECRET"},
        },
    )
    customer = Customer.objects.create(name="Liisa Laine")
    Identity.objects.create(customer=customer, kind=Identity.Kind.PHONE, value="+358401234567")
    client = Client()

    def post(call_id: str, event: str, seconds: int, **extra: object) -> None:
        body = json.dumps(
            {
                "call_id": call_id,
                "event": event,
                "from": "+358401234567",
                "agent": "maija",
                "queue": "Laskutus",
                "at": (T0 + timedelta(seconds=seconds)).isoformat(),
                **extra,
            }
        ).encode()
        response = client.post(
            f"/hooks/phone/{channel.pk}/",
            data=body,
            content_type="application/json",
            headers={"X-Tiski-Signature": generic_signature(secret="secret", body=body)},
        )
        assert response.status_code == 200

    post("c1", "ringing", 0)
    post("c1", "missed", 75, outcome="abandoned")
    post("c1", "recording", 90, recording_url="https://pbx.example.com/rec/c1.mp3")
    case = Call.objects.get(provider_call_id="c1").case
    assert case is not None
    # The callback the next morning is logged on the same case (the agent picked it during the call).
    Call.objects.create(channel=channel, provider_call_id="c2", direction="outbound", case=case)
    post("c2", "ringing", 3600, direction="outbound", to="+358401234567", **{"from": "+35891234567"})
    post("c2", "answered", 3608, direction="outbound")
    post("c2", "ended", 3920, direction="outbound", recording_url="https://pbx.example.com/rec/c2.mp3")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for language in LANGUAGES:
        for width, height in sizes(language):
            suffix = f"{language}-{width}"
            context, page = console_in(browser, live_asgi, language=language, width=width, height=height)
            page.goto(f"{live_asgi}/console/cases/{case.reference}/")
            expect(page.locator("#timeline-list .event--call")).to_have_count(3)
            expect(page.locator(".identity__dial button")).to_be_visible()
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"call case {suffix}: {overflow}px too wide"
            page.screenshot(path=ARTIFACTS / f"call-case-{suffix}.png")
            context.close()


def test_screenshots_of_the_screen_pop(browser: Browser, live_asgi: str, agent: User) -> None:  # noqa: F811
    """A known caller ringing (with open cases to pick from), an unknown one, and an ended call's wrap-up."""
    channel = Channel.objects.create(kind=ChannelKind.PHONE, name="Puhelin", config={"provider": "generic"})
    liisa = Customer.objects.create(name="Liisa Laine")
    Identity.objects.create(customer=liisa, kind=Identity.Kind.PHONE, value="+358401234567")
    for subject in ("Kahvimylly pitää outoa ääntä", "Lasku 2026-1187 on väärin"):
        case_create(customer=liisa, subject=subject, actor=None)
    call_event_apply(
        channel=channel, event=CallEvent(call_id="w", event="answered", number="+358501112233", agent="maija")
    )
    call_event_apply(channel=channel, event=CallEvent(call_id="w", event="ended", talk_s=312))
    call_event_apply(
        channel=channel, event=CallEvent(call_id="u", event="ringing", number="+358449998877", agent="maija")
    )
    call_event_apply(
        channel=channel, event=CallEvent(call_id="k", event="ringing", number="+358401234567", agent="maija")
    )

    for language in LANGUAGES:
        for width, height in sizes(language):
            suffix = f"{language}-{width}"
            context, page = console_in(browser, live_asgi, language=language, width=width, height=height)
            expect(page.locator("#screen-pop .screen-pop")).to_have_count(3)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"screen-pop {suffix}: {overflow}px too wide"
            page.screenshot(path=ARTIFACTS / f"call-screen-pops-{suffix}.png")
            context.close()


def test_screenshots_of_a_callback_request(browser: Browser, live_asgi: str, agent: User, settings) -> None:  # noqa: F811
    """A caller who pressed 1 in the queue: the callback offered to Maija, then her case page after one attempt
    nobody answered (the request waits for its next try), with the outcome form."""
    from tiski.channels.voice.callbacks import callback_attempt_record, callback_request
    from tiski.routing.models import Queue, WorkItem
    from tiski.routing.router import route_pending
    from tiski.routing.services import agent_state, presence_set, work_accept

    settings.TISKI_CALLBACK_RETRY_MINUTES = [15, 60]
    Channel.objects.create(kind=ChannelKind.PHONE, name="Puhelin", config={"provider": "generic"})
    liisa = Customer.objects.create(name="Liisa Laine", language="fi")
    Identity.objects.create(customer=liisa, kind=Identity.Kind.PHONE, value="+358401234567")
    state = agent_state(agent)
    state.queues.set([Queue.objects.get(is_default=True)])
    presence_set(user=agent, presence="online")
    tried, _new = callback_request(
        customer=liisa,
        number="+358401234567",
        source="keypress",
        topic="Laskun eräpäivän siirto",
        preferred_time="klo 14–16",
    )

    def offered(case: object) -> WorkItem:
        """The item on CASE once offered (by this call or by the server's own router loop, whichever is first)."""
        deadline = time.monotonic() + 10
        while True:
            route_pending()
            item = WorkItem.objects.get(case=case)
            if item.status == "offered" or time.monotonic() > deadline:
                return item
            time.sleep(0.05)

    work_accept(item=offered(tried.case), agent=agent)
    callback_attempt_record(request=tried, actor=agent, outcome="no_answer", note="Ei vastannut, jätin viestin.")
    anssi = Customer.objects.create(name="Anssi Virtanen")
    waiting, _new = callback_request(customer=anssi, number="+358501112233", source="missed_call")
    assert offered(waiting.case).status == "offered"

    for language in LANGUAGES:
        for width, height in sizes(language):
            suffix = f"{language}-{width}"
            context, page = console_in(browser, live_asgi, language=language, width=width, height=height)
            page.goto(f"{live_asgi}/console/cases/{tried.case.reference}/")
            expect(page.locator("#callback .callback__attempts li")).to_have_count(1)
            expect(page.locator(".offer")).to_have_count(1)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"callback case {suffix}: {overflow}px too wide"
            page.screenshot(path=ARTIFACTS / f"callback-case-{suffix}.png")
            context.close()


def test_screenshots_of_the_phone_line_simulator(
    browser: Browser,
    live_asgi: str,  # noqa: F811
    agent: User,
    settings,
    monkeypatch,
) -> None:
    """The demo's simulator page with a caller who has waited a minute and is offered a callback."""
    import socket

    from tiski.simulators import demo
    from tiski.simulators.environment import SECRETS

    def free_port() -> int:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])

    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    settings.TISKI_BASE_URL = live_asgi
    settings.TISKI_TWILIO_API_URL = f"http://127.0.0.1:{free_port()}"
    settings.TISKI_META_GRAPH_URL = f"http://127.0.0.1:{free_port()}/v21.0"
    Channel.objects.create(kind=ChannelKind.PHONE, name="Asiakaspalvelu", address="+35894242420")
    providers = demo.providers_start()
    try:
        for language in LANGUAGES:
            for width, height in sizes(language):
                suffix = f"{language}-{width}"
                context, page = console_in(browser, live_asgi, language=language, width=width, height=height)
                page.goto(f"{live_asgi}/simulator/")
                page.locator("button[name=phone][value=call]").click()
                page.locator("button[name=phone][value=wait]").click()
                page.locator("button[name=phone][value=wait]").click()
                expect(page.locator("button[name=phone][value=press]")).to_be_visible()
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 0, f"simulator {suffix}: {overflow}px too wide"
                page.locator(".sim__phone").scroll_into_view_if_needed()  # below the fold at 768 px
                page.screenshot(path=ARTIFACTS / f"simulator-phone-{suffix}.png")
                page.locator("button[name=phone][value=press]").click()
                expect(page.locator(".toast").first).to_contain_text("TSK-")
                if language == "fi":
                    page.screenshot(path=ARTIFACTS / f"simulator-phone-requested-{suffix}.png")
                page.locator("button[name=phone][value=done]").click()
                context.close()
    finally:
        providers.stop()
        demo.PROVIDERS = None
