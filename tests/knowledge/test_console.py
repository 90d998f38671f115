"""Console pages of the knowledge base: list and search, the article page, writes, permissions."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.conftest import PASSWORD
from tiski.knowledge.models import Article, ArticleTranslation
from tiski.knowledge.services import article_create, translation_save, translation_transition

pytestmark = pytest.mark.django_db
Status = ArticleTranslation.Status


def _client(user: User) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def article(agent: User) -> ArticleTranslation:
    translation = article_create(
        actor=agent,
        language="fi",
        title="Laskun maksuaika",
        body_html="<p>Lasku erääntyy 14 päivän kuluttua.</p>",
    )
    return translation_save(
        article=translation.article,
        language="fi",
        actor=agent,
        title="Laskun maksuaika",
        body_html="<p>Lasku erääntyy 21 päivän kuluttua.</p>",
    )


def test_the_list_searches_with_stemming_and_highlights(agent: User, article: ArticleTranslation) -> None:
    page = _client(agent).get("/console/knowledge/", {"q": "laskun"}).content.decode()
    assert "Laskun maksuaika" in page
    assert "<mark>" in page
    empty = _client(agent).get("/console/knowledge/", {"q": "takuu"}).content.decode()
    assert "No articles match." in empty
    filtered = _client(agent).get("/console/knowledge/", {"status": "published"}).content.decode()
    assert "Laskun maksuaika" not in filtered


def test_the_article_page_shows_versions_diff_and_only_allowed_actions(
    agent: User, team_lead: User, article: ArticleTranslation
) -> None:
    url = f"/console/knowledge/{article.article_id}/?lang=fi&compare=1&to=2"
    page = _client(agent).get(url).content.decode()
    assert "<del>14</del>" in page and "<ins>21</ins>" in page
    assert 'value="in_review"' in page
    assert 'value="published"' not in page
    lead_page = _client(team_lead).get(url).content.decode()
    assert 'value="published"' in lead_page


def test_an_agent_creates_edits_and_sends_for_review_but_cannot_publish(agent: User) -> None:
    client = _client(agent)
    answer = client.post(
        "/console/knowledge/new/",
        {
            "language": "en",
            "title": "Exchanging a size",
            "body_html": "<p>Swap <script>x</script>it</p>",
            "visibility": "internal",
        },
    )
    assert answer.status_code == 302
    translation = ArticleTranslation.objects.get(title="Exchanging a size")
    assert "script" not in translation.body_html
    base = f"/console/knowledge/{translation.article_id}/en"
    client.post(f"{base}/save/", {"title": "Exchanging a size", "body_html": "<p>New</p>", "version": "1"})
    assert ArticleTranslation.objects.get(pk=translation.pk).version == 2
    stale = client.post(f"{base}/save/", {"title": "Lost?", "body_html": "<p>Old</p>", "version": "1"}, follow=True)
    assert "Someone saved this language version" in stale.content.decode()
    client.post(f"{base}/status/", {"status": "in_review"})
    client.post(f"{base}/status/", {"status": "published"})
    assert ArticleTranslation.objects.get(pk=translation.pk).status == Status.IN_REVIEW
    client.post(f"/console/knowledge/{translation.article_id}/settings/", {"visibility": "public"})
    assert Article.objects.get(pk=translation.article_id).visibility == Article.Visibility.INTERNAL


def test_a_team_lead_publishes_adds_a_language_and_restores(team_lead: User, article: ArticleTranslation) -> None:
    client = _client(team_lead)
    article_id = article.article_id
    client.post(f"/console/knowledge/{article_id}/fi/status/", {"status": "published"})
    published = ArticleTranslation.objects.get(pk=article.pk)
    assert (published.status, published.reviewer) == (Status.PUBLISHED, team_lead)
    client.post(
        f"/console/knowledge/{article_id}/add-language/",
        {"language": "en", "title": "Invoice due date", "body_html": "x"},
    )
    assert ArticleTranslation.objects.get(article_id=article_id, language="en").status == Status.DRAFT
    client.post(f"/console/knowledge/{article_id}/fi/restore/1/")
    restored = ArticleTranslation.objects.get(pk=article.pk)
    assert restored.version == 3 and "14 päivän" in restored.body_html
    client.post(
        f"/console/knowledge/{article_id}/settings/",
        {"visibility": "public", "tags": "lasku maksu", "case_types": ["question"]},
    )
    assert Article.objects.get(pk=article_id).visibility == Article.Visibility.PUBLIC


def test_people_without_the_permission_are_kept_out(db: None, article: ArticleTranslation) -> None:
    stranger = User.objects.create_user("stranger", password=PASSWORD)
    client = _client(stranger)
    assert client.get("/console/knowledge/").status_code == 403
    assert client.get(f"/console/knowledge/{article.article_id}/").status_code == 403
    assert (
        client.post(f"/console/knowledge/{article.article_id}/fi/status/", {"status": "published"}).status_code == 403
    )
    assert Client().get("/console/knowledge/").status_code == 302


def test_the_nav_links_to_the_knowledge_base(agent: User) -> None:
    page = _client(agent).get("/console/knowledge/").content.decode()
    assert 'href="/console/knowledge/"' in page
    assert "No articles yet." in page


def test_an_unknown_article_is_404(agent: User) -> None:
    assert _client(agent).get("/console/knowledge/99999/").status_code == 404


def test_a_lead_archives_and_the_page_shows_it(team_lead: User, article: ArticleTranslation) -> None:
    translation_transition(translation=article, status=Status.PUBLISHED, actor=team_lead)
    _client(team_lead).post(f"/console/knowledge/{article.article_id}/fi/status/", {"status": "archived"})
    page = _client(team_lead).get(f"/console/knowledge/{article.article_id}/").content.decode()
    assert "Archived" in page
