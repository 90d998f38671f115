"""The identity API: suggestions, accept, reject, merge and split, with the permissions of each role."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api, token_for
from tiski.cases.models import Case
from tiski.customers.matching import suggestions_refresh
from tiski.customers.models import Customer, CustomerEvent, MatchSuggestion
from tiski.customers.services import Handle, customer_create


@pytest.fixture
def agent_api(agent) -> Api:  # type: ignore[no-untyped-def]
    return Api(token_for(agent))


@pytest.fixture
def lead_api(team_lead) -> Api:  # type: ignore[no-untyped-def]
    return Api(token_for(team_lead))


@pytest.fixture
def admin_api(administrator) -> Api:  # type: ignore[no-untyped-def]
    return Api(token_for(administrator))


@pytest.fixture
def nobody_api(db) -> Api:  # type: ignore[no-untyped-def]
    from django.contrib.auth.models import User

    return Api(token_for(User.objects.create_user(username="nobody", password="x")))


@pytest.fixture
def anssi(db) -> Customer:  # type: ignore[no-untyped-def]
    return customer_create(name="Anssi Asiakas", identities=[Handle("email", "anssi@firma.fi")])


@pytest.fixture
def suggestion(anssi, receive) -> MatchSuggestion:  # type: ignore[no-untyped-def]
    provisional = receive(email="anssi.private@gmail.com", name="Anssi Asiakas").case.customer
    [found] = suggestions_refresh(customer=provisional)
    return found


def test_suggestions_of_a_provisional_customer_are_listed_best_first_with_reasons(agent_api, anssi, suggestion):
    response = agent_api.get(f"/customers/{suggestion.customer_id}/suggestions")
    assert response.status_code == 200, response.content
    [item] = response.json()
    assert item["id"] == suggestion.pk
    assert item["candidate"] == {"id": anssi.pk, "name": "Anssi Asiakas", "organization": ""}
    assert item["score"] == 70 and item["status"] == "open"
    assert item["reasons"] == [{"kind": "name", "detail": "Anssi Asiakas = Anssi Asiakas", "points": 70}]


def test_suggestions_of_an_unknown_customer_answer_404(agent_api):
    response = agent_api.get("/customers/999999/suggestions")
    assert response.status_code == 404 and response.json()["code"] == "customer_not_found"


def test_an_agent_accepts_a_suggestion_and_gets_the_linked_customer(agent_api, agent, anssi, suggestion):
    response = agent_api.post(f"/suggestions/{suggestion.pk}/accept")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == anssi.pk
    assert sorted(i["value"] for i in body["identities"]) == ["anssi.private@gmail.com", "anssi@firma.fi"]
    assert not Customer.objects.filter(pk=suggestion.customer_id).exists()
    assert CustomerEvent.objects.get(kind=CustomerEvent.Kind.LINKED).actor == agent
    again = agent_api.post(f"/suggestions/{suggestion.pk}/accept")
    assert again.status_code == 404  # the suggestion went with the provisional customer


def test_an_agent_rejects_a_suggestion_and_cannot_decide_it_twice(agent_api, suggestion):
    response = agent_api.post(f"/suggestions/{suggestion.pk}/reject")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "rejected"
    again = agent_api.post(f"/suggestions/{suggestion.pk}/accept")
    assert again.status_code == 409 and again.json()["code"] == "suggestion_decided"
    assert Customer.objects.filter(pk=suggestion.customer_id).exists()


def test_a_user_without_a_role_can_neither_see_nor_decide_suggestions(nobody_api, suggestion):
    assert nobody_api.get(f"/customers/{suggestion.customer_id}/suggestions").status_code == 403
    for action in ("accept", "reject"):
        response = nobody_api.post(f"/suggestions/{suggestion.pk}/{action}")
        assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert MatchSuggestion.objects.get(pk=suggestion.pk).status == "open"


def test_an_agent_cannot_merge_arbitrary_customers(agent_api, anssi):
    other = customer_create(name="Someone", identities=[Handle("email", "s@example.com")])
    response = agent_api.post(f"/customers/{anssi.pk}/merge", {"other_id": other.pk})
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert Customer.objects.filter(pk=other.pk).exists()


@pytest.mark.parametrize("client", ["lead_api", "admin_api"])
def test_a_team_lead_or_administrator_merges_two_customers(request, client, anssi, receive):
    api = request.getfixturevalue(client)
    other = receive(email="anssi.private@gmail.com", name="Anssi A").case.customer
    response = api.post(f"/customers/{anssi.pk}/merge", {"other_id": other.pk})
    assert response.status_code == 200, response.content
    assert len(response.json()["identities"]) == 2
    assert not Customer.objects.filter(pk=other.pk).exists()
    assert Case.objects.get().customer == anssi


def test_merging_a_customer_with_itself_answers_409(lead_api, anssi):
    response = lead_api.post(f"/customers/{anssi.pk}/merge", {"other_id": anssi.pk})
    assert response.status_code == 409
    assert response.json() == {"detail": "A customer cannot be merged with itself.", "code": "merge_refused"}


def test_merging_an_unknown_customer_answers_404_and_a_bad_id_422(lead_api, anssi):
    assert lead_api.post(f"/customers/{anssi.pk}/merge", {"other_id": 999999}).status_code == 404
    response = lead_api.post(f"/customers/{anssi.pk}/merge", {"other_id": "x"})
    assert response.status_code == 422 and response.json()["code"] == "validation_error"


def test_a_team_lead_splits_an_identity_off_and_an_agent_may_not(agent_api, lead_api):
    customer = customer_create(
        name="Anssi Asiakas", identities=[Handle("email", "anssi@firma.fi"), Handle("email", "wife@gmail.com")]
    )
    wrong = customer.identities.get(value="wife@gmail.com")
    forbidden = agent_api.post(f"/identities/{wrong.pk}/split")
    assert forbidden.status_code == 403
    response = lead_api.post(f"/identities/{wrong.pk}/split")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"] != customer.pk
    assert [i["value"] for i in body["identities"]] == ["wife@gmail.com"]
    last = customer.identities.get()
    refused = lead_api.post(f"/identities/{last.pk}/split")
    assert refused.status_code == 409 and refused.json()["code"] == "split_refused"
    assert lead_api.post("/identities/999999/split").status_code == 404
