"""Public posts with odd fields (too long, repeated, NUL bytes, wrong types) get a clear 4xx or are cut, never 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.knowledge.helpcentre_data import article_make, category_make
from tiski.channels.models import Channel, ChannelKind
from tiski.knowledge.models import ArticleFeedback

pytestmark = pytest.mark.django_db

ODD = ["x" * 60_000, "a\x00b", "", "  ", "-1", "1e309", "ä" * 20_000]


@pytest.fixture
def article(db: None) -> Any:
    returns = category_make("returns", "Returns", "Palautukset", description="Returning products")
    return article_make(category=returns, versions={"en": ("Returning a product", "Within 30 days.")}, views=1)


def csrf_client() -> Client:
    return Client(enforce_csrf_checks=False)


@pytest.mark.parametrize("value", ODD)
def test_help_feedback_takes_odd_fields_without_error(article: Any, value: str) -> None:
    client = csrf_client()
    url = "/help/en/articles/returning-a-product/feedback/"
    for data in ({"helpful": value}, {"helpful": "no", "comment": value}, {"comment": value}):
        response = client.post(url, data)
        assert response.status_code < 500, data
    for feedback in ArticleFeedback.objects.all():
        assert len(feedback.comment) <= 2000


@pytest.mark.parametrize("value", ODD)
def test_web_form_takes_odd_fields_without_error(webform_channel: Any, value: str) -> None:
    client = csrf_client()
    data = {"name": value, "email": value, "phone": value, "topic": value, "message": value, "form_token": value}
    assert client.post("/contact/", data).status_code < 500


@pytest.mark.parametrize("value", ODD)
def test_chat_upload_takes_odd_fields_without_error(value: str) -> None:
    chat = Channel.objects.create(kind=ChannelKind.CHAT, name="Shop chat", config={})
    client = csrf_client()
    response = client.post(f"/chat/{chat.pk}/attachments/", {"token": value, "id": value, "text": value})
    assert response.status_code in (400, 403, 413)


@pytest.mark.parametrize("value", ODD)
def test_survey_and_help_search_take_odd_values_without_error(client: Client, value: str) -> None:
    assert client.post("/survey/x/", {"score": value, "comment": value}).status_code < 500
    assert client.get("/help/en/search/", {"q": value[:5000]}).status_code < 500
    assert client.get("/help/en/suggest", {"q": value[:5000], "channel": "chat", "session": value}).status_code < 500


@pytest.mark.parametrize(
    "url", ["/contact/", "/survey/x/", "/help/en/articles/returning-a-product/feedback/", "/chat/1/attachments/"]
)
def test_bytes_that_are_not_utf8_are_refused_or_replaced_without_error(
    article: Any, webform_channel: Any, url: str
) -> None:
    body = "name=%ED%A0%80&email=%FF%FE&message=%C0%AF&comment=%ED%A0%80&helpful=%FF&text=%ED&token=%FF"
    response = csrf_client().post(url, body, content_type="application/x-www-form-urlencoded")
    assert response.status_code < 500
