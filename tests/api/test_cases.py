"""Cases through the API: filters, paging, get by id or reference, create, update, internal notes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tiski.accounts.models import Team
from tiski.api import paging
from tiski.cases.models import Case, CaseEvent, Category, Message, Note
from tiski.cases.services import case_update
from tiski.channels.models import Channel, ChannelKind


def refs(response) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content
    return sorted(item["reference"] for item in response.json()["items"])


def test_get_case_by_id_and_by_reference(api, receive):
    case = receive().case
    by_id = api.get(f"/cases/{case.pk}")
    by_ref = api.get(f"/cases/{case.reference}")
    by_lower = api.get(f"/cases/{case.reference.lower()}")
    assert by_id.status_code == by_ref.status_code == by_lower.status_code == 200
    assert by_id.json() == by_ref.json() == by_lower.json()
    body = by_id.json()
    assert body["reference"] == case.reference
    assert body["status"] == "new"
    assert body["priority"] == "normal"
    assert body["customer"] == {"id": case.customer_id, "name": "Anssi Asiakas"}
    assert body["channel"]["kind"] == "webform"
    assert body["owner"] is None
    assert body["related_ids"] == []


@pytest.mark.parametrize("ref", ["999", "TSK-99999", "nonsense", "٣", "99999999999999999999"])
def test_unknown_case_answers_404(api, ref):
    response = api.get(f"/cases/{ref}")
    assert response.status_code == 404
    assert response.json()["code"] == "case_not_found"


def test_list_filters_narrow_the_cases(api, agent, other_agent, receive, webform_channel):
    team = Team.objects.create(name="Billing")
    chat = Channel.objects.create(kind=ChannelKind.CHAT, name="Chat")
    first = receive(email="a@example.com", subject="Invoice wrong").case
    second = receive(email="b@example.com", subject="Shirt size").case
    third = receive(email="c@example.com", subject="Broken zip", channel=chat).case
    Case.objects.filter(pk=first.pk).update(status="pending", priority=Case.Priority.URGENT, team=team, owner=agent)
    Case.objects.filter(pk=second.pk).update(status="solved", owner=other_agent)
    assert refs(api.get("/cases")) == sorted([first.reference, second.reference, third.reference])
    assert refs(api.get("/cases", {"status": ["pending", "solved"]})) == sorted([first.reference, second.reference])
    assert refs(api.get("/cases", {"status": "active"})) == sorted([first.reference, third.reference])
    assert refs(api.get("/cases", {"priority": "urgent"})) == [first.reference]
    assert refs(api.get("/cases", {"channel_id": chat.pk})) == [third.reference]
    assert refs(api.get("/cases", {"team_id": team.pk})) == [first.reference]
    assert refs(api.get("/cases", {"owner": "me"})) == [first.reference]
    assert refs(api.get("/cases", {"owner": "unassigned"})) == [third.reference]
    assert refs(api.get("/cases", {"owner_id": other_agent.pk})) == [second.reference]
    assert refs(api.get("/cases", {"customer_id": third.customer_id})) == [third.reference]
    assert refs(api.get("/cases", {"q": "invoice"})) == [first.reference]
    assert refs(api.get("/cases", {"q": "b@example.com"})) == [second.reference]
    assert refs(api.get("/cases", {"q": third.reference})) == [third.reference]
    Case.objects.filter(pk=third.pk).update(updated_at=timezone.now() - timedelta(days=2))
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert refs(api.get("/cases", {"updated_since": since})) == sorted([first.reference, second.reference])


def test_search_matching_a_customer_with_several_identities_lists_each_case_once(api, receive):
    case = receive(email="a@example.com", subject="Invoice wrong").case
    case.customer.identities.create(kind="phone", value="+358401234567")
    case.customer.identities.create(kind="sms", value="+358401234568")
    response = api.get("/cases", {"q": "invoice"})
    assert refs(response) == [case.reference]
    assert response.json()["count"] == 1


def test_list_filters_refuse_unknown_values_with_422(api):
    for query in ({"status": "lost"}, {"priority": "5"}, {"owner": "someone"}, {"channel_id": "x"}):
        response = api.get("/cases", query)
        assert response.status_code == 422, query
        assert response.json()["code"] == "validation_error"
        assert response.json()["errors"][0]["in"] == "query"


def test_owner_and_owner_id_together_answer_422(api, agent):
    response = api.get("/cases", {"owner": "me", "owner_id": agent.pk})
    assert response.status_code == 422
    assert "owner or owner_id" in response.json()["detail"]


def _cases(customer, n: int) -> None:  # type: ignore[no-untyped-def]
    Case.objects.bulk_create([Case(customer=customer, subject=f"Case {i}") for i in range(n)])


def test_paging_follows_next_until_the_end(api, receive):
    _cases(receive().case.customer, 4)
    first = api.get("/cases", {"limit": 2}).json()
    assert first["count"] == 5
    assert len(first["items"]) == 2
    assert first["next"].startswith("http://testserver/api/v1/cases?")
    seen = [item["id"] for item in first["items"]]
    url = first["next"]
    while url:
        page = api.client.get(url, HTTP_AUTHORIZATION=f"Bearer {api.token}").json()
        seen += [item["id"] for item in page["items"]]
        url = page["next"]
    assert sorted(seen) == sorted(Case.objects.values_list("pk", flat=True))


def test_paging_keeps_the_filters_in_next(api, receive):
    _cases(receive().case.customer, 3)
    page = api.get("/cases", {"limit": 1, "status": "new"}).json()
    assert "status=new" in page["next"]
    assert "offset=1" in page["next"]


def test_page_size_is_capped_at_200(api, receive):
    _cases(receive().case.customer, 205)
    page = api.get("/cases", {"limit": 10**9}).json()
    assert len(page["items"]) == 200
    assert page["count"] == 206
    assert "limit=200" in page["next"]


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": -5}, {"offset": -1}, {"offset": 10**12}, {"limit": "many"}])
def test_invalid_paging_answers_422(api, query):
    response = api.get("/cases", query)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] in query


def test_count_stops_at_the_cap_and_says_so(api, receive, monkeypatch):
    monkeypatch.setattr(paging, "COUNT_CAP", 3)
    _cases(receive().case.customer, 5)
    page = api.get("/cases", {"limit": 2}).json()
    assert (page["count"], page["count_capped"]) == (3, True)
    assert page["next"] is not None


def test_create_case_with_description_stores_the_first_message(api, agent, receive, webform_channel):
    customer = receive().case.customer
    category = Category.objects.create(name="Orders")
    response = api.post(
        "/cases",
        {
            "customer_id": customer.pk,
            "subject": "Order 123 missing",
            "description": "Called in: the parcel never came.",
            "channel_id": webform_channel.pk,
            "priority": "high",
            "type": "incident",
            "category_id": category.pk,
            "tags": ["Parcel", "late delivery"],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["priority"] == "high"
    assert body["type"] == "incident"
    assert body["category"] == {"id": category.pk, "name": "Orders"}
    assert body["tags"] == ["late-delivery", "parcel"]
    [message] = Message.objects.filter(case_id=body["id"])
    assert (message.direction, message.body_text) == ("in", "Called in: the parcel never came.")
    assert CaseEvent.objects.get(case_id=body["id"], kind="created").actor == agent


def test_create_case_with_description_but_no_channel_answers_400(api, receive):
    customer = receive().case.customer
    response = api.post("/cases", {"customer_id": customer.pk, "subject": "X", "description": "Text"})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "A description is stored as a message on a channel: give the channel.",
        "code": "case_invalid",
    }


def test_create_case_with_a_blank_subject_answers_400(api, receive):
    response = api.post("/cases", {"customer_id": receive().case.customer_id, "subject": "   "})
    assert response.status_code == 400
    assert response.json()["code"] == "case_invalid"


@pytest.mark.parametrize(
    ("field", "code"),
    [("customer_id", "customer_not_found"), ("channel_id", "channel_not_found"), ("category_id", "category_not_found")],
)
def test_create_case_with_unknown_reference_answers_404(api, receive, field, code):
    body = {"customer_id": receive().case.customer_id, "subject": "X", field: 9999}
    response = api.post("/cases", body)
    assert response.status_code == 404
    assert response.json()["code"] == code


def test_create_case_with_unknown_priority_answers_422(api, receive):
    response = api.post("/cases", {"customer_id": receive().case.customer_id, "subject": "X", "priority": "asap"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "priority"


def test_update_case_fields_and_timeline(api, agent, receive):
    case = receive().case
    response = api.patch(
        f"/cases/{case.reference}",
        {"status": "pending", "priority": "urgent", "subject": "Shirt size (L or XL)", "type": "task", "tags": ["vip"]},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["priority"], body["subject"], body["type"], body["tags"]) == (
        "pending",
        "urgent",
        "Shirt size (L or XL)",
        "task",
        ["vip"],
    )
    kinds = set(CaseEvent.objects.filter(case=case, actor=agent).values_list("kind", flat=True))
    assert {"status_changed", "priority_changed", "updated"} <= kinds


def test_agent_takes_an_unassigned_case_and_unassigns_it(api, agent, receive):
    case = receive().case
    assert api.patch(f"/cases/{case.pk}", {"owner_id": agent.pk}).json()["owner"]["username"] == "maija"
    assert api.patch(f"/cases/{case.pk}", {"owner_id": None}).json()["owner"] is None


def test_agent_cannot_assign_to_someone_else_but_a_team_lead_can(api, lead_api, other_agent, receive):
    case = receive().case
    refused = api.patch(f"/cases/{case.pk}", {"owner_id": other_agent.pk})
    assert refused.status_code == 403
    assert refused.json() == {
        "detail": "Only a team lead can assign cases to others or take them from others.",
        "code": "permission_denied",
    }
    allowed = lead_api.patch(f"/cases/{case.pk}", {"owner_id": other_agent.pk})
    assert allowed.status_code == 200
    assert allowed.json()["owner"]["name"] == "Matti Virtanen"


def test_moving_between_teams_needs_a_team_lead(api, lead_api, receive):
    team = Team.objects.create(name="Billing")
    case = receive().case
    assert api.patch(f"/cases/{case.pk}", {"team_id": team.pk}).status_code == 403
    assert lead_api.patch(f"/cases/{case.pk}", {"team_id": team.pk}).json()["team"] == {
        "id": team.pk,
        "name": "Billing",
    }
    assert lead_api.patch(f"/cases/{case.pk}", {"team_id": None}).json()["team"] is None


def test_update_unknown_owner_or_team_answers_404(api, receive):
    case = receive().case
    assert api.patch(f"/cases/{case.pk}", {"owner_id": 9999}).json()["code"] == "user_not_found"
    assert api.patch(f"/cases/{case.pk}", {"team_id": 9999}).json()["code"] == "team_not_found"


def test_update_closed_case_answers_409(api, agent, receive):
    case = receive().case
    case_update(case=case, actor=agent, status=Case.Status.CLOSED)
    response = api.patch(f"/cases/{case.pk}", {"priority": "high"})
    assert response.status_code == 409
    assert response.json() == {
        "detail": f"{case.reference} is closed; closed cases cannot be changed.",
        "code": "case_closed",
    }


def test_update_with_null_status_or_unknown_status_answers_422(api, receive):
    case = receive().case
    assert api.patch(f"/cases/{case.pk}", {"status": None}).status_code == 422
    response = api.patch(f"/cases/{case.pk}", {"status": "archived"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "status"


def test_update_unknown_case_answers_404(api):
    assert api.patch("/cases/TSK-5000", {"status": "open"}).status_code == 404


def test_related_and_parent_cases_are_linked(api, receive):
    first = receive().case
    second = receive(email="b@example.com").case
    second.related.add(first)
    Case.objects.filter(pk=second.pk).update(parent=first)
    body = api.get(f"/cases/{second.pk}").json()
    assert (body["parent_id"], body["related_ids"]) == (first.pk, [first.pk])


def test_notes_are_added_and_listed(api, agent, receive):
    case = receive().case
    created = api.post(f"/cases/{case.reference}/notes", {"body": "Customer called, wants XL."})
    assert created.status_code == 201
    assert created.json()["author"]["username"] == "maija"
    listed = api.get(f"/cases/{case.reference}/notes").json()
    assert [note["body"] for note in listed["items"]] == ["Customer called, wants XL."]
    assert Note.objects.get().author == agent


def test_blank_note_answers_400_and_empty_note_422(api, receive):
    case = receive().case
    assert api.post(f"/cases/{case.pk}/notes", {"body": "   "}).json()["code"] == "case_invalid"
    assert api.post(f"/cases/{case.pk}/notes", {"body": ""}).status_code == 422


def test_notes_of_unknown_case_answer_404(api):
    assert api.get("/cases/TSK-5000/notes").status_code == 404
    assert api.post("/cases/TSK-5000/notes", {"body": "x"}).status_code == 404
