"""Screenshots of macros at 1440×900 and 1024×768 in English and Finnish: the macro list and editor, the case
page's macro menu with its preview, the inbox with cases selected, the bulk preview and the run's progress."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from tests.e2e.live_asgi import live_asgi  # noqa: F401  (the fixture)
from tests.e2e.test_screenshots import ARTIFACTS, LANGUAGES, console_in, sizes
from tiski.cases.models import Case
from tiski.channels.chat.services import chat_message_post, chat_session_start
from tiski.channels.interface import InboundMessage, Threading
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.services import message_receive
from tiski.customers.models import Identity
from tiski.customers.services import Handle
from tiski.macros.demo import SHARED, THANKS
from tiski.macros.models import MacroRun
from tiski.macros.services import macro_create, macro_run_process
from tiski.simulators.twilio import new_sid

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAILS = [
    ("Tilaus ei mene läpi", "Liisa Laine"),
    ("Kassa kaatuu maksaessa", "Matti Virtanen"),
    ("Can't pay for my order", "Oliver Baker"),
    ("Verkkokauppa ei aukea", "Anna Korhonen"),
    ("Maksu veloitettiin kahdesti?", "Jussi Heikkinen"),
]
TEXTS = [
    ("+358405550101", "Sivu ei lataudu", "Pekka Pouta"),
    ("+358405550102", "Tilaukseni jumissa", "Emma Nieminen"),
    ("+358405550103", "Apua", ""),
]


def _fill(team_lead: User, agent: User) -> tuple[list[Case], Any]:
    mailbox = Channel.objects.create(kind=ChannelKind.EMAIL, name="Asiakaspalvelu", address="tuki@example.fi")
    sms = Channel.objects.create(kind=ChannelKind.SMS, name="Tekstiviestit", address="+358451112222")
    chat = Channel.objects.create(kind=ChannelKind.CHAT, name="Verkkokaupan chat")
    cases = []
    for n, (subject, name) in enumerate(EMAILS):
        inbound = InboundMessage(
            channel=mailbox,
            handles=[Handle("email", f"asiakas{n}@example.fi")],
            subject=subject,
            body_text=f"{subject}. Voitteko auttaa?",
            sender_name=name,
        )
        cases.append(message_receive(inbound=inbound).case)
    for number, text, name in TEXTS:
        inbound = InboundMessage(
            channel=sms,
            handles=[Handle("phone", number)],
            body_text=text,
            sender_name=name,
            external_id=new_sid("SM"),
            threading=Threading.CONVERSATION,
        )
        cases.append(message_receive(inbound=inbound).case)
    session, _token = chat_session_start(channel=chat, prechat={"name": "Sanna Saari", "email": "sanna@example.fi"})
    cases.append(chat_message_post(session=session, client_id="c1", text="Kassa ei toimi, mitä teen?").case)
    Case.objects.filter(pk=cases[4].pk).update(status=Case.Status.CLOSED)
    Identity.objects.filter(customer=cases[7].customer).delete()  # an SMS customer with no number left
    shared = [
        macro_create(actor=team_lead, name=m["name"], description=m["description"], actions=m["actions"], shared=True)
        for m in SHARED
    ]
    macro_create(
        actor=agent,
        name="Kiitos ja ratkaistu",
        description="Thank the customer and solve",
        actions=[{"action": "reply", "body": THANKS}, {"action": "set_status", "status": "solved"}],
    )
    return cases, shared[0]


def _fits(page: Page, name: str) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name}: {overflow}px too wide"


def test_screenshots_of_macros(browser: Browser, live_asgi: str, agent: User, team_lead: User) -> None:  # noqa: F811
    cases, outage = _fill(team_lead, agent)
    for language in LANGUAGES:
        for width, height in sizes(language):
            suffix = f"{language}-{width}"
            context, page = console_in(browser, live_asgi, language=language, width=width, height=height)

            page.goto(f"{live_asgi}/console/macros/")
            expect(page.locator(".macro-table")).to_have_count(2)
            _fits(page, f"list {suffix}")
            page.screenshot(path=ARTIFACTS / f"macros-list-{suffix}.png")

            page.locator(".macro-table").nth(1).locator("a.btn").first.click()
            expect(page.locator(".macro-row")).to_have_count(2)
            page.locator("#macro-rows + .macro-form__add button").click()
            expect(page.locator(".macro-row")).to_have_count(3, timeout=15_000)
            expect(page.locator(".macro-row.htmx-added")).to_have_count(0)  # htmx has wired the new row up
            page.locator(".macro-row").nth(2).locator("select").select_option("add_tags")
            expect(page.locator(".macro-row").nth(2).locator("input[name$=-tags]")).to_be_visible(timeout=15_000)
            page.locator(".macro-row").nth(2).locator("input[name$=-tags]").fill("kiitos")
            _fits(page, f"editor {suffix}")
            page.screenshot(path=ARTIFACTS / f"macros-edit-{suffix}.png", full_page=True)

            page.goto(f"{live_asgi}/console/cases/{cases[0].reference}/")
            page.locator(".macro-menu__open").click()
            page.locator(".macro-pick__item", has_text="Outage status update").click()
            expect(page.locator(".macro-plan__text")).to_contain_text("Hei Liisa")
            _fits(page, f"case menu {suffix}")
            page.screenshot(path=ARTIFACTS / f"macros-case-preview-{suffix}.png")

            page.goto(f"{live_asgi}/console/?status=all")
            for n in (0, 1, 2):
                page.locator("[data-macro-case]").nth(n).check()
            expect(page.locator("[data-macro-count]")).to_have_text("3")
            expect(page.locator("#macro-bulk select[name=macro] option")).to_have_count(4)  # loaded on selection
            expect(page.locator("#macro-bulk select[name=macro] option")).to_have_count(4)  # loaded on selection
            _fits(page, f"inbox selection {suffix}")
            page.screenshot(path=ARTIFACTS / f"macros-inbox-selected-{suffix}.png")

            page.locator("[data-macro-page]").check()
            page.locator("[data-macro-select-all]").click()
            expect(page.locator("[data-macro-all-note]")).to_be_visible()
            page.locator("#macro-bulk select[name=macro]").select_option(str(outage.pk))
            page.locator("#macro-bulk button[type=submit]").click()
            expect(page.locator(".macro-sample").first).to_be_visible()
            expect(page.locator(".macro-skip-list li")).to_have_count(1)  # the closed case is counted apart
            _fits(page, f"bulk preview {suffix}")
            page.screenshot(path=ARTIFACTS / f"macros-bulk-preview-{suffix}.png", full_page=True)

            page.locator(".macro-start__bar button[type=submit]").click()
            expect(page.locator("#macro-run")).to_have_class(re.compile("macro-run--queued"))
            page.screenshot(path=ARTIFACTS / f"macros-run-queued-{suffix}.png")
            run = MacroRun.objects.filter(bulk=True).latest("id")
            macro_run_process(run_id=run.pk)  # what the background worker does
            expect(page.locator("#macro-run")).to_have_class(re.compile("macro-run--done"), timeout=10_000)
            expect(page.locator(".macro-reasons")).to_be_visible()
            _fits(page, f"run {suffix}")
            page.screenshot(path=ARTIFACTS / f"macros-run-done-{suffix}.png", full_page=True)
            context.close()
