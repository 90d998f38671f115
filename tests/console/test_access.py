"""Who may open what: anonymous users log in first, users without the agent role get 403."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD
from tiski.cases.models import Case


@pytest.fixture
def outsider(db: object) -> User:
    """A user who can log in but holds no console permission."""
    return User.objects.create_user(username="outsider", password=PASSWORD)


def _console_urls(case: Case) -> list[str]:
    return [
        reverse("console:inbox"),
        reverse("console:case", args=[case.reference]),
        reverse("console:case-timeline", args=[case.reference]),
        reverse("console:tokens"),
        reverse("console:sent-mail"),
        reverse("console:attachment", args=[1, "x.pdf"]),
    ]


def test_login_and_logout_keep_their_top_level_names() -> None:
    assert reverse("login") == "/login/"
    assert reverse("logout") == "/logout/"
    assert reverse("console:inbox") == "/console/"
    assert reverse("console:case", args=["TSK-1042"]) == "/console/cases/TSK-1042/"


def test_anonymous_user_is_sent_to_login_from_every_console_page(
    client: Client, make_case: Callable[..., Case]
) -> None:
    case = make_case()
    for url in _console_urls(case):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/?next="), url


@pytest.mark.parametrize("action", ["case-reply", "case-note", "case-update"])
def test_anonymous_post_changes_nothing(client: Client, make_case: Callable[..., Case], action: str) -> None:
    case = make_case()
    response = client.post(reverse(f"console:{action}", args=[case.reference]), {"body": "hi", "status": "solved"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Case.Status.NEW
    assert not case.messages.exists() and not case.notes.exists()


def test_user_without_the_agent_role_gets_403_everywhere(
    client: Client, outsider: User, make_case: Callable[..., Case]
) -> None:
    case = make_case()
    client.force_login(outsider)
    for url in _console_urls(case):
        assert client.get(url).status_code == 403, url
    response = client.post(reverse("console:case-note", args=[case.reference]), {"body": "sneaky"})
    assert response.status_code == 403
    assert not case.notes.exists()
    assert "agent role" in client.get(reverse("console:inbox")).content.decode()


def test_login_with_password_opens_the_inbox(client: Client, agent: User) -> None:
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert 'name="username"' in page.content.decode()
    response = client.post(reverse("login"), {"username": "maija", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("console:inbox")
    assert client.get(reverse("console:inbox")).status_code == 200


def test_login_with_wrong_password_says_so(client: Client, agent: User) -> None:
    response = client.post(reverse("login"), {"username": "maija", "password": "wrong"})
    assert response.status_code == 200
    assert "username or password is wrong" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_returns_to_the_page_asked_for(client: Client, agent: User, make_case: Callable[..., Case]) -> None:
    case = make_case()
    url = reverse("console:case", args=[case.reference])
    response = client.post(f"{reverse('login')}?next={url}", {"username": "maija", "password": PASSWORD, "next": url})
    assert response["Location"] == url


def test_logout_needs_post_and_ends_the_session(agent_client: Client) -> None:
    assert agent_client.get(reverse("logout")).status_code == 405
    response = agent_client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert agent_client.get(reverse("console:inbox")).status_code == 302
