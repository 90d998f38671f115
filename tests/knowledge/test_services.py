"""Article lifecycle, versions, permissions and uses on cases."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from tiski.cases.models import Case
from tiski.cases.services import case_create, case_update
from tiski.customers.models import Customer
from tiski.knowledge.exceptions import (
    ArticleConflictError,
    ArticleInvalidError,
    ArticlePermissionError,
    ArticleTransitionError,
)
from tiski.knowledge.models import Article, ArticleTranslation, ArticleUse
from tiski.knowledge.search import articles_search
from tiski.knowledge.services import (
    article_create,
    article_update,
    article_use_record,
    transitions_allowed,
    translation_delete,
    translation_restore,
    translation_save,
    translation_transition,
)

pytestmark = pytest.mark.django_db
Status = ArticleTranslation.Status


@pytest.fixture
def draft(agent: User) -> ArticleTranslation:
    return article_create(
        actor=agent,
        language="fi",
        title="Laskun maksuaika",
        body_html="<p>Lasku erääntyy <b>14 päivän</b> kuluttua.</p>",
        tags=["Laskutus"],
        case_types=["question", "question", " "],
    )


def test_an_agent_writes_a_draft_with_clean_html_plain_text_and_a_slug(draft: ArticleTranslation, agent: User) -> None:
    assert draft.status == Status.DRAFT
    assert (draft.version, draft.author, draft.slug) == (1, agent, "laskun-maksuaika")
    assert draft.body_text == "Lasku erääntyy 14 päivän kuluttua."
    assert draft.article.visibility == Article.Visibility.INTERNAL
    assert draft.article.case_types == ["question"]
    assert [t.name for t in draft.article.tags.all()] == ["laskutus"]
    assert [(v.number, v.title) for v in draft.versions.all()] == [(1, "Laskun maksuaika")]


def test_the_body_is_sanitised(agent: User) -> None:
    translation = article_create(
        actor=agent,
        language="en",
        title="Hi",
        body_html='<p onclick="x()">Hi<script>alert(1)</script><a href="javascript:x()">link</a></p>',
    )
    assert "script" not in translation.body_html
    assert "onclick" not in translation.body_html
    assert "javascript" not in translation.body_html


def test_every_save_keeps_a_version_and_unchanged_text_keeps_the_number(draft: ArticleTranslation, agent: User) -> None:
    saved = translation_save(
        article=draft.article, language="fi", actor=agent, title="Laskun maksuaika", body_html="<p>Uusi</p>"
    )
    assert saved.version == 2
    again = translation_save(
        article=draft.article, language="fi", actor=agent, title="Laskun maksuaika", body_html="<p>Uusi</p>"
    )
    assert again.version == 2
    assert list(saved.versions.values_list("number", flat=True)) == [2, 1]
    restored = translation_restore(translation=saved, number=1, actor=agent)
    assert restored.version == 3
    assert "14 päivän" in restored.body_html
    assert saved.versions.get(number=3).note == "Restored version 1"


def test_slugs_are_unique_per_language(agent: User) -> None:
    first = article_create(actor=agent, language="en", title="Returns")
    second = article_create(actor=agent, language="en", title="Returns")
    other_language = article_create(actor=agent, language="fi", title="Returns")
    assert (first.slug, second.slug, other_language.slug) == ("returns", "returns-2", "returns")


def test_a_stale_editor_cannot_overwrite_a_newer_save(draft: ArticleTranslation, agent: User) -> None:
    translation_save(article=draft.article, language="fi", actor=agent, title="A", body_html="", expected_version=1)
    with pytest.raises(ArticleConflictError):
        translation_save(article=draft.article, language="fi", actor=agent, title="B", body_html="", expected_version=1)
    assert ArticleTranslation.objects.get(pk=draft.pk).title == "A"


@pytest.mark.parametrize(
    ("title", "language"), [("", "fi"), ("   ", "fi"), ("x" * 201, "fi"), ("Ok", "finnish!"), ("Ok", "")]
)
def test_bad_input_is_refused(agent: User, title: str, language: str) -> None:
    with pytest.raises(ArticleInvalidError):
        article_create(actor=agent, language=language, title=title)
    assert not Article.objects.exists()


def test_lifecycle_agent_sends_for_review_lead_publishes_and_archives(
    draft: ArticleTranslation, agent: User, team_lead: User
) -> None:
    assert transitions_allowed(translation=draft, user=agent) == [Status.IN_REVIEW]
    in_review = translation_transition(translation=draft, status=Status.IN_REVIEW, actor=agent)
    with pytest.raises(ArticlePermissionError):
        translation_transition(translation=in_review, status=Status.PUBLISHED, actor=agent)
    published = translation_transition(translation=in_review, status=Status.PUBLISHED, actor=team_lead)
    assert (published.status, published.reviewer, published.author) == (Status.PUBLISHED, team_lead, agent)
    assert published.published_at is not None
    with pytest.raises(ArticlePermissionError):
        translation_save(article=draft.article, language="fi", actor=agent, title="Muutos", body_html="")
    with pytest.raises(ArticlePermissionError):
        translation_transition(translation=published, status=Status.ARCHIVED, actor=agent)
    archived = translation_transition(translation=published, status=Status.ARCHIVED, actor=team_lead)
    assert archived.status == Status.ARCHIVED
    back = translation_transition(translation=archived, status=Status.DRAFT, actor=agent)
    assert back.status == Status.DRAFT
    with pytest.raises(ArticleTransitionError):
        translation_transition(translation=back, status="gone", actor=team_lead)


def test_only_published_public_versions_are_found_by_the_public(
    draft: ArticleTranslation, agent: User, team_lead: User
) -> None:
    assert articles_search("lasku") == []
    with pytest.raises(ArticlePermissionError):
        article_update(article=draft.article, actor=agent, visibility=Article.Visibility.PUBLIC)
    article_update(article=draft.article, actor=team_lead, visibility=Article.Visibility.PUBLIC)
    assert articles_search("lasku") == []  # still a draft
    translation_transition(translation=draft, status=Status.PUBLISHED, actor=team_lead)
    assert [h.translation_id for h in articles_search("laskun")] == [draft.pk]
    translation_transition(translation=draft, status=Status.ARCHIVED, actor=team_lead)
    assert articles_search("lasku") == []


def test_a_user_without_the_permission_writes_nothing(db: None) -> None:
    stranger = User.objects.create_user("stranger", password="x")
    with pytest.raises(ArticlePermissionError):
        article_create(actor=stranger, language="en", title="Hello")
    with pytest.raises(ArticlePermissionError):
        article_create(actor=None, language="en", title="Hello")


def test_deleting_a_published_version_needs_a_lead(draft: ArticleTranslation, agent: User, team_lead: User) -> None:
    translation_transition(translation=draft, status=Status.PUBLISHED, actor=team_lead)
    with pytest.raises(ArticlePermissionError):
        translation_delete(translation=draft, actor=agent)
    translation_delete(translation=draft, actor=team_lead)
    assert not Article.objects.exists()
    assert articles_search("lasku", visibilities=("internal",), statuses=Status.values) == []


def test_uses_count_and_settle_when_the_case_is_solved_or_reopened(draft: ArticleTranslation, agent: User) -> None:
    customer = Customer.objects.create(name="Anssi Laaksonen")
    case = case_create(customer=customer, subject="Lasku", actor=agent)
    use = article_use_record(
        article=draft.article, case=case, user=agent, how="link", suggested_rank=1, translation=draft
    )
    article_use_record(article=draft.article, case=case, user=agent, how="text")
    article = Article.objects.get(pk=draft.article_id)
    assert (article.use_count, article.solved_count) == (2, 0)
    case_update(case=case, actor=agent, status=Case.Status.SOLVED)
    article.refresh_from_db()
    use.refresh_from_db()
    assert (use.solved, article.solved_count) == (True, 2)
    case_update(case=case, actor=agent, status=Case.Status.OPEN)
    article.refresh_from_db()
    assert article.solved_count == 0
    assert set(ArticleUse.objects.values_list("solved", flat=True)) == {False}
    with pytest.raises(ArticleInvalidError):
        article_use_record(article=draft.article, case=case, user=agent, how="copied")


def test_the_demo_knowledge_base_is_searchable_in_both_languages(db: None) -> None:
    from tiski.core.demo import demo_base_ensure
    from tiski.knowledge.demo import ARTICLES, demo_knowledge_create

    base = demo_base_ensure()
    written = demo_knowledge_create(users=base.users, case_categories=base.categories)
    assert 25 <= len(ARTICLES) <= 40 and written >= 40
    assert demo_knowledge_create(users=base.users, case_categories=base.categories) == 0
    assert articles_search("laskun eräpäivä", language="fi")[0].title == "Laskun maksuaika ja eräpäivän siirto"
    assert articles_search("returning items", language="en")[0].title == "Return right and how to return an item"
    statuses = set(ArticleTranslation.objects.values_list("status", flat=True))
    assert statuses == {Status.PUBLISHED, Status.IN_REVIEW, Status.DRAFT}
    visibilities = set(Article.objects.values_list("visibility", flat=True))
    assert visibilities == {"public", "internal", "partners"}
