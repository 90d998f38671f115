"""The public help centre and the partner portal: what a reader may see, in which language, and feedback."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from tests.conftest import PASSWORD
from tests.knowledge.helpcentre_data import article_make, category_make, translation_of
from tiski.knowledge.helpcentre.links import article_partner_url, article_public_url
from tiski.knowledge.models import Article, ArticleCategory, ArticleFeedback, ArticleTranslation, Deflection

pytestmark = pytest.mark.django_db

Status = ArticleTranslation.Status
Visibility = Article.Visibility


@pytest.fixture
def kb() -> dict[str, Article]:
    returns = category_make("returns", "Returns", "Palautukset", description="Returning and exchanging products")
    orders = category_make("orders", "Orders and delivery", "Tilaukset ja toimitus")
    hidden = category_make("staff", "Staff only", "Vain henkilökunnalle")
    return {
        "returns": article_make(
            category=returns,
            versions={
                "fi": ("Tuotteen palautus", "Voit palauttaa tuotteen 30 päivän kuluessa ostosta."),
                "en": ("Returning a product", "You can return a product within 30 days of purchase."),
            },
            views=40,
        ),
        "exchange": article_make(
            category=returns,
            versions={"en": ("Exchanging a size", "Exchange shoes or clothes for another size free of charge.")},
            views=5,
        ),
        "delivery": article_make(
            category=orders,
            versions={"fi": ("Toimitusajat", "Toimitamme tilaukset 2–4 arkipäivässä Postin kautta.")},
            views=20,
        ),
        "internal": article_make(
            category=hidden,
            visibility=Visibility.INTERNAL,
            versions={"fi": ("Sisäinen hinnasto", "Hinnasto henkilökunnalle."), "en": ("Staff prices", "Prices.")},
        ),
        "partners": article_make(
            category=orders,
            visibility=Visibility.PARTNERS,
            versions={
                "fi": ("Jälleenmyyjän tilaukset", "Jälleenmyyjät tilaavat portaalin kautta."),
                "en": ("Reseller orders", "Resellers order through the portal."),
            },
        ),
        "draft": article_make(
            category=returns, status=Status.DRAFT, versions={"en": ("Draft returns policy", "Not yet.")}
        ),
        "review": article_make(
            category=returns, status=Status.IN_REVIEW, versions={"en": ("Returns in review", "Being reviewed.")}
        ),
        "archived": article_make(
            category=returns, status=Status.ARCHIVED, versions={"en": ("Old returns policy", "Archived.")}
        ),
    }


def _html(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


# Language


@pytest.mark.parametrize(("accept", "expected"), [("fi-FI,fi;q=0.9", "/help/fi/"), ("en-GB,en;q=0.9", "/help/en/")])
def test_help_root_redirects_to_the_browsers_language(client: Client, accept: str, expected: str) -> None:
    response = client.get("/help/", HTTP_ACCEPT_LANGUAGE=accept)
    assert response.status_code == 302
    assert response["Location"] == expected
    assert "Accept-Language" in response["Vary"]


def test_help_root_falls_back_to_the_installations_language(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.LANGUAGE_CODE = "fi"
    assert client.get("/help/", HTTP_ACCEPT_LANGUAGE="de-DE")["Location"] == "/help/fi/"


def test_home_shows_public_categories_and_popular_articles_in_the_readers_language(
    client: Client, kb: dict[str, Article]
) -> None:
    html = _html(client.get("/help/fi/"))
    assert '<html lang="fi">' in html
    assert "Palautukset" in html and "Tilaukset ja toimitus" in html
    assert "Tuotteen palautus" in html and "Toimitusajat" in html
    assert "Returning a product" not in html  # the Finnish version is shown where there is one
    for hidden in (
        "Sisäinen hinnasto",
        "Vain henkilökunnalle",
        "Jälleenmyyjän tilaukset",
        "Draft returns",
        "Old returns",
    ):
        assert hidden not in html
    english = _html(client.get("/help/en/"))
    assert "Returning a product" in english and "Orders and delivery" in english
    assert 'hreflang="fi"' in english and 'rel="canonical" href="http://testserver/help/en/"' in english


def test_category_page_lists_only_readable_articles(client: Client, kb: dict[str, Article]) -> None:
    response = client.get("/help/en/categories/returns/")
    html = _html(response)
    assert response.status_code == 200
    assert "Returning a product" in html and "Exchanging a size" in html
    assert "Draft returns policy" not in html and "Returns in review" not in html and "Old returns policy" not in html


def test_a_category_with_nothing_public_is_a_404(client: Client, kb: dict[str, Article]) -> None:
    assert client.get("/help/en/categories/staff/").status_code == 404
    assert client.get("/help/en/categories/nope/").status_code == 404


# Visibility and status


@pytest.mark.parametrize("key", ["internal", "partners", "draft", "review", "archived"])
def test_only_published_public_articles_can_be_read(client: Client, kb: dict[str, Article], key: str) -> None:
    translation = kb[key].translations.first()
    assert translation is not None
    response = client.get(f"/help/{translation.language}/articles/{translation.slug}/")
    assert response.status_code == 404
    assert translation.title not in _html(response)
    assert "noindex" in _html(response)
    post = client.post(f"/help/{translation.language}/articles/{translation.slug}/feedback/", {"helpful": "yes"})
    assert post.status_code == 404
    assert not ArticleFeedback.objects.exists()


def test_unknown_language_or_article_is_a_404(client: Client, kb: dict[str, Article]) -> None:
    assert client.get("/help/sv/").status_code == 404
    assert client.get("/help/fi/articles/ei-ole/").status_code == 404


def test_article_page_has_body_seo_basics_and_counts_the_view(client: Client, kb: dict[str, Article]) -> None:
    translation = translation_of(kb["returns"], "en")
    response = client.get(article_public_url(translation))
    html = _html(response)
    assert response.status_code == 200
    assert response["Content-Language"] == "en"
    assert "<p>You can return a product within 30 days of purchase.</p>" in html
    assert '<meta name="description" content="You can return a product within 30 days of purchase.">' in html
    assert f'<link rel="canonical" href="http://testserver/help/en/articles/{translation.slug}/">' in html
    fi = translation_of(kb["returns"], "fi")
    assert f'hreflang="fi" href="http://testserver/help/fi/articles/{fi.slug}/"' in html
    assert "Exchanging a size" in html  # related: the same category
    assert "Was this article helpful?" in html
    translation.refresh_from_db()
    assert translation.view_count == 41


def test_an_article_without_the_readers_language_is_shown_in_the_other_one_and_says_so(
    client: Client, kb: dict[str, Article]
) -> None:
    delivery = translation_of(kb["delivery"], "fi")
    response = client.get(f"/help/en/articles/{delivery.slug}/")
    html = _html(response)
    assert response.status_code == 200
    assert "This article is not available in English yet, so it is shown in Finnish." in html
    assert '<article class="hc-article" lang="fi">' in html
    assert f'rel="canonical" href="http://testserver/help/fi/articles/{delivery.slug}/"' in html


def test_the_other_languages_address_redirects_when_the_readers_language_exists(
    client: Client, kb: dict[str, Article]
) -> None:
    fi, en = translation_of(kb["returns"], "fi"), translation_of(kb["returns"], "en")
    response = client.get(f"/help/en/articles/{fi.slug}/")
    assert response.status_code == 302
    assert response["Location"] == f"/help/en/articles/{en.slug}/"


def test_language_switch_on_an_article_points_to_the_other_version(client: Client, kb: dict[str, Article]) -> None:
    fi, en = translation_of(kb["returns"], "fi"), translation_of(kb["returns"], "en")
    html = _html(client.get(article_public_url(fi)))
    assert f'<a href="/help/en/articles/{en.slug}/" lang="en" hreflang="en">English</a>' in html


def test_company_name_is_shown(client: Client, kb: dict[str, Article], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TISKI_COMPANY_NAME", "Pohjolan Pyörä")
    html = _html(client.get("/help/fi/"))
    assert "Pohjolan Pyörä" in html
    assert 'href="/contact/?lang=fi"' in html


# Was this helpful?


def test_feedback_counts_once_per_visitor(client: Client, kb: dict[str, Article]) -> None:
    translation = translation_of(kb["returns"], "en")
    url = f"{article_public_url(translation)}feedback/"
    first = client.post(url, {"helpful": "yes"})
    assert first.status_code == 302 and first["Location"].endswith("?feedback=1#feedback")
    client.post(url, {"helpful": "no"})  # the same visitor again: ignored
    translation.refresh_from_db()
    assert (translation.helpful_count, translation.unhelpful_count) == (1, 0)
    page = _html(client.get(first["Location"]))
    assert "Thank you for your feedback!" in page and 'name="helpful"' not in page

    other = Client()
    other.post(url, {"helpful": "no"})
    translation.refresh_from_db()
    assert (translation.helpful_count, translation.unhelpful_count) == (1, 1)
    assert ArticleFeedback.objects.count() == 2
    assert len({f.visitor for f in ArticleFeedback.objects.all()}) == 2


def test_a_comment_can_follow_the_answer_once(client: Client, kb: dict[str, Article]) -> None:
    translation = translation_of(kb["returns"], "en")
    url = f"{article_public_url(translation)}feedback/"
    client.post(url, {"helpful": "no"})
    client.post(url, {"comment": "  Does this apply to bikes?  "})
    client.post(url, {"comment": "Second comment"})
    feedback = ArticleFeedback.objects.get()
    assert feedback.helpful is False and feedback.comment == "Does this apply to bikes?"
    assert "We read every comment" in _html(client.get(article_public_url(translation)))


def test_a_comment_without_an_answer_changes_nothing(client: Client, kb: dict[str, Article]) -> None:
    translation = translation_of(kb["returns"], "en")
    client.post(f"{article_public_url(translation)}feedback/", {"comment": "Hello"})
    assert not ArticleFeedback.objects.exists()


def test_feedback_needs_csrf(kb: dict[str, Article]) -> None:
    translation = translation_of(kb["returns"], "en")
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(f"{article_public_url(translation)}feedback/", {"helpful": "yes"}).status_code == 403


# Search


def test_search_highlights_matches_in_the_readers_language(client: Client, kb: dict[str, Article]) -> None:
    response = client.get("/help/en/search/", {"q": "return product"})
    html = _html(response)
    assert response.status_code == 200
    assert "Returning a product" in html and "<mark>" in html
    assert "Staff prices" not in html and "Reseller orders" not in html
    assert "noindex" in html


def test_search_falls_back_to_any_word_then_to_the_other_language(client: Client, kb: dict[str, Article]) -> None:
    html = _html(client.get("/help/en/search/", {"q": "exchange zeppelin"}))
    assert "Exchanging a size" in html and "contain some of them" in html
    html = _html(client.get("/help/en/search/", {"q": "toimitamme"}))
    assert "Toimitusajat" in html and "Nothing was found in English; these articles are in Finnish." in html


def test_a_search_without_results_helps_and_is_logged(client: Client, kb: dict[str, Article]) -> None:
    response = client.get("/help/en/search/", {"q": "kayak rental"})
    html = _html(response)
    assert "No articles matched your search" in html
    assert 'href="/contact/?lang=en"' in html
    assert "Returns" in html  # the topics to browse instead
    client.get("/help/en/search/", {"q": "kayak rental"})  # the same visitor again: logged once
    Client().get("/help/en/search/", {"q": "kayak  rental"}, HTTP_USER_AGENT="Other browser")
    rows = Deflection.objects.filter(channel_kind="search")
    assert [(r.query, r.language, r.outcome, r.translation_id) for r in rows] == [
        ("kayak rental", "en", "shown", None),
        ("kayak rental", "en", "shown", None),
    ]


def test_did_you_mean_offers_a_known_word(client: Client, kb: dict[str, Article]) -> None:
    html = _html(client.get("/help/en/search/", {"q": "prodctu"}))
    assert "Did you mean" in html and "product" in html and "No articles matched" in html


def test_search_input_is_bounded(client: Client, kb: dict[str, Article]) -> None:
    response = client.get("/help/en/search/", {"q": "return " * 2000, "page": "99999"})
    assert response.status_code == 200
    assert client.get("/help/en/search/", {"q": "", "page": "x"}).status_code == 200


# Partner portal


@pytest.fixture
def partner(db: None) -> User:
    user = User.objects.create_user("kumppani", password=PASSWORD)
    user.user_permissions.add(Permission.objects.get(codename="view_partner_articles"))
    return user


def test_partner_portal_needs_a_login(client: Client, kb: dict[str, Article]) -> None:
    response = client.get("/help/partners/fi/")
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=/help/partners/fi/")


def test_partner_portal_refuses_users_without_partner_access(client: Client, kb: dict[str, Article]) -> None:
    User.objects.create_user("ulkopuolinen", password=PASSWORD)
    client.login(username="ulkopuolinen", password=PASSWORD)
    response = client.get("/help/partners/fi/")
    assert response.status_code == 403
    assert "Jälleenmyyjän tilaukset" not in _html(response)


@pytest.mark.parametrize("who", ["partner", "agent"])
def test_partners_and_agents_read_public_and_partner_articles_but_never_internal_ones(
    client: Client, kb: dict[str, Article], who: str, request: pytest.FixtureRequest
) -> None:
    user = request.getfixturevalue(who)
    client.force_login(user)
    home = _html(client.get("/help/partners/fi/"))
    assert "Jälleenmyyjän tilaukset" in home and "Tuotteen palautus" in home
    assert "Sisäinen hinnasto" not in home
    reseller = translation_of(kb["partners"], "fi")
    page = client.get(article_partner_url(reseller))
    assert page.status_code == 200
    assert 'hc-tag--partners">Kumppanit' in _html(page) or 'hc-tag--partners">Partners' in _html(page)
    assert page["Cache-Control"].startswith("private") or "private" in page["Cache-Control"]
    internal = translation_of(kb["internal"], "fi")
    assert client.get(article_partner_url(internal)).status_code == 404
    search = _html(client.get("/help/partners/en/search/", {"q": "resellers portal"}))
    assert "Reseller orders" in search
    assert "Staff prices" not in _html(client.get("/help/partners/en/search/", {"q": "prices"}))
    assert client.get("/help/partners/en/categories/staff/").status_code == 404


def test_partner_articles_stay_out_of_the_public_help_centre(client: Client, kb: dict[str, Article]) -> None:
    reseller = translation_of(kb["partners"], "en")
    assert client.get(article_public_url(reseller)).status_code == 404
    assert "Reseller orders" not in _html(client.get("/help/en/search/", {"q": "resellers portal"}))


def test_links_give_absolute_paths() -> None:
    translation = ArticleTranslation(language="fi", slug="tuotteen-palautus")
    assert article_public_url(translation) == "/help/fi/articles/tuotteen-palautus/"
    assert article_partner_url(translation) == "/help/partners/fi/articles/tuotteen-palautus/"


def test_home_without_articles_says_what_to_do(client: Client, db: None) -> None:
    html = _html(client.get("/help/en/"))
    assert "No articles yet" in html
    assert ArticleCategory.objects.count() == 0
    assert re.search(r'<a class="hc-button" href="/contact/\?lang=en">', html)
