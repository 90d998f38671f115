"""The help centre in the system Chromium, served by the real ASGI server: the front page, search results and an
article with its "Was this helpful?" at phone width (390 px) and on a desktop, in Finnish and English; the web
form and the chat widget suggesting articles while the customer types (counted as deflection); the team lead's
figures in the console. Screenshots go to test-artifacts/helpcentre/."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from tests.e2e.live_asgi import live_asgi  # noqa: F401  (the fixture)
from tests.e2e.test_screenshots import console_in
from tiski.channels.models import Channel, ChannelKind
from tiski.knowledge.models import Article, ArticleCategory, ArticleTranslation, Deflection
from tiski.knowledge.search import search_index_update

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "helpcentre"
SIZES = [(390, 844), (1440, 900)]
LOCALES = {"fi": "fi-FI", "en": "en-GB"}
LIVE_MS = 10_000
COMPANY = "Pohjolan Pyörä ja Ulkoilu"

CATEGORIES = [
    (
        "orders",
        "Orders and delivery",
        "Tilaukset ja toimitus",
        "Delivery times, tracking and pickup points",
        "Toimitusajat, seuranta ja noutopisteet",
    ),
    (
        "returns",
        "Returns and exchanges",
        "Palautukset ja vaihdot",
        "Return a product or change the size",
        "Palauta tuote tai vaihda koko",
    ),
    (
        "service",
        "Bike service and warranty",
        "Pyörähuolto ja takuu",
        "Book a service, warranty repairs",
        "Huoltoajan varaus ja takuukorjaukset",
    ),
    (
        "payment",
        "Payment and invoices",
        "Maksaminen ja laskut",
        "Payment methods, invoices and instalments",
        "Maksutavat, laskut ja osamaksu",
    ),
]

# (category, views, helpful, unhelpful, {language: (title, body html)})
ARTICLES = [
    (
        "returns",
        420,
        38,
        3,
        {
            "fi": (
                "Näin palautat tuotteen",
                "<p>Voit palauttaa verkkokaupasta ostetun tuotteen <strong>30 päivän</strong> "
                "kuluessa sen vastaanottamisesta. Palautus on maksuton Suomessa.</p><h2>Palautuksen vaiheet</h2><ol>"
                "<li>Kirjaudu tilillesi ja valitse tilaus.</li><li>Valitse palautettavat tuotteet ja syy.</li>"
                "<li>Tulosta palautuslappu tai näytä QR-koodi noutopisteessä.</li></ol><p>Rahat palautetaan "
                "maksutavallesi 3–5 arkipäivässä, kun palautus on saapunut varastollemme.</p>"
                "<blockquote>Polkupyörät palautetaan aina myymälän kautta, koska ne kuljetetaan lavalla.</blockquote>",
            ),
            "en": (
                "How to return a product",
                "<p>You can return a product bought online within <strong>30 days</strong> "
                "of receiving it. Returns are free within Finland.</p><h2>Step by step</h2><ol><li>Sign in and "
                "choose the order.</li><li>Pick the products to return and tell us why.</li><li>Print the return "
                "label or show the QR code at the pickup point.</li></ol><p>The money goes back to your payment "
                "method within 3–5 working days of the return reaching our warehouse.</p><blockquote>Bicycles are "
                "always returned through a shop, as they travel on a pallet.</blockquote>",
            ),
        },
    ),
    (
        "returns",
        260,
        21,
        2,
        {
            "fi": (
                "Koon vaihtaminen",
                "<p>Kengät, vaatteet ja kypärät voi vaihtaa toiseen kokoon maksutta. Tee "
                "vaihto palautuslomakkeella ja valitse uusi koko.</p>",
            ),
            "en": (
                "Exchanging for another size",
                "<p>Shoes, clothes and helmets can be exchanged for another size "
                "free of charge. Use the return form and choose the new size.</p>",
            ),
        },
    ),
    (
        "returns",
        80,
        4,
        6,
        {
            "fi": (
                "Viallinen tai rikkoutunut tuote",
                "<p>Jos tuote saapui rikkinäisenä, ota kuva vauriosta ja tee reklamaatio 14 päivän kuluessa.</p>",
            ),
        },
    ),
    (
        "orders",
        390,
        30,
        4,
        {
            "fi": (
                "Toimitusajat ja -tavat",
                "<p>Varastossa olevat tuotteet lähtevät 1–2 arkipäivässä. Toimitamme "
                "Postin ja Matkahuollon noutopisteisiin sekä kotiin.</p>",
            ),
            "en": (
                "Delivery times and methods",
                "<p>Products in stock leave our warehouse in 1–2 working days. We "
                "deliver to Posti and Matkahuolto pickup points and to your door.</p>",
            ),
        },
    ),
    (
        "orders",
        150,
        9,
        1,
        {
            "fi": ("Tilauksen seuranta", "<p>Saat seurantakoodin sähköpostiisi, kun tilaus lähtee varastolta.</p>"),
            "en": (
                "Tracking your order",
                "<p>You get a tracking code by email when the order leaves our warehouse.</p>",
            ),
        },
    ),
    (
        "service",
        310,
        25,
        5,
        {
            "fi": (
                "Huoltoajan varaaminen",
                "<p>Varaa huoltoaika verkossa tai soita myymälään. Perushuolto sisältää "
                "vaihteiden ja jarrujen säädön sekä ketjun puhdistuksen.</p>",
            ),
            "en": (
                "Booking a bike service",
                "<p>Book a service online or call the shop. A basic service includes "
                "adjusting the gears and brakes and cleaning the chain.</p>",
            ),
        },
    ),
    (
        "service",
        120,
        12,
        0,
        {
            "fi": ("Sähköpyörän akun takuu", "<p>Sähköpyörän akulla on kahden vuoden takuu.</p>"),
            "en": ("E-bike battery warranty", "<p>E-bike batteries have a two-year warranty.</p>"),
        },
    ),
    (
        "payment",
        200,
        14,
        2,
        {
            "fi": ("Maksutavat", "<p>Voit maksaa verkkopankissa, kortilla, MobilePaylla tai laskulla.</p>"),
            "en": ("Payment methods", "<p>Pay by online bank, card, MobilePay or invoice.</p>"),
        },
    ),
]


def _help_demo() -> None:
    categories = {}
    for position, (slug, name, name_fi, description, description_fi) in enumerate(CATEGORIES):
        categories[slug] = ArticleCategory.objects.create(
            slug=slug,
            name=name,
            name_fi=name_fi,
            description=description,
            description_fi=description_fi,
            position=position,
        )
    for category, views, helpful, unhelpful, versions in ARTICLES:
        article = Article.objects.create(category=categories[category], visibility=Article.Visibility.PUBLIC)
        for language, (title, body) in versions.items():
            from tiski.knowledge.services import body_text_of

            translation = ArticleTranslation.objects.create(
                article=article,
                language=language,
                slug=_slug(title),
                title=title,
                body_html=body,
                body_text=body_text_of(body),
                status=ArticleTranslation.Status.PUBLISHED,
                published_at=timezone.now(),
                view_count=views,
                helpful_count=helpful,
                unhelpful_count=unhelpful,
            )
            search_index_update(translation)
    for n, query in enumerate(["sup-lauta vuokraus", "sup-lauta vuokraus", "lahjakortti", "ski wax"]):
        Deflection.objects.create(
            session=f"search-{n:02d}-xxxxxxxxxxxx",
            channel_kind="search",
            query=query,
            language="en" if query == "ski wax" else "fi",
        )
    for n, outcome in enumerate(["shown"] * 9 + ["opened"] * 5 + ["helped"] * 4 + ["contacted"] * 3):
        Deflection.objects.create(
            session=f"demo-{n:02d}-xxxxxxxxxxxxxx",
            channel_kind="webform" if n % 3 else "chat",
            outcome=outcome,
            language="fi",
        )


def _slug(title: str) -> str:
    from django.utils.text import slugify

    return slugify(title.replace("ä", "a").replace("ö", "o"))


def _fits(page: Page, name: str) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name}: the page is {overflow}px wider than the window"


def test_the_help_centre_reads_well_and_suggests_while_customers_type(
    live_asgi: str,  # noqa: F811
    browser: Browser,
    team_lead: User,
    webform_channel: Channel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TISKI_COMPANY_NAME", COMPANY)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    _help_demo()
    Channel.objects.create(kind=ChannelKind.EMAIL, name="Support", address="asiakaspalvelu@pohjolan.example")
    chat = Channel.objects.create(kind=ChannelKind.CHAT, name="Shop chat", config={})
    base = live_asgi
    words = {
        "fi": ("palautus", "Haluan palauttaa kypärän", "Kyllä"),
        "en": ("return", "I want to return a helmet", "Yes"),
    }
    for lang, locale in LOCALES.items():
        search_word, typed, yes = words[lang]
        for width, height in SIZES:
            context = browser.new_context(viewport={"width": width, "height": height}, locale=locale)
            page = context.new_page()
            page.goto(f"{base}/help/")
            expect(page).to_have_url(f"{base}/help/{lang}/")
            page.wait_for_load_state("networkidle")
            _fits(page, f"home {lang} {width}")
            page.screenshot(path=ARTIFACTS / f"home-{lang}-{width}.png", full_page=True, animations="disabled")
            box = page.locator("#hc-q-large")
            box.fill(search_word)
            box.press("Enter")
            expect(page.locator(".hc-result").first).to_be_visible()
            expect(page.locator(".hc-result mark").first).to_be_visible()
            _fits(page, f"search {lang} {width}")
            page.screenshot(path=ARTIFACTS / f"search-{lang}-{width}.png", full_page=True, animations="disabled")
            page.locator(".hc-result__title a").first.click()
            expect(page.locator(".hc-feedback")).to_be_visible()
            _fits(page, f"article {lang} {width}")
            page.screenshot(path=ARTIFACTS / f"article-{lang}-{width}.png", full_page=True, animations="disabled")
            if width > 1000:
                page.locator(".hc-vote", has_text=yes).click()
                expect(page.locator(".hc-feedback__done")).to_be_visible()
                page.locator(".hc-feedback").screenshot(path=ARTIFACTS / f"feedback-thanks-{lang}.png")
            context.close()

        # The web form: suggestions appear as the customer types; opening one is counted.
        context = browser.new_context(viewport={"width": 1000, "height": 900}, locale=locale)
        page = context.new_page()
        page.goto(f"{base}/contact/?lang={lang}")
        page.locator("#id_message").press_sequentially(typed, delay=20)
        suggestions = page.locator(".wf-suggest")
        expect(suggestions).to_be_visible(timeout=LIVE_MS)
        expect(suggestions.locator("li").first).to_be_visible()
        page.screenshot(path=ARTIFACTS / f"webform-suggestions-{lang}.png", full_page=True, animations="disabled")
        session = page.locator("input[name=deflection]").input_value()
        assert Deflection.objects.get(session=session).outcome == "shown"
        with context.expect_page() as opened:
            suggestions.locator("a").first.click()
        opened.value.wait_for_load_state()
        assert Deflection.objects.get(session=session).outcome == "opened"
        context.close()

        # The chat widget's offline form (nobody online): the same suggestions under the message box.
        context = browser.new_context(viewport={"width": 1000, "height": 760}, locale=locale)
        page = context.new_page()
        page.goto(f"{base}/chat/demo/?lang={lang}&channel={chat.pk}")
        page.locator(".tiski-launcher").click()
        leave = page.locator("#tiski-leave-text")
        expect(leave).to_be_visible(timeout=LIVE_MS)
        leave.press_sequentially(typed, delay=20)
        expect(page.locator(".tiski-leave .tiski-suggest li").first).to_be_visible(timeout=LIVE_MS)
        page.locator(".tiski-leave .tiski-suggest").scroll_into_view_if_needed()
        page.screenshot(path=ARTIFACTS / f"chat-suggestions-{lang}.png", animations="disabled")
        context.close()

        # The team lead's figures.
        context, page = console_in(browser, base, language=lang, width=1440, height=900, username=team_lead.username)
        page.goto(f"{base}/console/help-centre/")
        expect(page.locator(".hcc-kpis")).to_be_visible()
        _fits(page, f"stats {lang}")
        page.screenshot(path=ARTIFACTS / f"console-stats-{lang}.png", full_page=True, animations="disabled")
        context.close()
    assert Deflection.objects.filter(channel_kind="chat", outcome="shown").count() >= 1
