"""The API through a read-only user's token: every case and customer can be read and followed, nothing written."""

from __future__ import annotations

import pytest

from tests.access.partner_world import World  # the fixture `world` comes from tests/access/conftest.py
from tests.api.conftest import Api, token_for
from tiski.cases.models import Case, Message, Note
from tiski.notifications.models import Follow


@pytest.fixture
def bea(world: World) -> Api:
    """The API as the read-only billing colleague Bea, with a token of every scope."""
    return Api(token_for(world.bea))


def test_read_only_reads_every_case_its_messages_and_notes(world: World, bea: Api) -> None:
    listed = bea.get("/cases")
    assert listed.status_code == 200
    assert {item["id"] for item in listed.json()["items"]} == set(Case.objects.values_list("pk", flat=True))
    assert bea.get(f"/cases/{world.c_mail.reference}").status_code == 200
    assert bea.get(f"/cases/{world.c_mail.pk}/messages").json()["items"][0]["body_text"].startswith("My invoice")
    assert bea.get(f"/cases/{world.c_mail.pk}/notes").json()["items"][0]["body"].startswith("internal-mail-note")
    message = Message.objects.filter(case=world.c_mail).first()
    assert message is not None and bea.get(f"/messages/{message.pk}").status_code == 200
    assert bea.get(f"/customers/{world.anssi.pk}").json()["notes"].startswith("Prefers")


def test_read_only_follows_cases_and_reads_notifications(world: World, bea: Api) -> None:
    assert bea.post("/follows", {"case_id": world.c_mail.pk}).status_code == 200
    assert Follow.objects.filter(user=world.bea, case=world.c_mail).exists()
    assert bea.get("/follows").status_code == 200
    assert bea.get("/notifications").status_code == 200
    assert bea.post("/notifications/read", {"ids": None}).status_code == 200
    assert bea.post("/follows/remove", {"case_id": world.c_mail.pk}).status_code == 204


def test_read_only_writes_nothing(world: World, bea: Api) -> None:
    case = world.c_mail
    message = Message.objects.filter(case=case).first()
    assert message is not None
    attempts = [
        bea.post("/cases", {"customer_id": world.anssi.pk, "subject": "New"}),
        bea.patch(f"/cases/{case.pk}", {"status": "solved"}),
        bea.post(f"/cases/{case.pk}/notes", {"body": "sneaky note"}),
        bea.post(f"/cases/{case.pk}/messages", {"body": "sneaky reply"}),
        bea.patch(f"/messages/{message.pk}", {"delivery_status": "delivered"}),
        bea.post("/customers", {"name": "New customer"}),
        bea.patch(f"/customers/{world.anssi.pk}", {"name": "Renamed"}),
        bea.put("/records", {"source": "crm", "records": []}),
        bea.get("/reports/figures"),
        bea.get(f"/customers/{world.anssi.pk}/export"),
        bea.post("/articles", {"language": "fi", "title": "x"}),
    ]
    assert [response.status_code for response in attempts] == [403] * len(attempts), [
        (response.status_code, response.content[:120]) for response in attempts
    ]
    case.refresh_from_db()
    assert case.status != "solved" and not Note.objects.filter(body="sneaky note").exists()
    assert Message.objects.filter(case=case).count() == 1
