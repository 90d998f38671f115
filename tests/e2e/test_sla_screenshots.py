"""Screenshots of service levels at 1440×900 and 1024×768 in English and Finnish: the inbox sorted by due time
with its badges, and a case with a first response at risk."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Browser, expect

from tests.e2e.live_asgi import live_asgi  # noqa: F401  (the fixture)
from tests.e2e.test_screenshots import ARTIFACTS, LANGUAGES, console_in, sizes
from tiski.cases.models import Case
from tiski.channels.interface import InboundMessage
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.services import message_receive
from tiski.customers.services import Handle
from tiski.sla.models import SlaClock

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONTACTS = [  # subject, customer, minutes until the first response is due (negative: missed)
    ("Tilaus 4471 ei ole saapunut", "Liisa Laine", -25),
    ("Laskussa väärä summa", "Matti Virtanen", 12),
    ("Pyörän huolto ensi viikolla", "Anna Korhonen", 48),
    ("Takuuasia: vaihteet temppuilevat", "Jussi Heikkinen", 190),
    ("Where is my parcel?", "Oliver Baker", 300),
]


def test_screenshots_of_service_levels(browser: Browser, live_asgi: str, agent: User) -> None:  # noqa: F811
    mailbox = Channel.objects.create(kind=ChannelKind.EMAIL, name="Asiakaspalvelu", address="tuki@example.fi")
    cases = []
    for n, (subject, name, minutes) in enumerate(CONTACTS):
        receipt = message_receive(
            inbound=InboundMessage(
                channel=mailbox,
                handles=[Handle("email", f"asiakas{n}@example.fi")],
                body_text=f"{subject}. Voitteko auttaa?",
                subject=subject,
                sender_name=name,
            )
        )
        due = timezone.now() + timedelta(minutes=minutes)
        SlaClock.objects.filter(case=receipt.case, metric="first_response").update(
            due_at=due, warn_at=due - timedelta(minutes=30)
        )
        Case.objects.filter(pk=receipt.case.pk).update(sla_due_at=due)
        cases.append(receipt.case)

    for language in LANGUAGES:
        for width, height in sizes(language):
            suffix = f"{language}-{width}"
            context, page = console_in(browser, live_asgi, language=language, width=width, height=height)
            page.goto(f"{live_asgi}/console/?sla=due")
            expect(page.locator(".sla-due--late")).to_have_count(1)
            expect(page.locator(".sla-due--soon")).to_have_count(2)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"inbox by due {suffix}: {overflow}px too wide"
            page.screenshot(path=ARTIFACTS / f"sla-inbox-{suffix}.png")
            if language == "fi":
                page.goto(f"{live_asgi}/console/")
                expect(page.locator(".sla-badge")).to_have_count(3)
                page.screenshot(path=ARTIFACTS / f"sla-inbox-default-{suffix}.png")
            page.goto(f"{live_asgi}/console/cases/{cases[1].reference}/")
            expect(page.locator(".sla-m")).to_have_count(2)
            page.screenshot(path=ARTIFACTS / f"sla-case-{suffix}.png")
            context.close()
