"""Finnish: the browser's locale picks it, every label of the console and the models is translated."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from django.test import Client
from django.urls import reverse

import tiski.console
from tiski.cases.models import Case
from tiski.channels.services import Receipt

FI = {"HTTP_ACCEPT_LANGUAGE": "fi-FI,fi;q=0.9,en;q=0.5"}


def test_inbox_in_finnish_when_the_browser_asks_for_it(agent_client: Client, make_case: Callable[..., Case]) -> None:
    make_case(status=Case.Status.PENDING, priority=Case.Priority.URGENT)
    content = agent_client.get(reverse("console:inbox"), **FI).content.decode()
    assert '<html lang="fi">' in content
    for label in ("Saapuneet", "Tila", "Prioriteetti", "Kanava", "Omistaja", "Tiimi", "Kiireellinen", "Ei omistajaa"):
        assert label in content, label
    assert "Urgent" not in content and "Inbox" not in content


def test_case_page_in_finnish(agent_client: Client, receive: Callable[..., Receipt]) -> None:
    case = receive().case
    agent_client.post(reverse("console:case-note", args=[case.reference]), {"body": "Muistiin"})
    content = agent_client.get(reverse("console:case", args=[case.reference]), **FI).content.decode()
    for label in ("Vastaa", "Sisäinen muistiinpano", "Verkkolomake", "Uusi", "Asiakastaso", "Perus", "Muut tapaukset"):
        assert label in content, label
    assert "Reply to the customer" not in content


def test_english_stays_english(agent_client: Client, make_case: Callable[..., Case]) -> None:
    make_case()
    content = agent_client.get(reverse("console:inbox"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Inbox" in content and "Saapuneet" not in content


def test_language_switch_sets_finnish(agent_client: Client) -> None:
    response = agent_client.post("/i18n/setlang/", {"language": "fi", "next": reverse("console:inbox")})
    assert response.status_code == 302
    assert "Saapuneet" in agent_client.get(reverse("console:inbox")).content.decode()


def test_login_page_in_finnish(client: Client) -> None:
    content = client.get(reverse("login"), **FI).content.decode()
    assert "Kirjaudu sisään" in content and "Salasana" in content


def test_every_message_in_the_finnish_catalog_is_translated() -> None:
    po = Path(tiski.console.__file__).parent / "locale/fi/LC_MESSAGES/django.po"
    text = po.read_text(encoding="utf-8")
    assert "#, fuzzy" not in text
    entries = re.findall(r'^msgid "(.+)"\n(?:msgid_plural ".*"\n)?msgstr(?:\[0\])? "(.*)"', text, re.M)
    assert len(entries) > 200
    assert [msgid for msgid, msgstr in entries if not msgstr] == []
    mo = po.with_suffix(".mo")
    assert mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime - 1
