"""Search: stemming in Finnish and English, ranking, snippets, filters, typos and hostile input.

Runs on SQLite (FTS5 with Snowball stems) and, with DATABASE_URL set, on PostgreSQL (tsvector).
"""

from __future__ import annotations

import pytest

from tests.knowledge.helpcentre_data import version_make
from tiski.knowledge.models import Article, ArticleCategory, ArticleTranslation
from tiski.knowledge.search import SearchHit, articles_search, search_index_delete, search_index_update, search_reindex

pytestmark = pytest.mark.django_db

Status = ArticleTranslation.Status
Visibility = Article.Visibility

_article = version_make


def _ids(hits: list[SearchHit]) -> list[int]:
    return [hit.translation_id for hit in hits]


@pytest.fixture
def base() -> dict[str, ArticleTranslation]:
    return {
        "lasku": _article("fi", "Lasku ja maksuaika", "Lasku lähetetään sähköpostiin. Maksuaika on 14 päivää."),
        "laskua": _article("fi", "Erääntynyt maksu", "Jos et ole saanut laskua, tarkista roskaposti."),
        "palautus": _article("fi", "Tuotteen palautus", "Palautus onnistuu 30 päivän kuluessa ostosta."),
        "invoice": _article("en", "Paying an invoice", "The invoice is sent by email. Payment time is 14 days."),
        "return": _article("en", "Returning a product", "You can return a product within 30 days."),
        "body_only": _article("en", "Payment options", "Pay by card, bank transfer or on invoice at checkout."),
    }


def test_finnish_inflected_forms_find_each_other(base: dict[str, ArticleTranslation]) -> None:
    hits = articles_search("laskun", language="fi")
    assert set(_ids(hits)) == {base["lasku"].pk, base["laskua"].pk}


def test_english_plural_finds_the_singular(base: dict[str, ArticleTranslation]) -> None:
    hits = articles_search("invoices", language="en")
    assert base["invoice"].pk in _ids(hits)


def test_a_title_match_ranks_above_a_body_match(base: dict[str, ArticleTranslation]) -> None:
    hits = articles_search("invoice", language="en")
    assert _ids(hits)[:2] == [base["invoice"].pk, base["body_only"].pk]
    assert hits[0].rank > hits[1].rank


def test_snippets_mark_the_matched_words_and_escape_the_text() -> None:
    _article("en", "Opening hours", 'The shop <script>x</script> opens at 9 & closes at 6 "sharp" if 5 < 6.')
    [hit] = articles_search("shops", language="en")
    assert "<mark>shop</mark>" in hit.snippet_html
    assert "<" not in hit.snippet_html.replace("<mark>", "").replace("</mark>", "")
    assert "&amp;" in hit.snippet_html


def test_only_published_versions_with_the_asked_visibility_are_found() -> None:
    public = _article("en", "Warranty", "Two years of warranty.")
    internal = _article("en", "Warranty claims procedure", "Check warranty.", visibility=Visibility.INTERNAL)
    draft = _article("en", "Warranty draft", "New warranty text.", status=Status.DRAFT)
    partners = _article("en", "Warranty for partners", "Partner warranty.", visibility=Visibility.PARTNERS)
    assert _ids(articles_search("warranty", language="en")) == [public.pk]
    agent_view = articles_search(
        "warranty", visibilities=("public", "partners", "internal"), statuses=("published", "draft")
    )
    assert set(_ids(agent_view)) == {public.pk, internal.pk, draft.pk, partners.pk}
    assert articles_search("warranty", visibilities=()) == []


def test_language_and_category_filters(base: dict[str, ArticleTranslation]) -> None:
    delivery = ArticleCategory.objects.create(slug="delivery", name="Delivery")
    parcel = _article("en", "Parcel lockers", "Pick up the parcel from a locker.", category=delivery)
    _article("en", "Parcel tracking", "Track the parcel with its code.")
    assert _ids(articles_search("parcel", category_id=delivery.pk)) == [parcel.pk]
    assert articles_search("parcel", language="fi") == []
    without_language = articles_search("laskua invoice", match="any")
    assert {base["lasku"].pk, base["invoice"].pk} <= set(_ids(without_language))


def test_all_needs_every_word_any_needs_one(base: dict[str, ArticleTranslation]) -> None:
    assert _ids(articles_search("palautus lasku", language="fi")) == []
    assert set(_ids(articles_search("palautus lasku", language="fi", match="any"))) >= {
        base["palautus"].pk,
        base["lasku"].pk,
    }


def test_a_typo_still_finds_the_word(base: dict[str, ArticleTranslation]) -> None:
    assert _ids(articles_search("palatus", language="fi")) == [base["palautus"].pk]
    assert base["return"].pk in _ids(articles_search("retunr product", language="en"))


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        "!!! ??? ...",
        '"lasku',
        "lasku AND OR NOT NEAR(",
        "lasku' OR 1=1 --",
        "{title}: lasku*",
        "lasku & | ! <-> :*",
        "🚲🚲 lasku 💥",
        "\x00lasku\ue000",
        "lasku " * 2000,
        "x" * 10_000,
    ],
)
def test_hostile_input_never_raises(base: dict[str, ArticleTranslation], query: str) -> None:
    hits = articles_search(query, language="fi", match="all")
    assert isinstance(hits, list)
    assert isinstance(articles_search(query, match="any", limit=3), list)


def test_an_empty_or_punctuation_query_finds_nothing(base: dict[str, ArticleTranslation]) -> None:
    assert articles_search("") == []
    assert articles_search("?!, -- ...") == []


def test_the_index_follows_updates_deletes_and_reindex(base: dict[str, ArticleTranslation]) -> None:
    translation = base["palautus"]
    translation.title, translation.body_text = "Tuotteen vaihto", "Vaihda koko tai väri."
    translation.save()
    search_index_update(translation)
    assert articles_search("palautus", language="fi") == []
    assert _ids(articles_search("vaihto", language="fi")) == [translation.pk]
    search_index_delete(translation.pk)
    assert articles_search("vaihto", language="fi") == []
    assert search_reindex() == len(base)
    assert _ids(articles_search("vaihto", language="fi")) == [translation.pk]


def test_paging(base: dict[str, ArticleTranslation]) -> None:
    first = articles_search("invoice payment", language="en", match="any", limit=1)
    second = articles_search("invoice payment", language="en", match="any", limit=1, offset=1)
    assert len(first) == len(second) == 1
    assert first[0].translation_id != second[0].translation_id
