"""Bad input of every kind answers JSON with a code, never a 500 or an HTML page."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import Api, token_for


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{bad json", "malformed_json"),
        (b"\xff\xfe\x00", "malformed_json"),
        ("[1, 2]", "malformed_json"),
        ('"text"', "malformed_json"),
        ('{"name": "a\\u0000b"}', "nul_character"),
    ],
)
def test_malformed_bodies_answer_400_json(api, raw, code):
    response = api.post("/customers", raw=raw)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == code


def test_nul_in_a_query_answers_400(api):
    response = api.get("/customers", {"q": "a\x00b"})
    assert (response.status_code, response.json()["code"]) == (400, "nul_character")


def test_wrong_types_answer_422_with_readable_field_errors(api):
    response = api.post("/cases", {"customer_id": "one", "subject": 5, "tags": "x"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["detail"].startswith("The request is invalid: customer_id: ")
    assert {error["field"] for error in body["errors"]} == {"customer_id", "subject", "tags"}
    assert all(error["in"] == "body" for error in body["errors"])


def test_unknown_path_answers_json_404(api):
    response = api.get("/tickets")
    assert response.status_code == 404
    assert response.json() == {
        "detail": "There is no API endpoint /api/v1/tickets; see /api/v1/docs.",
        "code": "not_found",
    }


def test_wrong_method_answers_json_405(api):
    response = api.delete("/cases")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert "GET" in response["Allow"]


def test_unexpected_failure_answers_json_500(api, monkeypatch):
    import tiski.api.cases

    def broken(**kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    monkeypatch.setattr(tiski.api.cases, "case_list", broken)
    response = api.get("/cases")
    assert response.status_code == 500
    assert response.json() == {
        "detail": "Something went wrong on our side; the error is logged.",
        "code": "server_error",
    }


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
FIELDS = [
    "name", "language", "tier", "notes", "identities", "add_identities", "remove_identities", "kind", "value",
    "customer_id", "subject", "description", "channel_id", "priority", "type", "category_id", "tags", "status",
    "owner_id", "team_id", "body", "status_after", "attachments", "handles", "sender_name", "body_text",
    "body_html", "external_id", "case_reference", "threading", "delivery_status", "error", "filename",
    "content_base64",
]  # fmt: skip
bodies = st.one_of(
    json_values,
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=8),
)
WRITES = [
    ("post", "/customers"),
    ("patch", "/customers/{customer}"),
    ("post", "/cases"),
    ("patch", "/cases/{case}"),
    ("post", "/cases/{case}/messages"),
    ("post", "/cases/{case}/notes"),
    ("patch", "/messages/{message}"),
    ("post", "/inbound"),
]


@pytest.mark.django_db
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(endpoint=st.sampled_from(WRITES), body=bodies)
def test_arbitrary_json_bodies_never_cause_a_server_error(lead_api, receive, endpoint, body):
    receipt = receive(email="fuzz@example.com", external_id="fuzz-1")
    method, template = endpoint
    path = template.format(customer=receipt.case.customer_id, case=receipt.case.pk, message=receipt.message.pk)
    response = getattr(lead_api, method)(path, raw=json.dumps(body))
    assert response.status_code < 500, (path, body, response.content)
    assert response["Content-Type"].startswith("application/json")
    assert isinstance(response.json()["detail"] if response.status_code >= 400 else response.json(), (str, dict))


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    query=st.dictionaries(
        st.sampled_from(
            ["status", "priority", "owner", "owner_id", "q", "limit", "offset", "updated_since", "channel_id"]
        ),
        st.text(max_size=25),
        max_size=4,
    )
)
def test_arbitrary_list_queries_never_cause_a_server_error(agent, query):
    response = Api(token_for(agent)).get("/cases", query)
    assert response.status_code in (200, 400, 422), (query, response.content)
    assert response["Content-Type"].startswith("application/json")
