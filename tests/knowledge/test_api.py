"""The knowledge API: search, read, create, save a language version, move its status, history; permissions."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User

from tests.api.conftest import Api, token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_api(agent: User) -> Api:
    return Api(token_for(agent))


@pytest.fixture
def lead_api(team_lead: User) -> Api:
    return Api(token_for(team_lead))


def _put(api: Api, path: str, body: dict[str, Any]) -> Any:
    return api.client.put(f"/api/v1{path}", json.dumps(body), content_type="application/json", **api._headers())


def test_an_agent_writes_and_a_lead_publishes_through_the_api(agent_api: Api, lead_api: Api) -> None:
    created = agent_api.post(
        "/articles",
        {
            "language": "fi",
            "title": "Palautus",
            "body_html": "<p>Palautus 30 päivässä.<script>x</script></p>",
            "tags": ["palautus"],
        },
    )
    assert created.status_code == 201, created.content
    article = created.json()
    article_id = article["id"]
    assert article["visibility"] == "internal"
    assert article["translations"][0]["status"] == "draft"
    assert "script" not in article["translations"][0]["body_html"]

    saved = _put(
        agent_api,
        f"/articles/{article_id}/translations/fi",
        {"title": "Tuotteen palautus", "body_html": "<p>Uusi</p>", "expected_version": 1},
    )
    assert saved.status_code == 200 and saved.json()["version"] == 2
    conflict = _put(agent_api, f"/articles/{article_id}/translations/fi", {"title": "X", "expected_version": 1})
    assert conflict.status_code == 409 and conflict.json()["code"] == "version_conflict"

    refused = agent_api.post(f"/articles/{article_id}/translations/fi/status", {"status": "published"})
    assert refused.status_code == 403
    assert agent_api.post(f"/articles/{article_id}/translations/fi/status", {"status": "in_review"}).status_code == 200
    published = lead_api.post(f"/articles/{article_id}/translations/fi/status", {"status": "published"})
    assert published.status_code == 200 and published.json()["reviewer"] == "Minna Korhonen"
    assert agent_api.patch(f"/articles/{article_id}", {"visibility": "public"}).status_code == 403
    assert lead_api.patch(f"/articles/{article_id}", {"visibility": "public"}).json()["visibility"] == "public"

    versions = agent_api.get(f"/articles/{article_id}/translations/fi/versions").json()
    assert [v["number"] for v in versions] == [2, 1]
    hits = agent_api.get("/articles", {"q": "palautusta", "language": "fi"}).json()
    assert [(h["article_id"], h["title"]) for h in hits] == [(article_id, "Tuotteen palautus")]
    listed = agent_api.get("/articles", {"status": "published"}).json()
    assert [a["id"] for a in listed] == [article_id]
    assert agent_api.get(f"/articles/{article_id}").json()["tags"] == ["palautus"]


def test_bad_input_and_unknown_things_are_answered_with_the_reason(agent_api: Api) -> None:
    assert agent_api.post("/articles", {"language": "fi", "title": "  "}).status_code == 400
    assert (
        agent_api.post("/articles", {"language": "fi", "title": "Ok", "category_id": 999}).json()["code"]
        == "category_unknown"
    )
    assert agent_api.get("/articles/999").status_code == 404
    assert agent_api.get("/articles", {"q": '"){}*:<-> 🚲'}).status_code == 200


def test_without_the_permission_nothing_is_read_or_written(db: None) -> None:
    outsider = Api(token_for(User.objects.create_user("crm", password="x")))
    assert outsider.get("/articles").status_code == 403
    assert outsider.post("/articles", {"language": "fi", "title": "x"}).status_code == 403
    assert Api(None).get("/articles").status_code == 401


@pytest.mark.parametrize(
    "path",
    [
        "/articles?category_id=27489286265396206239744",
        "/articles?offset=27489286265396206239744",
        "/articles/27489286265396206239744",
    ],
)
def test_an_id_beyond_any_database_column_is_invalid_input_not_a_server_error(agent_api: Api, path: str) -> None:
    # Found by tests/fuzz (schemathesis): the number reached SQLite and raised OverflowError, a 500.
    assert agent_api.get(path).status_code == 422
