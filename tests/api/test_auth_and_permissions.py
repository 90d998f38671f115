"""Token authentication, permissions per role, and the OpenAPI document."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from tests.api.conftest import Api, token_for
from tiski.accounts.models import ApiToken
from tiski.accounts.services import api_token_revoke

# Each endpoint with a body that passes validation, so that only authentication and permission decide.
ENDPOINTS = [
    ("get", "/customers", None),
    ("get", "/customers/1", None),
    ("post", "/customers", {"name": "Anssi"}),
    ("patch", "/customers/1", {"name": "Anssi"}),
    ("get", "/cases", None),
    ("get", "/cases/TSK-1001", None),
    ("post", "/cases", {"customer_id": 1, "subject": "Hello"}),
    ("patch", "/cases/1", {"status": "open"}),
    ("get", "/cases/1/messages", None),
    ("post", "/cases/1/messages", {"body": "Hello"}),
    ("get", "/cases/1/notes", None),
    ("post", "/cases/1/notes", {"body": "Hello"}),
    ("get", "/messages/1", None),
    ("patch", "/messages/1", {"delivery_status": "delivered"}),
    ("post", "/inbound", {"channel_id": 1, "handles": [{"kind": "email", "value": "a@example.com"}], "body_text": "x"}),
]


def _call(api: Api, method: str, path: str, body: object):  # type: ignore[no-untyped-def]
    return api.get(path) if method == "get" else getattr(api, method)(path, body)


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_every_endpoint_answers_401_json_without_a_token(anonymous, method, path, body):
    response = _call(anonymous, method, path, body)
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json() == {
        "detail": "Authentication required: send the header Authorization: Bearer <token>.",
        "code": "not_authenticated",
    }


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_every_endpoint_answers_403_json_for_a_user_without_permissions(nobody_api, method, path, body):
    response = _call(nobody_api, method, path, body)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert "permission" in response.json()["detail"]


def test_unknown_token_is_refused(db):
    response = Api("tsk_not-a-real-token").get("/cases")
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"


def test_other_scheme_than_bearer_is_refused(agent):
    token = token_for(agent)
    response = Client().get("/api/v1/cases", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 401
    assert response.json() == {
        "detail": 'The Authorization header must read "Bearer <token>".',
        "code": "not_authenticated",
    }


def test_revoked_token_no_longer_works(agent):
    api = Api(token_for(agent))
    assert api.get("/cases").status_code == 200
    api_token_revoke(token=ApiToken.objects.get(user=agent))
    response = api.get("/cases")
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"


def test_token_of_a_deactivated_user_no_longer_works(agent):
    api = Api(token_for(agent))
    User.objects.filter(pk=agent.pk).update(is_active=False)
    assert api.get("/cases").status_code == 401


def test_valid_token_records_last_use(agent):
    api = Api(token_for(agent))
    assert api.get("/cases").status_code == 200
    assert ApiToken.objects.get(user=agent).last_used_at is not None


def test_session_login_alone_does_not_open_the_api(agent):
    client = Client()
    client.force_login(agent)
    response = client.get("/api/v1/cases")
    assert response.status_code == 401


def test_user_who_may_only_view_customers_can_list_but_not_create_them_nor_see_cases(db):
    user = User.objects.create_user(username="viewer", password="x")
    user.user_permissions.add(Permission.objects.get(codename="view_customer", content_type__app_label="customers"))
    api = Api(token_for(user))
    assert api.get("/customers").status_code == 200
    created = api.post("/customers", {"name": "Anssi"})
    assert created.status_code == 403
    assert created.json()["detail"] == "Your account does not have permission to create customers."
    assert api.get("/cases").status_code == 403
    assert api.post("/inbound", ENDPOINTS[-1][2]).status_code == 403


@pytest.mark.parametrize("role_api", ["api", "lead_api", "admin_api"])
def test_every_role_can_work_cases_and_customers(request, role_api, receive):
    api = request.getfixturevalue(role_api)
    receive()
    assert api.get("/cases").json()["count"] == 1
    assert api.get("/customers").json()["count"] == 1


def test_openapi_document_is_public_and_lists_the_paths(db):
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "Tiski API"
    assert document["info"]["version"] == "1"
    paths = set(document["paths"])
    assert {
        "/api/v1/customers",
        "/api/v1/customers/{customer_id}",
        "/api/v1/cases",
        "/api/v1/cases/{case_ref}",
        "/api/v1/cases/{case_ref}/messages",
        "/api/v1/cases/{case_ref}/notes",
        "/api/v1/messages/{message_id}",
        "/api/v1/inbound",
    } <= paths
    assert document["components"]["securitySchemes"]["TokenAuth"] == {"type": "http", "scheme": "bearer"}
    for path_item in document["paths"].values():
        for operation in path_item.values():
            assert operation["summary"]
            assert operation["description"]


def test_interactive_docs_page_loads(db):
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    assert b"openapi.json" in response.content
