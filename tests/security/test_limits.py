"""Every public endpoint family answers 429 with Retry-After over its rate and 413 over its size."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from tests.api.conftest import token_for
from tests.security.conftest import rates
from tiski.core.ratelimit import rate_hit, rate_parse

pytestmark = pytest.mark.django_db


def assert_throttled(response: Any, *, as_json: bool) -> None:
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 3600
    if as_json:
        assert response["Content-Type"] == "application/json"
        body = json.loads(response.content)
        assert body["code"] == "throttled" and "try again" in body["detail"]
    else:
        assert response["Content-Type"].startswith("text/html")
        assert "Too many requests" in response.content.decode()


def test_help_centre_search_is_limited_per_address_with_an_html_page(client: Client, settings: Any) -> None:
    rates(settings, help="2/60")
    for _ in range(2):
        assert client.get("/help/en/search/?q=return").status_code == 200
    assert_throttled(client.get("/help/en/search/?q=return"), as_json=False)
    assert client.get("/help/en/search/?q=return", REMOTE_ADDR="192.0.2.9").status_code == 200  # another address
    assert client.get("/help/en/").status_code == 200  # reading pages is not counted


def test_the_429_page_is_in_the_readers_language(client: Client, settings: Any) -> None:
    rates(settings, help="0/60")
    response = client.get("/help/fi/search/?q=palautus", HTTP_ACCEPT_LANGUAGE="fi")
    assert response.status_code == 429
    assert '<html lang="fi">' in response.content.decode()


def test_help_centre_feedback_is_limited_and_size_checked(client: Client, settings: Any) -> None:
    rates(settings, help_feedback="1/600")
    url = "/help/en/articles/returns/feedback/"
    assert client.post(url, {"helpful": "yes"}).status_code != 429
    assert_throttled(client.post(url, {"helpful": "yes"}), as_json=False)
    big = client.post(url, {"comment": "x" * (settings.TISKI_PUBLIC_POST_MAX_KB * 1024 + 1)}, REMOTE_ADDR="192.0.2.3")
    assert big.status_code == 413
    assert "too large" in big.content.decode()


def test_help_suggestions_share_the_mechanism_and_answer_json(client: Client, settings: Any) -> None:
    rates(settings, help_suggest="1/300")
    url = "/help/en/suggest?q=return+policy&channel=webform"
    assert client.get(url).status_code == 200
    limited = client.get(url)
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    assert json.loads(limited.content)["code"] == "rate_limited"


def test_survey_links_are_limited(client: Client, settings: Any) -> None:
    rates(settings, survey="2/300")
    for _ in range(2):
        assert client.get("/survey/not-a-token/").status_code == 400
    assert_throttled(client.get("/survey/not-a-token/"), as_json=False)


def test_survey_answers_over_the_size_are_refused(client: Client, settings: Any) -> None:
    big = client.post("/survey/not-a-token/", {"comment": "x" * (settings.TISKI_PUBLIC_POST_MAX_KB * 1024 + 1)})
    assert big.status_code == 413


def test_web_form_submissions_are_limited(client: Client, webform_channel: Any, settings: Any) -> None:
    rates(settings, webform="1/3600")
    data = {"name": "Anssi", "email": "anssi@example.com", "message": "Hello", "form_token": "x"}
    client.post("/contact/", data)
    response = client.post("/contact/", data)
    assert response.status_code == 429 and int(response["Retry-After"]) > 0


def test_chat_http_endpoints_are_limited_with_json(client: Client, settings: Any) -> None:
    rates(settings, chat="2/60")
    for _ in range(2):
        assert client.post("/chat/999/attachments/", {"token": "x"}).status_code == 404
    assert_throttled(client.post("/chat/999/attachments/", {"token": "x"}), as_json=True)
    assert_throttled(client.get("/chat/999/attachments/1/?token=x"), as_json=True)


@pytest.mark.parametrize("url", ["/hooks/sms/999/", "/email/webhooks/mailgun/inbound/"])
def test_webhooks_are_limited_with_json(client: Client, settings: Any, url: str) -> None:
    rates(settings, webhook="2/60")
    for _ in range(2):
        assert client.post(url, {"Body": "hi"}).status_code != 429
    assert_throttled(client.post(url, {"Body": "hi"}), as_json=True)


def test_provider_webhooks_over_the_size_get_413_json(client: Client, settings: Any) -> None:
    settings.TISKI_WEBHOOK_MAX_KB = 1
    response = client.post("/hooks/sms/999/", {"Body": "x" * 2000})
    assert response.status_code == 413
    assert json.loads(response.content)["code"] == "request_too_large"
    assert client.post("/hooks/sms/999/", {"Body": "x" * 500}).status_code == 404  # within: the view answers


def test_api_is_limited_per_token(agent: Any, team_lead: Any, settings: Any) -> None:
    rates(settings, api="3/60")
    first = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(agent)}")
    for _ in range(3):
        assert first.get("/api/v1/cases").status_code == 200
    assert_throttled(first.get("/api/v1/cases"), as_json=True)
    second = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(team_lead)}")  # same address, its own count
    assert second.get("/api/v1/cases").status_code == 200


def test_openapi_documents_429_and_413_on_every_operation(agent: Any) -> None:
    schema = Client().get("/api/v1/openapi.json").json()
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert operations
    for operation in operations:
        assert "413" in operation["responses"] and "429" in operation["responses"]
        assert "Retry-After" in operation["responses"]["429"]["headers"]


def test_a_window_counts_per_key_and_a_malformed_rate_is_refused() -> None:
    rate = rate_parse(value="2/60")
    decisions = [rate_hit(name="t", key="a", rate=rate).allowed for _ in range(3)]
    assert decisions == [True, True, False]
    assert rate_hit(name="t", key="b", rate=rate).allowed
    for bad in ("30", "x/60", "30/0", "-1/60"):
        with pytest.raises(ImproperlyConfigured, match="TISKI_RATE_CHAT"):
            rate_parse(value=bad, name="chat")
