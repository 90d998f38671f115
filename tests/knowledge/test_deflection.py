"""Deflection: articles suggested while a customer types on the web form or in the chat widget, and what came of it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from tests.channels.chat.conftest import Socket, run
from tests.knowledge.helpcentre_data import article_make, category_make, translation_of
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.webform.services import form_token_issue
from tiski.knowledge.helpcentre import services
from tiski.knowledge.helpcentre.selectors import deflection_stats, searches_without_results
from tiski.knowledge.models import Article, Deflection

pytestmark = pytest.mark.django_db

SESSION = "0f8b7c2e-4d1a-4c5e-9a77-3b2f1e6d9c01"
SHOP = "https://shop.example"


@pytest.fixture
def kb() -> dict[str, Article]:
    returns = category_make("returns", "Returns", "Palautukset")
    return {
        "returns": article_make(
            category=returns,
            versions={
                "fi": ("Tuotteen palautus", "Voit palauttaa tuotteen 30 päivän kuluessa. Palautus on maksuton."),
                "en": ("Returning a product", "You can return a product within 30 days. Returns are free."),
            },
        ),
        "internal": article_make(
            visibility=Article.Visibility.INTERNAL,
            versions={"en": ("Returns fraud checklist", "Check returns for signs of fraud.")},
        ),
        "partners": article_make(
            visibility=Article.Visibility.PARTNERS,
            versions={"en": ("Reseller returns", "Resellers return products through the portal.")},
        ),
    }


def suggest(client: Client, lang: str = "en", origin: str = "", **params: str):  # type: ignore[no-untyped-def]
    query = {"channel": "webform", "session": SESSION, **params}
    return client.get(f"/help/{lang}/suggest", query, headers={"Origin": origin} if origin else None)


# The endpoint


def test_suggest_returns_up_to_three_public_published_articles_and_records_the_session(
    client: Client, kb: dict[str, Article]
) -> None:
    response = suggest(client, q="I want to return my product")
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("no-store") or "no-store" in response["Cache-Control"]
    data = response.json()
    titles = [a["title"] for a in data["articles"]]
    assert titles == ["Returning a product"]  # never the internal or the partners' one
    en = translation_of(kb["returns"], "en")
    assert data["articles"][0]["url"] == f"http://testserver/help/en/articles/{en.slug}/?d={SESSION}"
    assert "<" not in data["articles"][0]["snippet"]  # plain text: the widget shows it with textContent
    assert data["more"].startswith("http://testserver/help/en/search/?q=")
    row = Deflection.objects.get()
    assert (row.session, row.channel_kind, row.language, row.outcome) == (SESSION, "webform", "en", "shown")
    suggest(client, q="return product free")  # the same session: one row, the latest query
    row.refresh_from_db()
    assert Deflection.objects.count() == 1 and row.query == "return product free"


def test_suggest_speaks_the_customers_language(client: Client, kb: dict[str, Article]) -> None:
    data = suggest(client, "fi", q="palautus").json()
    assert [a["title"] for a in data["articles"]] == ["Tuotteen palautus"]


def test_suggest_bounds_its_input(client: Client, kb: dict[str, Article]) -> None:
    assert suggest(client, q="re").json() == {"articles": []}
    assert suggest(client, q="return", channel="sms").status_code == 400
    long = "return " + "x" * 50_000
    response = suggest(client, q=long)
    assert response.status_code == 200
    assert len(Deflection.objects.get().query) <= 200
    Deflection.objects.all().delete()
    suggest(client, q="return product", session="short")  # not an id the form or widget makes: nothing recorded
    suggest(client, q="return product", session="<script>alert(1)</script>xxxxxxxx")
    assert not Deflection.objects.exists()
    suggest(client, q="zeppelin ballooning")  # nothing found: nothing shown, nothing recorded
    assert not Deflection.objects.exists()


def test_suggest_is_rate_limited_per_address(client: Client, kb: dict[str, Article], settings: Any) -> None:
    settings.TISKI_RATES = {**settings.TISKI_RATES, "help_suggest": "2/300"}
    assert suggest(client, q="return").status_code == 200
    assert suggest(client, q="return p").status_code == 200
    limited = suggest(client, q="return pr")
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0


def test_suggest_allows_the_chat_widgets_sites(client: Client, kb: dict[str, Article]) -> None:
    Channel.objects.create(kind=ChannelKind.CHAT, name="Shop chat", config={"allowed_origins": [SHOP]})
    allowed = suggest(client, q="return", channel="chat", origin=SHOP)
    assert allowed["Access-Control-Allow-Origin"] == SHOP and "Origin" in allowed["Vary"]
    other = suggest(client, q="return", channel="chat", origin="https://evil.example")
    assert "Access-Control-Allow-Origin" not in other


# Outcomes


def test_opening_a_suggestion_then_saying_it_helped_is_a_deflected_contact(
    client: Client, kb: dict[str, Article]
) -> None:
    en = translation_of(kb["returns"], "en")
    url = suggest(client, q="return a product").json()["articles"][0]["url"].removeprefix("http://testserver")
    page = client.get(url)
    assert page.status_code == 200 and "Did this answer your question?" in page.content.decode()
    row = Deflection.objects.get()
    assert (row.outcome, row.translation_id) == ("opened", en.pk)
    client.post(f"/help/en/articles/{en.slug}/feedback/", {"helpful": "yes", "d": SESSION})
    row.refresh_from_db()
    assert row.outcome == "helped"
    en.refresh_from_db()
    assert en.helpful_count == 1
    client.get(url)  # opened again later: it stays helped
    row.refresh_from_db()
    assert row.outcome == "helped"


def test_an_unknown_or_foreign_session_id_changes_nothing(client: Client, kb: dict[str, Article]) -> None:
    services.search_failed_record(query="kayak", language="en", visitor="v")
    en = translation_of(kb["returns"], "en")
    assert client.get(f"/help/en/articles/{en.slug}/", {"d": "a" * 20}).status_code == 200
    search_row = Deflection.objects.get()
    assert not services.deflection_contacted(session=search_row.session)  # a logged search is not a session
    search_row.refresh_from_db()
    assert search_row.outcome == "shown"


def _form(**overrides: str) -> dict[str, str]:
    return {
        "name": "Anssi Asiakas",
        "email": "anssi@example.com",
        "message": "I want to return my product, it is too small.",
        "website": "",
        "form_token": form_token_issue(),
        **overrides,
    }


def test_the_web_form_carries_the_session_and_counts_a_contact_made_anyway(
    client: Client, kb: dict[str, Article], webform_channel: Channel
) -> None:
    html = client.get("/contact/?lang=fi").content.decode()
    assert 'name="deflection"' in html and 'data-url="/help/fi/suggest"' in html
    assert "knowledge/suggest.js" in html
    suggest(client, q="return my product")
    response = client.post("/contact/", _form(deflection=SESSION))
    assert response.status_code == 302
    row = Deflection.objects.get()
    assert row.outcome == "contacted"


def test_a_web_form_sent_without_suggestions_records_nothing(
    client: Client, kb: dict[str, Article], webform_channel: Channel
) -> None:
    assert client.post("/contact/", _form(deflection=SESSION)).status_code == 302
    assert client.post("/contact/", _form(deflection="x" * 500)).status_code == 200  # too long: a form error
    assert not Deflection.objects.exists()


@pytest.mark.django_db(transaction=True)  # the consumer runs in another thread: it must see committed rows
def test_leaving_a_message_in_the_chat_widget_after_suggestions_counts_as_contacted(
    client: Client, kb: dict[str, Article]
) -> None:
    chat = Channel.objects.create(kind=ChannelKind.CHAT, name="Shop chat", config={"allowed_origins": [SHOP]})
    Channel.objects.create(kind=ChannelKind.EMAIL, name="Support", address="support@shop.example")
    suggest(client, q="return product", channel="chat")

    async def scenario() -> None:
        socket = Socket(f"/ws/chat/{chat.pk}/")
        assert await socket.connect()
        await socket.send_json({"type": "hello", "lang": "en"})
        await socket.expect("welcome")
        await socket.send_json(
            {
                "type": "leave_message",
                "id": "l-1",
                "email": "liisa@example.com",
                "text": "Return?",
                "deflection": SESSION,
            }
        )
        await socket.expect("notice")
        await socket.close()

    run(scenario)
    assert Deflection.objects.get().outcome == "contacted"


# The figures


def test_deflection_stats_count_outcomes_and_the_rate() -> None:
    def row(n: int, kind: str, outcome: str) -> None:
        Deflection.objects.create(session=f"{kind}-{outcome}-{n:04d}-xxxxxxxx", channel_kind=kind, outcome=outcome)

    for n in range(4):
        row(n, "webform", "shown")
    for n in range(3):
        row(n, "webform", "opened")
    row(0, "chat", "helped")
    for n in range(2):
        row(n, "chat", "contacted")
    services.search_failed_record(query="kayak", language="en", visitor="a")
    services.search_failed_record(query="kayak", language="en", visitor="b")
    services.search_failed_record(query="sup board", language="fi", visitor="a")
    now = timezone.now()
    stats = deflection_stats(now - dt.timedelta(days=1), now + dt.timedelta(seconds=1))
    assert (stats["sessions"], stats["shown"], stats["opened"], stats["helped"], stats["contacted"]) == (10, 4, 3, 1, 2)
    assert stats["deflected"] == 4 and stats["rate"] == pytest.approx(0.4)
    assert stats["by_channel"]["chat"]["sessions"] == 3 and stats["by_channel"]["webform"]["deflected"] == 3
    assert deflection_stats(now + dt.timedelta(days=1), now + dt.timedelta(days=2))["rate"] is None
    failed = searches_without_results(now - dt.timedelta(days=1), now + dt.timedelta(seconds=1))
    assert [(f.query, f.count) for f in failed] == [("kayak", 2), ("sup board", 1)]


def test_the_console_stats_page_is_for_team_leads(
    client: Client, kb: dict[str, Article], agent: User, team_lead: User
) -> None:
    Deflection.objects.create(session="w" * 20, channel_kind="webform", outcome="opened")
    en = translation_of(kb["returns"], "en")
    client.post(f"/help/en/articles/{en.slug}/feedback/", {"helpful": "yes"})
    client.force_login(agent)
    assert client.get("/console/help-centre/").status_code == 403
    client.force_login(team_lead)
    response = client.get("/console/help-centre/", {"days": "7"}, HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Deflection rate" in html and "100 %" in html
    assert "Returning a product" in html  # the most helpful article
