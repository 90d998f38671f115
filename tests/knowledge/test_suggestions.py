"""Suggested articles on a case: ranking by text, category, type and past success; the panel; recording uses."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import PASSWORD
from tests.knowledge.helpcentre_data import version_make
from tiski.accounts.services import agent_create
from tiski.cases.models import Case, Category
from tiski.cases.services import case_update
from tiski.knowledge.models import Article, ArticleTranslation, ArticleUse
from tiski.knowledge.suggestions import case_query_text, query_words, suggestions_for_case

pytestmark = pytest.mark.django_db

Status = ArticleTranslation.Status
Visibility = Article.Visibility

_slugs = iter(range(10_000))


def _article(
    language: str, title: str, body: str, *, categories: tuple[Category, ...] = (), **options
) -> ArticleTranslation:  # type: ignore[no-untyped-def]
    return version_make(language, title, body, case_categories=categories, **options)


def _case(receive, *, subject: str, body: str, language: str = "fi", **changes) -> Case:  # type: ignore[no-untyped-def]
    case = receive(subject=subject, body=body, email=f"{language}-{next(_slugs)}@example.com").case
    case.customer.language = language
    case.customer.save(update_fields=["language"])
    for field, value in changes.items():
        setattr(case, field, value)
    case.save()
    return case


def test_the_case_text_finds_the_article_that_answers_it(receive) -> None:  # type: ignore[no-untyped-def]
    due = _article("fi", "Laskun eräpäivän siirto", "Voit siirtää laskun eräpäivää 14 päivällä OmaTilillä.")
    _article("fi", "Tuotteen palautus", "Palauta tuote 30 päivän kuluessa palautuslomakkeella.")
    _article("fi", "Pyörän huoltoaika", "Varaa huoltoaika verkossa tai soita myymälään.")
    case = _case(
        receive, subject="Laskun eräpäivä", body="Hei, voisinko saada laskulle kaksi viikkoa lisää maksuaikaa?"
    )

    found = suggestions_for_case(case)

    assert found and found[0].translation_id == due.pk
    assert found[0].rank == 1 and found[0].language == "fi"
    assert "<mark>" in found[0].snippet_html


def test_the_customers_language_first_then_any(receive) -> None:  # type: ignore[no-untyped-def]
    fi = _article("fi", "Palautus ja vaihto", "Tuotteen palautus tai vaihto isompaan kokoon onnistuu 30 päivässä.")
    en = _article("en", "Returns and exchanges", "Return or exchange a product for a bigger size within 30 days.")
    english = _case(receive, subject="Exchange", body="The jacket is too small, can I exchange it?", language="en")
    swedish = _case(receive, subject="Exchange", body="The jacket is too small, exchange please", language="sv")

    assert [s.translation_id for s in suggestions_for_case(english)][:1] == [en.pk]
    assert fi.pk not in [s.translation_id for s in suggestions_for_case(english)]
    # No Swedish article: the search falls back to every language rather than suggesting nothing.
    assert en.pk in [s.translation_id for s in suggestions_for_case(swedish)]


def test_category_and_type_outweigh_a_slightly_better_text_match(receive) -> None:  # type: ignore[no-untyped-def]
    billing = Category.objects.create(name="Billing", name_fi="Laskutus")
    generic = _article("fi", "Lasku", "Lasku ja lasku: yleistä laskuista.")
    fitting = _article(
        "fi", "Maksu kahdesti", "Jos lasku maksettiin kahdesti, palautamme summan.", categories=(billing,),
        case_types=("incident",),
    )  # fmt: skip
    case = _case(receive, subject="Lasku", body="Maksoin laskun kahdesti.", category=billing, type="incident")

    found = suggestions_for_case(case)

    assert [s.translation_id for s in found][:2] == [fitting.pk, generic.pk]
    reasons = [str(r) for r in found[0].reasons]
    assert "helps with this category" in reasons and "fits this type of case" in reasons


def test_articles_that_solved_cases_rise(receive) -> None:  # type: ignore[no-untyped-def]
    plain = _article("en", "Charging the e-bike battery", "If the battery does not charge, check the charger.")
    proven = _article(
        "en", "Charging the e-bike battery", "If the battery does not charge, check the charger.", uses=(9, 10)
    )
    case = _case(receive, subject="Battery", body="My e-bike battery does not charge.", language="en")

    found = suggestions_for_case(case)

    assert [s.translation_id for s in found][:2] == [proven.pk, plain.pk]
    assert "solved 9 of 10 cases" in [str(r) for r in found[0].reasons]


def test_only_published_articles_and_links_only_for_public_ones(receive) -> None:  # type: ignore[no-untyped-def]
    public = _article("en", "Store opening hours", "The store is open weekdays 10-18.")
    internal = _article(
        "en", "Store opening hours for agents", "Store hours and holiday exceptions.", visibility="internal"
    )
    draft = _article("en", "Store opening hours draft", "Store hours draft.", status=Status.DRAFT)
    archived = _article("en", "Old store opening hours", "Store hours 2019.", status=Status.ARCHIVED)
    case = _case(receive, subject="Store hours", body="When is the store open?", language="en")

    found = {s.translation_id: s for s in suggestions_for_case(case, limit=10)}

    assert public.pk in found and internal.pk in found
    assert draft.pk not in found and archived.pk not in found
    assert found[public.pk].url.endswith(f"/{public.slug}/") or public.slug in found[public.pk].url
    assert found[internal.pk].url == ""
    assert "weekdays 10-18" in found[public.pk].text


def test_the_query_is_bounded_and_without_stop_words(receive) -> None:  # type: ignore[no-untyped-def]
    words = query_words("the and and the invoice " + " ".join(f"word{i}" for i in range(500)))
    assert words.split()[0] == "invoice" and len(words.split()) == 32
    case = _case(receive, subject="Quote", body="> quoted old text\nMy actual question", language="en")
    assert "quoted" not in case_query_text(case) and "actual question" in case_query_text(case)


# --- the panel and recording uses -----------------------------------------------------------------------


def test_the_panel_lists_suggestions_and_searches(client, agent, receive) -> None:  # type: ignore[no-untyped-def]
    _article("en", "Returns and exchanges", "Return or exchange a product within 30 days.")
    _article("en", "Paying an invoice", "Pay the invoice within 14 days.")
    case = _case(receive, subject="Exchange", body="Can I exchange my jacket?", language="en")
    client.force_login(agent)
    url = reverse("knowledge-case:articles", args=[case.reference])

    page = client.get(url).content.decode()
    searched = client.get(url, {"q": "invoice"}).content.decode()
    nothing = client.get(url, {"q": "zzzqqq"}).content.decode()

    assert "Returns and exchanges" in page and "Insert text" in page and "Insert link" in page
    assert "Paying an invoice" in searched and "Returns and exchanges" not in searched
    assert "No published article matches" in nothing


def test_the_panel_needs_the_knowledge_permission(client, receive) -> None:  # type: ignore[no-untyped-def]
    case = _case(receive, subject="Exchange", body="Can I exchange my jacket?", language="en")
    reader = agent_create(username="no-kb", password=PASSWORD, role="agent")
    reader.user_permissions.clear()
    reader.groups.first().permissions.remove(  # type: ignore[union-attr]
        *reader.groups.first().permissions.filter(codename="view_article")  # type: ignore[union-attr]
    )
    client.force_login(reader)

    answer = client.get(reverse("knowledge-case:articles", args=[case.reference]))
    anonymous = client.__class__().get(reverse("knowledge-case:articles", args=[case.reference]))

    assert answer.status_code == 403
    assert anonymous.status_code == 302


def test_a_use_is_recorded_and_settled_when_the_case_is_solved(client, agent, receive, run_tasks) -> None:  # type: ignore[no-untyped-def]
    article = _article("en", "Returns and exchanges", "Return or exchange a product within 30 days.")
    case = _case(receive, subject="Exchange", body="Can I exchange my jacket?", language="en")
    client.force_login(agent)
    use_url = reverse("knowledge-case:use", args=[case.reference])

    answer = client.post(use_url, {"translation": article.pk, "how": "link", "rank": "1"})
    case_update(case=case, actor=agent, status=Case.Status.SOLVED)
    run_tasks()

    assert answer.status_code == 204
    use = ArticleUse.objects.get()
    assert (use.case_id, use.user_id, use.how, use.suggested_rank) == (case.pk, agent.pk, "link", 1)
    assert use.solved is True
    stored = Article.objects.get(pk=article.article_id)
    assert (stored.use_count, stored.solved_count) == (1, 1)
    panel = client.get(reverse("knowledge-case:articles", args=[case.reference])).content.decode()
    assert "Used on this case" in panel


def test_bad_uses_are_refused_clearly(client, agent, receive) -> None:  # type: ignore[no-untyped-def]
    internal = _article("en", "Internal procedure", "Only for agents.", visibility="internal")
    draft = _article("en", "Draft", "Not yet.", status=Status.DRAFT)
    case = _case(receive, subject="Exchange", body="Can I exchange my jacket?", language="en")
    client.force_login(agent)
    use_url = reverse("knowledge-case:use", args=[case.reference])

    link_to_internal = client.post(use_url, {"translation": internal.pk, "how": "link"})
    unknown_how = client.post(use_url, {"translation": internal.pk, "how": "tweet"})
    not_published = client.post(use_url, {"translation": draft.pk, "how": "text"})
    not_a_number = client.post(use_url, {"translation": "x", "how": "text"})
    text_of_internal = client.post(use_url, {"translation": internal.pk, "how": "text", "rank": "abc"})

    assert link_to_internal.status_code == 400 and b"public" in link_to_internal.content
    assert unknown_how.status_code == 400
    assert not_published.status_code == 404 and not_a_number.status_code == 404
    assert text_of_internal.status_code == 204
    assert list(ArticleUse.objects.values_list("how", "suggested_rank")) == [("text", None)]
