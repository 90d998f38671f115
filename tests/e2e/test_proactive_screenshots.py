"""Screenshots of proactive work, at 1440×900 and 1024×768, English and Finnish: the case a tyre-hotel rule
opened (the reason, what fired, the stored tyres' details, the number to call) with an event-based call to a
customer interested in four-wheel drive offered to the agent, its reason on the offer card."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, expect

from tests.e2e.live_asgi import live_asgi  # noqa: F401  (the fixture)
from tests.e2e.test_screenshots import ARTIFACTS, LANGUAGES, console_in, sizes
from tiski.channels.models import Channel, ChannelKind
from tiski.customers.models import Customer, ExternalRecord, Identity
from tiski.proactive.models import ProactiveHit, ProactiveRule
from tiski.proactive.services import external_event_receive, proactive_rules_run
from tiski.routing.models import Queue, WorkItem
from tiski.routing.router import route_pending
from tiski.routing.services import agent_state, presence_set, work_accept

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _offered(case: object) -> WorkItem:
    """The item on CASE once offered (by this call or by the server's own router loop, whichever is first)."""
    deadline = time.monotonic() + 10
    while True:
        route_pending()
        item = WorkItem.objects.get(case=case)
        if item.status == "offered" or time.monotonic() > deadline:
            return item
        time.sleep(0.05)


def test_screenshots_of_a_proactive_case(browser: Browser, live_asgi: str, agent: User, monkeypatch) -> None:  # noqa: F811
    from tiski.proactive import services

    monkeypatch.setattr(services, "_next_check", float("inf"))  # the server's router loop leaves the rules to us
    Channel.objects.create(
        kind=ChannelKind.PHONE, name="Puhelin", config={"provider": "generic", "dial_url": "http://127.0.0.1:9/dial"}
    )
    queue = Queue.objects.get(is_default=True)
    state = agent_state(agent)
    state.queues.set([queue])
    state.capacity = 200  # an outbound call takes 100 units: room for the next offer while on the first
    state.save(update_fields=["capacity"])
    presence_set(user=agent, presence="online")
    liisa = Customer.objects.create(name="Liisa Laine", language="fi")
    Identity.objects.create(customer=liisa, kind=Identity.Kind.PHONE, value="+358401234567")
    ExternalRecord.objects.create(
        customer=liisa,
        kind="asset",
        source="workshop",
        external_id="RH-0042",
        title="Rengashotelli: Nastarenkaat 29 × 2,25",
        status="stored",
        attributes={
            "storage": "Rengashotelli",
            "shelf": "B-12",
            "tyre_tread_mm": 2.1,
            "studs_missing": 17,
            "measured": "2026-05-14",
        },
    )
    ProactiveRule.objects.create(
        name="Talvirenkaat loppuun kuluneet",
        trigger="threshold",
        record_kind="asset",
        record_statuses="stored",
        attribute="tyre_tread_mm",
        comparison="lt",
        threshold=4,
        work_kind="call",
        queue=queue,
        subject_template="Rengashotelli: talvirenkaat loppuun kuluneet ({value} mm) – {customer}",
        reason="Asiakkaan rengashotellissa säilytettävät nastarenkaat ovat loppuun kuluneet. Soita ennen kauden "
        "alkua: tarjoa uudet renkaat asennettuna, niin asiakas pääsee liukkaille turvallisesti.",
    )
    ProactiveRule.objects.create(
        name="Ensimmäinen liukas ilta: neliveto",
        trigger="event",
        event_name="icy_evening",
        interests="neliveto, four-wheel drive",
        work_kind="call",
        queue=queue,
        marketing=True,
        subject_template="Liukas ilta: nelivetopyörät – {customer}",
        reason="Ensimmäinen liukas ilta. Asiakas on kysynyt nelivetoisista pyöristä: kerro talven malleista.",
    )
    anssi = Customer.objects.create(name="Anssi Virtanen", interests="Nelivetoinen sähköfatbike talviajoon")
    Identity.objects.create(customer=anssi, kind=Identity.Kind.PHONE, value="+358501112233")

    assert proactive_rules_run() == 1
    tyres = ProactiveHit.objects.get(customer=liisa).case
    work_accept(item=_offered(tyres), agent=agent)
    external_event_receive(name="icy_evening", occurrence="2026-11-23", data={"temperature_c": -6, "area": "Tampere"})
    icy = ProactiveHit.objects.get(customer=anssi).case
    assert _offered(icy).status == "offered"

    for language in LANGUAGES:
        for width, height in sizes(language):
            suffix = f"{language}-{width}"
            context, page = console_in(browser, live_asgi, language=language, width=width, height=height)
            page.goto(f"{live_asgi}/console/cases/{tyres.reference}/")
            expect(page.locator("#proactive .proactive__reason")).to_be_visible()
            expect(page.locator("#proactive .proactive__attrs .is-trigger")).to_have_count(1)
            expect(page.locator("#proactive .proactive__dial button")).to_be_visible()
            expect(page.locator(".offer .offer__reason")).to_have_count(1)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"proactive case {suffix}: {overflow}px too wide"
            page.screenshot(path=ARTIFACTS / f"proactive-case-{suffix}.png")
            page.goto(f"{live_asgi}/console/cases/{icy.reference}/")
            expect(page.locator("#proactive .proactive__reason")).to_be_visible()
            page.screenshot(path=ARTIFACTS / f"proactive-event-case-{suffix}.png")
            context.close()
