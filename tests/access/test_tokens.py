"""Scoped API tokens: a request may do what both the token's user and the token's scopes allow."""

from __future__ import annotations

import importlib
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client, RequestFactory
from django.urls import URLPattern, reverse
from ninja import NinjaAPI, Router

from tests.api.conftest import Api, token_for
from tiski.accounts.exceptions import TokenScopeError
from tiski.accounts.models import ApiToken
from tiski.accounts.services import api_token_issue
from tiski.accounts.token_scopes import ALL_SCOPES, SCOPE_LABELS
from tiski.api.api import api as tiski_api
from tiski.api.errors import exception_handlers_install
from tiski.api.scopes import OPERATION_SCOPES, operation_key, scoped_operations


def _operations() -> list[tuple[str, str, str]]:
    """Return (method, path, dotted view name) of every operation of the Tiski API."""
    found = []
    for bound in tiski_api._get_bound_routers():
        for path, path_view in bound.path_operations.items():
            for operation in path_view.operations:
                for method in operation.methods:
                    found.append((method, path, operation_key(operation.view_func)))
    return found


def test_a_token_without_the_operations_scope_is_refused_naming_the_scope(agent: User) -> None:
    api = Api(token_for(agent, ("customers:read",)))
    response = api.get("/cases")
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "scope_missing"
    assert body["required_scope"] == "cases:read"
    assert "cases:read" in body["detail"]
    assert body["scopes"] == ["customers:read"]
    assert api.get("/customers").status_code == 200


def test_a_write_scope_does_not_include_reading(agent: User) -> None:
    api = Api(token_for(agent, ("cases:write",)))
    assert api.get("/cases").status_code == 403
    response = api.post("/cases", {"customer_id": 999999, "subject": "x"})
    assert response.status_code == 404  # past the scope check: the customer does not exist


def test_a_scope_never_widens_what_the_user_may_do(agent: User) -> None:
    response = Api(token_for(agent, ALL_SCOPES)).get("/reports/figures")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_the_scope_is_checked_before_the_input(agent: User) -> None:
    response = Api(token_for(agent, ("cases:read",))).post("/cases", raw=b"{not json")
    assert response.status_code == 403 and response.json()["code"] == "scope_missing"


def test_a_revoked_or_unknown_token_still_answers_401_not_403(agent: User) -> None:
    assert Api("tsk_nothing").get("/cases").status_code == 401


def test_every_operation_has_a_scope_and_every_entry_an_operation() -> None:
    keys = {key for _method, _path, key in _operations()}
    missing = sorted(keys - set(OPERATION_SCOPES))
    assert not missing, f"give these operations a scope in tiski.api.scopes.OPERATION_SCOPES: {missing}"
    stale = sorted(set(OPERATION_SCOPES) - keys)
    assert not stale, f"no such operations; remove them from OPERATION_SCOPES: {stale}"
    assert set(OPERATION_SCOPES.values()) <= set(ALL_SCOPES)
    assert set(ALL_SCOPES) <= set(OPERATION_SCOPES.values()), "a scope no operation needs"


def test_the_openapi_document_names_each_operations_scope() -> None:
    schema = Client().get("/api/v1/openapi.json").json()
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert len(operations) == len(_operations())
    for operation in operations:
        scope = operation["x-token-scope"]
        assert scope in ALL_SCOPES
        assert f"Token scope: `{scope}`." in operation["description"]
    assert schema["paths"]["/api/v1/cases"]["get"]["x-token-scope"] == "cases:read"
    assert "scope_missing" in schema["info"]["description"]


