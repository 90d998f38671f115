"""Screenshots of every console page, English at 1440×900 and Finnish at 1024×768 (both sizes in both languages
with TISKI_SCREENSHOTS=all), into test-artifacts/.

Each page is also checked for horizontal overflow: nothing may be cut off at 1024 px.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, BrowserContext, Page

from tests.conftest import PASSWORD
from tests.e2e.demo_data import Demo, demo_fill

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
SIZES = [(1440, 900), (1024, 768)]


def sizes(language: str) -> list[tuple[int, int]]:
    """The windows LANGUAGE's screenshots are taken in: English at 1440 and Finnish, whose longer words overflow
    first, at 1024 — both sizes for both languages with TISKI_SCREENSHOTS=all (twice the browser tests' time)."""
    if os.environ.get("TISKI_SCREENSHOTS") == "all":
        return SIZES
    return [SIZES[0]] if language == "en" else [SIZES[1]]


def shots() -> int:
    """How many (language, window) pairs each page is taken in."""
    return sum(len(sizes(language)) for language in LANGUAGES)


LANGUAGES = {"en": "en-GB", "fi": "fi-FI"}


def _login(page: Page, base: str) -> None:
    page.goto(f"{base}/login/")
    page.locator("input[name=username]").fill("admin")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("button[type=submit].btn--primary").click()
    page.wait_for_url("**/console/")


def console_in(
    browser: Browser, base: str, *, language: str, width: int, height: int, username: str = "maija", choose: bool = True
) -> tuple[BrowserContext, Page]:
    """Open a WIDTH×HEIGHT browser in LANGUAGE's locale (Helsinki time), log USERNAME in to the console and, with
    CHOOSE, pick LANGUAGE with the console's own switch; return the context (close it) and the page."""
    context = browser.new_context(
        viewport={"width": width, "height": height}, locale=LANGUAGES[language], timezone_id="Europe/Helsinki"
    )
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("button[type=submit].btn--primary").click()
    page.wait_for_url("**/console/")
    if choose:
        page.locator(f".lang__btn[value={language}]").click()
        page.wait_for_load_state()
    return context, page


def _assert_fits(page: Page, name: str) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name}: the page is {overflow}px wider than the window"


def test_screenshots_of_every_page(
    browser: Browser,
    live_server,  # type: ignore[no-untyped-def]
    settings,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    agent: User,
    other_agent: User,
    team_lead: User,
    administrator: User,
    webform_channel,  # type: ignore[no-untyped-def]
    run_tasks: Callable[[], None],
) -> None:
    settings.EMAIL_BACKEND = "tiski.core.mail.LocalMailboxBackend"
    settings.TISKI_LOCAL_MAIL_DIR = tmp_path / "sent-mail"
    demo = demo_fill(agent=agent, other_agent=other_agent, team_lead=team_lead, administrator=administrator)
    run_tasks()  # delivers the replies into the local mailbox…
    from tiski.cases.models import Message
    from tiski.cases.services import message_reply

    message_reply(case=demo.main, actor=agent, body="Lisätieto: seurantakoodi on JJFI6423 5500 0123 4567.")
    assert Message.objects.filter(delivery_status=Message.Delivery.QUEUED).exists()  # …and one stays queued
    from tiski.cases.models import Case

    bounced_case = (
        Case.objects.exclude(pk=demo.main.pk).filter(channel__kind="email", customer__identities__kind="email").first()
    )
    assert bounced_case is not None
    bounced = message_reply(case=bounced_case, actor=agent, body="Hei, lähetimme uuden laskun liitteenä.")
    Message.objects.filter(pk=bounced.pk).update(
        delivery_status=Message.Delivery.BOUNCED,
        delivery_error="550 5.1.1 <asiakas@example.com>: Recipient address rejected: User unknown",
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base = live_server.url
    pages = {
        "inbox": "/console/",
        "case": f"/console/cases/{demo.main.reference}/",
        "case-bounced": f"/console/cases/{bounced_case.reference}/",
        "tokens": "/console/tokens/",
        "sent-mail": "/console/sent-mail/",
        "quarantine": "/console/quarantine/",
        "audit": "/console/audit/",
    }
    for language, locale in LANGUAGES.items():
        for width, height in sizes(language):
            context = browser.new_context(
                viewport={"width": width, "height": height}, locale=locale, timezone_id="Europe/Helsinki"
            )
            page = context.new_page()
            page.goto(f"{base}/login/")
            page.screenshot(path=ARTIFACTS / f"login-{language}-{width}.png")
            _login(page, base)
            for name, path in pages.items():
                page.goto(f"{base}{path}")
                page.wait_for_load_state("networkidle") if not name.startswith("case") else page.wait_for_timeout(300)
                _assert_fits(page, f"{name} {language} {width}")
                page.screenshot(path=ARTIFACTS / f"{name}-{language}-{width}.png")
            _shoot_message_views(page, base, demo, f"{language}-{width}")
            page.goto(f"{base}/console/")
            page.keyboard.press("j")
            page.keyboard.press("j")
            page.keyboard.press("?")
            page.screenshot(path=ARTIFACTS / f"shortcuts-{language}-{width}.png")
            context.close()
    assert len(list(ARTIFACTS.glob("*.png"))) >= 9 * shots()


def _shoot_message_views(page: Page, base: str, demo: Demo, suffix: str) -> None:
    """Shoot the formatted email (inline cid image shown, remote images blocked) and the split form."""
    page.goto(f"{base}/console/cases/{demo.main.reference}/")
    message = page.locator(f"#message-{demo.html_message.pk}")
    message.locator("[data-show=html]").click()
    frame = page.frame_locator(f"#message-{demo.html_message.pk} iframe")
    inline = frame.locator('img[alt="Kuvakaappaus seurantasivusta"]')
    inline.wait_for()
    page.wait_for_timeout(300)
    assert inline.evaluate("img => img.complete && img.naturalWidth") == 320, "the cid image did not load"
    remote = frame.locator('img[alt="Liisan allekirjoituslogo"]')
    assert remote.evaluate("img => img.naturalWidth") == 0, "a remote image loaded without asking"
    page.locator("#timeline").evaluate("t => t.scrollTop = 0")
    message.scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / f"case-html-{suffix}.png")

    split = page.locator(f"#message-{demo.split_message.pk}")
    split.locator(f"a[href$='/messages/{demo.split_message.pk}/split/']").click()
    form = split.locator("form.split")
    form.wait_for()
    assert form.locator("input[name=subject]").input_value() == "Tilaus 48213: paketti ei ole saapunut"
    form.locator("input[name=subject]").fill("Lasku 48102 maksettu jo kortilla")
    form.locator("select[name=type]").select_option("problem")
    form.scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / f"case-split-{suffix}.png")


