"""The case page's suggested articles in Chromium: shown beside the reply, inserted in one click, the use recorded.

Screenshots in English at 1440×900 and in Finnish at 1024×768.
"""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, expect

from tests.e2e.live_asgi import live_asgi  # noqa: F401  (the fixture)
from tests.e2e.test_screenshots import ARTIFACTS, console_in
from tiski.cases.models import Category
from tiski.channels.interface import InboundMessage
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.services import message_receive
from tiski.customers.services import Handle
from tiski.knowledge.models import Article, ArticleUse
from tiski.knowledge.services import article_create, translation_transition

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTICLES = [
    # (language, title, body, visibility, category?)
    (
        "fi",
        "Laskun eräpäivän siirto",
        "<p>Voit siirtää laskun eräpäivää kerran 14 päivällä. Kirjaudu OmaTilille ja valitse "
        "<strong>Laskut → Siirrä eräpäivää</strong>. Siirto on maksuton.</p>",
        "public",
        True,
    ),
    (
        "fi",
        "Maksuajan pidennys yritysasiakkaille",
        "<p>Yritysasiakkaan maksuaikaa voidaan pidentää 30 päivään. Tarkista Y-tunnus ja luottoraja ennen "
        "hyväksyntää.</p>",
        "internal",
        True,
    ),
    (
        "fi",
        "Palautus ja vaihto",
        "<p>Palauta tuote 30 päivän kuluessa palautuslomakkeella.</p>",
        "public",
        False,
    ),
    (
        "en",
        "Moving an invoice's due date",
        "<p>You can move an invoice's due date once by 14 days in My Account, under "
        "<strong>Invoices → Move due date</strong>. It is free of charge.</p>",
        "public",
        True,
    ),
    (
        "en",
        "Longer payment terms for business customers",
        "<p>A business customer's payment terms can be extended to 30 days. Check the business ID and credit "
        "limit first.</p>",
        "internal",
        True,
    ),
]


def _fill(team_lead: User) -> dict[str, str]:
    billing = Category.objects.create(name="Billing", name_fi="Laskutus")
    for language, title, body, visibility, in_billing in ARTICLES:
        translation = article_create(
            actor=team_lead,
            language=language,
            title=title,
            body_html=body,
            visibility=visibility,
            case_categories=[billing] if in_billing else [],
        )
        translation_transition(translation=translation, status="published", actor=team_lead)
    mailbox = Channel.objects.create(kind=ChannelKind.EMAIL, name="Asiakaspalvelu", address="tuki@example.fi")
    references = {}
    for language, subject, text, email in (
        ("fi", "Laskun eräpäivä", "Hei, voisinko saada laskulle kaksi viikkoa lisää maksuaikaa?", "liisa@example.fi"),
        ("en", "Invoice due date", "Hi, could I get two more weeks to pay my invoice?", "oliver@example.com"),
    ):
        case = message_receive(
            inbound=InboundMessage(
                channel=mailbox, handles=[Handle("email", email)], subject=subject, body_text=text, sender_name="A"
            )
        ).case
        case.customer.language = language
        case.customer.save(update_fields=["language"])
        case.category = billing
        case.save(update_fields=["category"])
        references[language] = case.reference
    return references


def test_suggested_articles_on_the_case_page(browser: Browser, live_asgi: str, agent: User, team_lead: User) -> None:  # noqa: F811
    references = _fill(team_lead)
    for language, (width, height) in (("en", (1440, 900)), ("fi", (1024, 768))):
        context, page = console_in(browser, live_asgi, language=language, width=width, height=height)
        page.goto(f"{live_asgi}/console/cases/{references[language]}/")
        items = page.locator(".kb-article")
        expect(items.first).to_be_visible(timeout=15_000)
        first_title = ARTICLES[0][1] if language == "fi" else ARTICLES[3][1]
        expect(items.first.locator(".kb-article__title")).to_have_text(first_title)
        expect(items.first.locator("mark").first).to_be_visible()
        page.locator("#kb-panel").scroll_into_view_if_needed()
        page.screenshot(path=ARTIFACTS / f"knowledge-case-suggestions-{language}-{width}.png", full_page=True)

        items.first.locator("[data-kb-insert=link]").click()
        value = page.locator("#reply-body").input_value()
        assert value.startswith(first_title) and "/help/" in value, value
        expect(items.first).to_have_class("kb-article kb-article--used", timeout=5_000)
        context.close()

    deadline = time.monotonic() + 5
    while ArticleUse.objects.count() < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    uses = list(ArticleUse.objects.order_by("id").values_list("how", "suggested_rank", "user__username"))
    assert uses == [("link", 1, "maija"), ("link", 1, "maija")]
    assert Article.objects.filter(use_count=1).count() == 2