def test_an_operation_nobody_gave_a_scope_refuses_every_token(agent: User) -> None:
    router = Router()

    @router.get("/unlisted")
    def unlisted(request):  # type: ignore[no-untyped-def]
        return {"ok": True}

    api = NinjaAPI(urls_namespace="scopes-test")
    exception_handlers_install(api)
    api.add_decorator(scoped_operations, mode="view")
    api.add_router("", router)
    (pattern,) = [p for p in api.urls[0] if isinstance(p, URLPattern) and str(p.pattern) == "unlisted"]
    raw = token_for(agent, ALL_SCOPES)
    request = RequestFactory().get("/unlisted", HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = pattern.callback(request)
    assert response.status_code == 403
    assert b"scope_undefined" in response.content


def test_issuing_needs_at_least_one_known_scope(agent: User) -> None:
    with pytest.raises(TokenScopeError, match="at least one scope"):
        api_token_issue(user=agent, name="x", scopes=[])
    with pytest.raises(TokenScopeError, match="cases:delete"):
        api_token_issue(user=agent, name="x", scopes=["cases:read", "cases:delete"])
    assert not ApiToken.objects.exists()
    issued = api_token_issue(user=agent, name="x", scopes=["reports:read", "cases:read", "cases:read"])
    assert issued.token.scopes == ["cases:read", "reports:read"]


def test_create_token_needs_a_scope_and_stores_the_ones_given(agent: User) -> None:
    with pytest.raises(CommandError, match="at least one --scope"):
        call_command("create_token", "maija", stdout=StringIO())
    with pytest.raises(CommandError, match="Unknown scope cases:everything"):
        call_command("create_token", "maija", "--scope", "cases:everything", stdout=StringIO())
    out = StringIO()
    call_command("create_token", "maija", "--scope", "cases:read,customers:read", "--scope", "gdpr", stdout=out)
    token = ApiToken.objects.get()
    assert token.scopes == ["cases:read", "customers:read", "gdpr"]
    api = Api(out.getvalue().strip())
    assert api.get("/cases").status_code == 200
    assert api.post("/cases/1/notes", {"body": "x"}).json()["code"] == "scope_missing"
    call_command("create_token", "maija", "--scope", "all", "--name", "everything", stdout=StringIO())
    assert ApiToken.objects.get(name="everything").scopes == list(ALL_SCOPES)


def test_console_token_page_requires_scopes_and_lists_them(agent: User) -> None:
    client = Client()
    client.force_login(agent)
    page = client.get(reverse("console:tokens")).content.decode()
    for scope in ALL_SCOPES:
        assert f'value="{scope}"' in page
    refused = client.post(reverse("console:tokens"), {"name": "No scopes"})
    assert refused.status_code == 400
    assert "Choose at least one scope" in refused.content.decode()
    assert not ApiToken.objects.exists()
    created = client.post(reverse("console:tokens"), {"name": "Order sync", "scopes": ["customers:read", "gdpr"]})
    assert created.status_code == 200
    token = ApiToken.objects.get()
    assert token.scopes == ["customers:read", "gdpr"]
    listing = client.get(reverse("console:tokens")).content.decode()
    assert '<span class="chip mono">customers:read</span>' in listing
    unknown = client.post(reverse("console:tokens"), {"name": "Bad", "scopes": ["root"]})
    assert unknown.status_code == 400 and ApiToken.objects.count() == 1


def test_every_scope_has_a_description() -> None:
    assert all(str(label) for label in SCOPE_LABELS.values())


def test_the_backfill_gives_tokens_made_before_scopes_every_scope_of_the_time(agent: User) -> None:
    from django.apps import apps

    backfill = importlib.import_module("tiski.accounts.migrations.0005_token_scopes_backfill")
    old = api_token_issue(user=agent, name="old", scopes=["cases:read"])
    ApiToken.objects.filter(pk=old.token.pk).update(scopes=[])
    assert Api(old.raw).get("/cases").json()["code"] == "scope_missing"
    kept = api_token_issue(user=agent, name="new", scopes=["gdpr"])
    backfill.backfill(apps, None)
    old.token.refresh_from_db()
    kept.token.refresh_from_db()
    assert old.token.scopes == backfill.SCOPES_AT_THE_TIME and kept.token.scopes == ["gdpr"]
    assert set(backfill.SCOPES_AT_THE_TIME) <= set(ALL_SCOPES)
    assert Api(old.raw).get("/cases").status_code == 200
