"""Single sign-on against a real OpenID Connect provider on loopback (tests/accounts/oidc_provider.py)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth.models import User
from django.test import Client

from tests.accounts.oidc_provider import CLIENT_ID, CLIENT_SECRET, OidcProvider, ProviderServer
from tiski.accounts.roles import ADMINISTRATOR, AGENT, PARTNER_AGENT, READ_ONLY, TEAM_LEAD
from tiski.accounts.services import agent_create
from tiski.accounts.session import SESSION_KEY

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider(settings) -> Iterator[OidcProvider]:  # type: ignore[no-untyped-def]
    with ProviderServer() as running:
        endpoints = running.endpoints()
        settings.TISKI_OIDC_ENABLED = True
        settings.TISKI_OIDC_PROVIDER_NAME = "Acme ID"
        settings.TISKI_OIDC_ISSUER = endpoints["issuer"]
        settings.OIDC_RP_CLIENT_ID = CLIENT_ID
        settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
        settings.OIDC_OP_AUTHORIZATION_ENDPOINT = endpoints["authorization_endpoint"]
        settings.OIDC_OP_TOKEN_ENDPOINT = endpoints["token_endpoint"]
        settings.OIDC_OP_USER_ENDPOINT = endpoints["userinfo_endpoint"]
        settings.OIDC_OP_JWKS_ENDPOINT = endpoints["jwks_uri"]
        settings.TISKI_OIDC_ROLE_CLAIM = "groups"
        settings.TISKI_OIDC_ROLE_MAP = {"cs-agents": AGENT, "cs-leads": TEAM_LEAD, "it-admins": ADMINISTRATOR}
        settings.TISKI_OIDC_DEFAULT_ROLE = ""
        yield running


def sso_login(client: Client, *, start: str = "/oidc/authenticate/?next=/console/") -> str:
    """Follow the redirects from Tiski to the provider and back, as a browser would; return the final URL."""
    url = start
    for _hop in range(6):
        parts = urlsplit(url)
        if parts.netloc in ("", "testserver"):
            response = client.get(f"{parts.path}?{parts.query}" if parts.query else parts.path)
            status, location = response.status_code, response.headers.get("Location", "")
        else:
            answer = requests.get(url, allow_redirects=False, timeout=10)  # the real provider over HTTP
            status, location = answer.status_code, answer.headers.get("Location", "")
        if status not in (301, 302):
            return url
        url = location
    return url


def test_first_sso_login_creates_the_user_with_the_mapped_role(client, provider):
    provider.user = {
        "sub": "u-100",
        "email": "liisa@shop.example",
        "preferred_username": "liisa",
        "given_name": "Liisa",
        "family_name": "Lahtinen",
        "groups": ["staff", "cs-leads"],
    }

    final = sso_login(client)

    assert urlsplit(final).path == "/console/"
    user = User.objects.get(email="liisa@shop.example")
    assert (user.username, user.first_name, user.last_name) == ("liisa", "Liisa", "Lahtinen")
    assert list(user.groups.values_list("name", flat=True)) == [TEAM_LEAD]
    assert user.has_perm("routing.supervise") and not user.is_staff
    assert client.get("/console/").status_code == 200
    assert client.session[SESSION_KEY]["method"] == "oidc"
    token_request = provider.token_requests[-1]
    assert token_request["grant_type"] == "authorization_code"
    assert token_request["redirect_uri"] == "http://testserver/oidc/callback/"


def test_sso_matches_an_existing_user_by_email_and_updates_the_role(client, provider):
    existing = agent_create(username="maija", password="pw-not-used-here", role=AGENT, email="maija@shop.example")
    provider.user = {"sub": "u-7", "email": "MAIJA@shop.example", "groups": ["it-admins", "cs-agents"]}

    sso_login(client)

    existing.refresh_from_db()
    assert list(existing.groups.values_list("name", flat=True)) == [ADMINISTRATOR]
    assert existing.is_staff
    assert int(client.session["_auth_user_id"]) == existing.pk
    assert User.objects.count() == 1


def test_sso_user_with_no_mapped_role_is_refused(client, provider):
    provider.user = {"sub": "u-9", "email": "visitor@shop.example", "groups": ["marketing"]}

    final = sso_login(client)

    assert final == "/login/?sso=failed"
    assert "_auth_user_id" not in client.session
    assert not User.objects.filter(email="visitor@shop.example").exists()
    page = client.get(final).content.decode()
    assert "Single sign-on did not log you in" in page


def test_default_role_lets_unmapped_users_in_as_agents(client, provider, settings):
    settings.TISKI_OIDC_DEFAULT_ROLE = AGENT
    provider.user = {"sub": "u-10", "email": "new@shop.example"}

    sso_login(client)

    assert list(User.objects.get(email="new@shop.example").groups.values_list("name", flat=True)) == [AGENT]


def test_id_token_signed_with_another_key_is_refused(client, provider):
    provider.published_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    provider.user = {"sub": "u-11", "email": "mallory@shop.example", "groups": ["it-admins"]}

    final = sso_login(client)

    assert final == "/login/?sso=failed"
    assert not User.objects.filter(email="mallory@shop.example").exists()


def test_id_token_for_another_client_is_refused(client, provider):
    provider.audience = "some-other-app"
    provider.user = {"sub": "u-12", "email": "eve@shop.example", "groups": ["it-admins"]}

    final = sso_login(client)

    assert final == "/login/?sso=failed"
    assert not User.objects.filter(email="eve@shop.example").exists()


def test_login_page_offers_the_provider_only_when_configured(client, settings, provider):
    page = client.get("/login/").content.decode()
    assert "Sign in with Acme ID" in page and 'href="/oidc/authenticate/"' in page

    settings.TISKI_OIDC_ENABLED = False
    assert "Sign in with" not in client.get("/login/").content.decode()
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=x&state=y").status_code == 404


def test_a_partners_group_makes_a_partner_agent_whatever_else_the_claims_say(client, provider, settings):
    from tiski.accounts.models import Partner
    from tiski.accounts.scope import user_partner

    chatly = Partner.objects.create(name="Chatly Oy")
    settings.TISKI_OIDC_ROLE_MAP = {
        **settings.TISKI_OIDC_ROLE_MAP,
        "chatly": f"{PARTNER_AGENT}:Chatly Oy",
        "billing": READ_ONLY,
    }
    provider.user = {"sub": "p-1", "email": "sanna@chatly.example", "groups": ["chatly", "cs-leads"]}

    assert urlsplit(sso_login(client)).path == "/console/"

    sanna = User.objects.get(email="sanna@chatly.example")
    assert list(sanna.groups.values_list("name", flat=True)) == [PARTNER_AGENT]
    assert user_partner(sanna) == chatly and not sanna.has_perm("routing.supervise")

    provider.user = {**provider.user, "groups": ["billing"]}  # moved in-house, to billing: no partner any more
    client.logout()
    sso_login(client)
    sanna = User.objects.get(pk=sanna.pk)  # a fresh object: permissions and partner are cached on the old one
    assert list(sanna.groups.values_list("name", flat=True)) == [READ_ONLY]
    assert user_partner(sanna) is None
    assert sanna.has_perm("cases.view_case") and not sanna.has_perm("cases.work_case")


@pytest.mark.parametrize("groups", [["ghost"], ["chatly", "ghost"], ["retired"]])
def test_claims_naming_no_single_active_partner_are_refused(client, provider, settings, groups):
    from tiski.accounts.models import Partner

    Partner.objects.create(name="Chatly Oy")
    Partner.objects.create(name="Old Partner Oy", active=False)
    settings.TISKI_OIDC_ROLE_MAP = {
        "chatly": f"{PARTNER_AGENT}:Chatly Oy",
        "ghost": f"{PARTNER_AGENT}:No Such Oy",
        "retired": f"{PARTNER_AGENT}:Old Partner Oy",
        "cs-agents": AGENT,
    }
    provider.user = {"sub": "p-2", "email": "who@partner.example", "groups": [*groups, "cs-agents"]}

    assert sso_login(client) == "/login/?sso=failed"
    assert not User.objects.filter(email="who@partner.example").exists()