def test_screenshots_of_the_customer_360(
    browser: Browser,
    live_server,  # type: ignore[no-untyped-def]
    agent: User,
    other_agent: User,
    team_lead: User,
    administrator: User,
    webform_channel,  # type: ignore[no-untyped-def]
) -> None:
    """The 360° page, the case pane with a suggested match, an organisation, notifications, merge and erase."""
    demo = demo_fill(agent=agent, other_agent=other_agent, team_lead=team_lead, administrator=administrator)
    assert demo.customer is not None and demo.provisional_case is not None and demo.organization is not None
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base = live_server.url
    pages = {
        "c360": f"/console/customers/{demo.customer.pk}/",
        "c360-case-suggestion": f"/console/cases/{demo.provisional_case.reference}/",
        "c360-organization": f"/console/organizations/{demo.organization.pk}/",
        "c360-notifications": "/console/notifications/",
        "c360-inbox": "/console/",
    }
    for language, locale in LANGUAGES.items():
        for width, height in sizes(language):
            context = browser.new_context(
                viewport={"width": width, "height": height}, locale=locale, timezone_id="Europe/Helsinki"
            )
            page = context.new_page()
            _login(page, base)
            for name, path in pages.items():
                page.goto(f"{base}{path}")
                page.wait_for_load_state("networkidle")
                _assert_fits(page, f"{name} {language} {width}")
                page.screenshot(path=ARTIFACTS / f"{name}-{language}-{width}.png")
            page.goto(f"{base}{pages['c360']}")
            page.locator(".c360__actions a[href$='/merge/']").click()
            page.wait_for_load_state("networkidle")  # htmx wires the search field up once the page is in
            page.locator("#merge-q").fill("Pekka")
            page.locator(".picker__item").first.wait_for()
            page.screenshot(path=ARTIFACTS / f"c360-merge-search-{language}-{width}.png")
            page.locator(".picker__item").first.click()
            page.locator(".merge__pair").wait_for()
            _assert_fits(page, f"merge {language} {width}")
            page.screenshot(path=ARTIFACTS / f"c360-merge-confirm-{language}-{width}.png")
            page.goto(f"{base}{pages['c360']}")
            page.locator(".c360__actions a[href$='/erase/']").click()
            page.locator("form.erase").wait_for()
            page.screenshot(path=ARTIFACTS / f"c360-erase-{language}-{width}.png")
            context.close()
