"""The API through a partner agent's token: only the partner's cases and the customers of those, the rest is 404."""

from __future__ import annotations

import pytest

from tests.access.partner_world import World  # the fixture `world` comes from tests/access/conftest.py
from tests.api.conftest import Api, token_for
from tiski.cases.models import Message
from tiski.notifications.models import Follow


@pytest.fixture
def sanna(world: World) -> Api:
    """The API as the partner agent Sanna, with a token of every scope."""
    return Api(token_for(world.sanna))


def _ids(response) -> set[int]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content
    return {item["id"] for item in response.json()["items"]}


def test_partner_lists_only_the_partners_cases(world: World, sanna: Api) -> None:
    assert _ids(sanna.get("/cases")) == {case.pk for case in world.visible}
    assert _ids(sanna.get("/cases", {"customer_id": world.other.pk})) == set()
    assert _ids(sanna.get("/cases", {"q": "Nora"})) == set()


def test_partner_guessing_a_case_id_or_reference_gets_404(world: World, sanna: Api) -> None:
    for case in world.invisible:
        for ref in (str(case.pk), case.reference):
            assert sanna.get(f"/cases/{ref}").status_code == 404
            assert sanna.get(f"/cases/{ref}/messages").status_code == 404
            assert sanna.get(f"/cases/{ref}/notes").status_code == 404
            assert sanna.patch(f"/cases/{ref}", {"priority": "high"}).status_code == 404
            assert sanna.post(f"/cases/{ref}/notes", {"body": "x"}).status_code == 404
            assert sanna.post(f"/cases/{ref}/messages", {"body": "x"}).status_code == 404
    assert sanna.get(f"/cases/{world.c_chat.reference}").status_code == 200
    notes = sanna.get(f"/cases/{world.c_chat.pk}/notes").json()["items"]
    assert [note["body"] for note in notes] == ["internal-chat-note: offered a discount code"]


def test_partner_cannot_read_or_report_on_a_message_of_an_invisible_case(world: World, sanna: Api) -> None:
    hidden = Message.objects.get(case=world.c_mail)
    shown = Message.objects.get(case=world.c_chat)
    assert sanna.get(f"/messages/{hidden.pk}").status_code == 404
    assert sanna.patch(f"/messages/{hidden.pk}", {"delivery_status": "delivered"}).status_code == 404
    assert sanna.get(f"/messages/{shown.pk}").json()["id"] == shown.pk


def test_partner_sees_only_the_customers_of_their_cases_reduced(world: World, sanna: Api) -> None:
    assert _ids(sanna.get("/customers")) == {world.anssi.pk, world.olli.pk}
    assert sanna.get(f"/customers/{world.other.pk}").status_code == 404
    assert _ids(sanna.get("/customers", {"q": "nora@example.com"})) == set()
    anssi = sanna.get(f"/customers/{world.anssi.pk}").json()
    assert anssi["name"] == "Anssi Asiakas"
    assert anssi["notes"] == "" and anssi["organization"] is None and anssi["field_sources"] == {}
    # the chat identity of the chat case and the address of the case handed over; never the phone number
    assert {identity["value"] for identity in anssi["identities"]} == {"chat-visitor-1", "anssi@example.com"}
    listed = {item["id"]: item for item in sanna.get("/customers").json()["items"]}
    assert "+358401111111" not in str(listed)


def test_an_ordinary_agent_still_sees_the_whole_customer(world: World) -> None:
    anssi = Api(token_for(world.maija)).get(f"/customers/{world.anssi.pk}").json()
    assert anssi["notes"].startswith("Prefers phone calls")
    assert len(anssi["identities"]) == 3


def test_partner_sees_no_external_records(world: World, sanna: Api) -> None:
    assert sanna.get(f"/customers/{world.anssi.pk}/records").status_code == 404
    assert sanna.get("/records/crm/ORD-778").status_code == 404
    maija = Api(token_for(world.maija))
    assert maija.get("/records/crm/ORD-778").status_code == 200


def test_partner_cannot_create_cases_for_hidden_customers_or_on_hidden_channels(world: World, sanna: Api) -> None:
    hidden_customer = sanna.post("/cases", {"customer_id": world.other.pk, "subject": "Guess"})
    assert hidden_customer.status_code == 404 and hidden_customer.json()["code"] == "customer_not_found"
    hidden_channel = sanna.post(
        "/cases", {"customer_id": world.anssi.pk, "subject": "Mail", "channel_id": world.email.pk}
    )
    assert hidden_channel.status_code == 404 and hidden_channel.json()["code"] == "channel_not_found"
    created = sanna.post("/cases", {"customer_id": world.anssi.pk, "subject": "Chat", "channel_id": world.chat.pk})
    assert created.status_code == 201, created.content
    assert sanna.get(f"/cases/{created.json()['id']}").status_code == 200


def test_partner_cannot_push_inbound_contacts_to_a_channel_not_granted(world: World, sanna: Api) -> None:
    body = {
        "channel_id": world.email.pk,
        "handles": [{"kind": "email", "value": "x@example.com"}],
        "body_text": "hello",
        "external_id": "ext-1",
    }
    response = sanna.post("/inbound", body)
    assert response.status_code == 404 and response.json()["code"] == "channel_not_found"
    assert not Message.objects.filter(external_id="ext-1").exists()


def test_partner_cannot_follow_what_they_cannot_see(world: World, sanna: Api) -> None:
    assert sanna.post("/follows", {"case_id": world.c_mail.pk}).status_code == 404
    assert sanna.post("/follows", {"customer_id": world.other.pk}).status_code == 404
    assert not Follow.objects.filter(user=world.sanna).exists()
    assert sanna.post("/follows", {"case_id": world.c_chat.pk}).status_code == 200


def test_partner_cannot_request_a_callback_for_a_hidden_customer(world: World, sanna: Api) -> None:
    response = sanna.post("/callback-requests", {"customer_id": world.other.pk, "number": "+358401234567"})
    assert response.status_code == 404


def test_partner_has_no_reports_knowledge_merge_or_gdpr(world: World, sanna: Api) -> None:
    assert sanna.get("/reports/figures").status_code == 403
    assert sanna.get("/survey-responses").status_code == 403
    assert sanna.get(f"/customers/{world.anssi.pk}/export").status_code == 403
    assert sanna.post(f"/customers/{world.anssi.pk}/merge", {"other_id": world.olli.pk}).status_code == 403
    assert sanna.get("/automation/rules").status_code == 403
