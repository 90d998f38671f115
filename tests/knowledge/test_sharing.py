"""Share links: one article for someone outside Tiski, until the link expires or is revoked."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.template import Context, Template
from django.test import Client, RequestFactory
from django.utils import timezone

from tests.knowledge.helpcentre_data import article_make
from tiski.knowledge.helpcentre.exceptions import ShareLinkGoneError, ShareLinkNotFoundError, ShareNotAllowedError
from tiski.knowledge.helpcentre.links import share_link_path
from tiski.knowledge.helpcentre.services import share_link_create, share_link_open, share_link_revoke
from tiski.knowledge.models import Article, ArticleTranslation, ShareLink

pytestmark = pytest.mark.django_db

Visibility = Article.Visibility


@pytest.fixture
def internal() -> Article:
    return article_make(
        visibility=Visibility.INTERNAL,
        versions={
            "fi": ("Huoltokumppanin takuuohje", "Takuukorjaukset kirjataan huoltoportaaliin."),
            "en": ("Warranty guide for service partners", "Record warranty repairs in the service portal."),
        },
    )


@pytest.fixture
def partners() -> Article:
    return article_make(visibility=Visibility.PARTNERS, versions={"en": ("Reseller prices", "Prices for resellers.")})


def test_an_agent_shares_a_partner_article_with_an_unguessable_token(agent: User, partners: Article) -> None:
    link = share_link_create(article=partners, user=agent, note="Pyöräkeskus Oy", days=7)
    assert len(link.token) >= 32 and link.token.replace("-", "").replace("_", "").isalnum()
    assert link.created_by == agent and link.note == "Pyöräkeskus Oy"
    assert dt.timedelta(days=6, hours=23) < link.expires_at - timezone.now() <= dt.timedelta(days=7)
    assert share_link_create(article=partners, user=agent).token != link.token


def test_only_team_leads_share_internal_articles(agent: User, team_lead: User, internal: Article) -> None:
    with pytest.raises(ShareNotAllowedError):
        share_link_create(article=internal, user=agent)
    link = share_link_create(article=internal, user=team_lead)
    with pytest.raises(ShareNotAllowedError):
        share_link_revoke(link=link, user=agent)
    assert share_link_revoke(link=link, user=team_lead).revoked_at is not None


def test_users_who_do_not_work_cases_cannot_share(partners: Article) -> None:
    outsider = User.objects.create_user("ulkopuolinen")
    with pytest.raises(ShareNotAllowedError):
        share_link_create(article=partners, user=outsider)


def test_expiry_is_kept_within_a_year(agent: User, partners: Article) -> None:
    link = share_link_create(article=partners, user=agent, days=10_000)
    assert link.expires_at - timezone.now() <= dt.timedelta(days=365)


def test_the_link_shows_an_internal_article_and_counts_each_view(
    client: Client, team_lead: User, internal: Article
) -> None:
    link = share_link_create(article=internal, user=team_lead)
    response = client.get(share_link_path(link.token), HTTP_ACCEPT_LANGUAGE="fi")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Huoltokumppanin takuuohje" in html and "Takuukorjaukset kirjataan huoltoportaaliin." in html
    assert "noindex" in html and response["Referrer-Policy"] == "no-referrer"
    english = client.get(share_link_path(link.token), {"lang": "en"}).content.decode()
    assert "Warranty guide for service partners" in english
    link.refresh_from_db()
    assert link.view_count == 2
    # The article itself stays out of the help centre.
    en = internal.translations.get(language="en")
    assert client.get(f"/help/en/articles/{en.slug}/").status_code == 404


def test_a_revoked_link_is_gone(client: Client, agent: User, partners: Article) -> None:
    link = share_link_create(article=partners, user=agent)
    share_link_revoke(link=link, user=agent)
    response = client.get(share_link_path(link.token), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 410
    html = response.content.decode()
    assert "This link no longer works" in html and "withdrawn" in html
    assert "Reseller prices" not in html
    with pytest.raises(ShareLinkGoneError) as gone:
        share_link_open(token=link.token)
    assert gone.value.reason == "revoked"
    link.refresh_from_db()
    assert link.view_count == 0


def test_an_expired_link_is_gone(client: Client, agent: User, partners: Article) -> None:
    link = share_link_create(article=partners, user=agent)
    ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = client.get(share_link_path(link.token), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 410 and "This shared link has expired." in response.content.decode()


def test_a_link_to_an_article_no_longer_published_is_gone(client: Client, agent: User, partners: Article) -> None:
    link = share_link_create(article=partners, user=agent)
    partners.translations.update(status=ArticleTranslation.Status.ARCHIVED)
    assert client.get(share_link_path(link.token)).status_code == 410


def test_an_unknown_token_is_a_404(client: Client, db: None) -> None:
    assert client.get("/help/s/not-a-real-token/").status_code == 404
    assert client.get(f"/help/s/{'x' * 300}/").status_code == 404
    with pytest.raises(ShareLinkNotFoundError):
        share_link_open(token="")


# The console panel


def _panel(user: User, article: Article) -> str:
    request = RequestFactory().get("/console/knowledge/")
    request.user = user
    template = Template("{% load knowledge_share %}{% share_panel article %}")
    return template.render(Context({"request": request, "article": article}))


def test_the_panel_lists_links_and_offers_sharing_to_who_may(
    agent: User, team_lead: User, internal: Article, partners: Article
) -> None:
    link = share_link_create(article=partners, user=agent, note="Pyöräkeskus Oy")
    html = _panel(agent, partners)
    assert f"http://testserver/help/s/{link.token}/" in html and "Pyöräkeskus Oy" in html
    assert "Create link" in html and "Revoke" in html
    assert "Create link" not in _panel(agent, internal)
    assert "Only team leads can share internal articles." in _panel(agent, internal)
    assert "Create link" in _panel(team_lead, internal)


def test_the_panels_htmx_views_create_and_revoke_with_permission_checks(
    client: Client, agent: User, team_lead: User, internal: Article, partners: Article
) -> None:
    client.force_login(agent)
    response = client.post(f"/console/help-centre/articles/{partners.pk}/share/", {"note": "Kumppani", "days": "7"})
    assert response.status_code == 200
    link = ShareLink.objects.get(article=partners)
    assert "New link — copy it now" in response.content.decode() and link.token in response.content.decode()
    assert client.post(f"/console/help-centre/articles/{internal.pk}/share/").status_code == 403
    assert not ShareLink.objects.filter(article=internal).exists()
    internal_link = share_link_create(article=internal, user=team_lead)
    assert client.post(f"/console/help-centre/share/{internal_link.pk}/revoke/").status_code == 403
    assert client.post(f"/console/help-centre/share/{link.pk}/revoke/").status_code == 200
    link.refresh_from_db()
    assert link.revoked_at is not None
    assert client.get(f"/console/help-centre/share/{link.pk}/revoke/").status_code == 405
    client.logout()
    assert client.post(f"/console/help-centre/articles/{partners.pk}/share/").status_code == 302  # to the login
