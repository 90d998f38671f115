"""Linking a suggestion, rejecting it, merging two customers and splitting an identity off, with audit."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from tiski.cases.models import Case, Message
from tiski.customers.exceptions import (
    CustomerMergeError,
    IdentitySplitError,
    SuggestionDecidedError,
)
from tiski.customers.matching import suggestions_refresh
from tiski.customers.models import (
    Customer,
    CustomerEvent,
    ExternalRecord,
    Identity,
    MatchSuggestion,
    Organization,
)
from tiski.customers.selectors import CustomerPermissionError
from tiski.customers.services import (
    Handle,
    customer_create,
    customer_identify,
    customer_merge,
    customer_update,
    identity_split,
    suggestion_accept,
    suggestion_reject,
)
from tiski.notifications.models import Follow, Notification


@pytest.fixture
def anssi(db) -> Customer:  # type: ignore[no-untyped-def]
    return customer_create(name="Anssi Asiakas", identities=[Handle("email", "anssi@firma.fi")])


@pytest.fixture
def suggestion(anssi, receive) -> MatchSuggestion:  # type: ignore[no-untyped-def]
    """A contact from Anssi's private address, suggested as Anssi."""
    provisional = receive(email="anssi.private@gmail.com", name="Anssi Asiakas").case.customer
    [found] = suggestions_refresh(customer=provisional)
    assert found.candidate == anssi
    return found


def test_an_agent_links_a_suggestion_in_one_click_and_the_handle_is_known_from_then_on(
    agent, anssi, suggestion, receive
):
    provisional = suggestion.customer
    [case] = Case.objects.filter(customer=provisional)
    master = suggestion_accept(suggestion=suggestion, actor=agent)
    assert master == anssi
    assert not Customer.objects.filter(pk=provisional.pk).exists()
    case.refresh_from_db()
    assert case.customer == anssi
    assert set(anssi.identities.values_list("value", flat=True)) == {"anssi@firma.fi", "anssi.private@gmail.com"}
    again = receive(email="anssi.private@gmail.com", name="Anssi", subject="Another question")
    assert again.case.customer == anssi  # known from then on
    assert Customer.objects.count() == 1


def test_linking_records_who_linked_what_with_the_evidence(agent, anssi, suggestion):
    provisional = suggestion.customer
    suggestion_accept(suggestion=suggestion, actor=agent)
    event = CustomerEvent.objects.get(customer=anssi, kind=CustomerEvent.Kind.LINKED)
    assert event.actor == agent
    assert event.data["merged"] == {"id": provisional.pk, "name": "Anssi Asiakas", "provisional": True}
    assert [i["value"] for i in event.data["identities"]] == ["anssi.private@gmail.com"]
    assert event.data["suggestion"]["score"] == suggestion.score
    assert event.data["suggestion"]["reasons"][0]["kind"] == "name"


def test_a_decided_suggestion_cannot_be_decided_again(agent, suggestion):
    suggestion_reject(suggestion=suggestion, actor=agent)
    with pytest.raises(SuggestionDecidedError):
        suggestion_accept(suggestion=suggestion, actor=agent)
    with pytest.raises(SuggestionDecidedError):
        suggestion_reject(suggestion=suggestion, actor=agent)


def test_rejecting_a_suggestion_records_it_and_it_is_not_made_again(agent, anssi, suggestion):
    rejected = suggestion_reject(suggestion=suggestion, actor=agent)
    assert rejected.status == MatchSuggestion.Status.REJECTED
    assert rejected.decided_by == agent and rejected.decided_at is not None
    event = CustomerEvent.objects.get(customer=suggestion.customer, kind=CustomerEvent.Kind.SUGGESTION_REJECTED)
    assert event.actor == agent and event.data["candidate"] == {"id": anssi.pk, "name": "Anssi Asiakas"}
    assert suggestions_refresh(customer=suggestion.customer) == []


def test_a_user_without_permission_to_change_customers_cannot_link_or_reject(suggestion):
    nobody = User.objects.create_user(username="nobody", password="x")
    with pytest.raises(CustomerPermissionError):
        suggestion_accept(suggestion=suggestion, actor=nobody)
    with pytest.raises(CustomerPermissionError):
        suggestion_reject(suggestion=suggestion, actor=nobody)
    assert MatchSuggestion.objects.get(pk=suggestion.pk).status == MatchSuggestion.Status.OPEN


def test_an_agent_cannot_link_a_customer_confirmed_meanwhile_but_a_team_lead_can(agent, team_lead, suggestion):
    Customer.objects.filter(pk=suggestion.customer_id).update(provisional=False)
    with pytest.raises(CustomerPermissionError):
        suggestion_accept(suggestion=suggestion, actor=agent)
    assert suggestion_accept(suggestion=suggestion, actor=team_lead) == suggestion.candidate


def test_merge_moves_identities_cases_records_follows_notifications_and_history(team_lead, agent, other_agent, receive):
    master = receive(email="anssi@firma.fi", name="Anssi Asiakas").case.customer
    other_receipt = receive(email="anssi.private@gmail.com", name="Anssi A")
    other = other_receipt.case.customer
    customer_update(customer=other, add_identities=[Handle("phone", "040 123 4567")], actor=agent)
    ExternalRecord.objects.create(kind="order", source="erp", external_id="O-1", customer=other, title="Bike")
    Follow.objects.create(user=agent, customer=master)
    Follow.objects.create(user=agent, customer=other)  # both followed by Maija: one follow remains
    Follow.objects.create(user=other_agent, customer=other)
    Notification.objects.create(user=agent, kind="contact", customer=other, text="Anssi wrote")
    unrelated = customer_identify(handles=[Handle("email", "z@example.com")], name="Anssi Asiakas").customer
    MatchSuggestion.objects.create(customer=unrelated, candidate=other, score=70)
    MatchSuggestion.objects.create(customer=other, candidate=master, score=70)

    result = customer_merge(master=master, other=other, actor=team_lead)

    assert result == master and not Customer.objects.filter(pk=other.pk).exists()
    assert set(master.identities.values_list("kind", "value")) == {
        ("email", "anssi@firma.fi"),
        ("email", "anssi.private@gmail.com"),
        ("phone", "+358401234567"),
    }
    assert Case.objects.filter(customer=master).count() == 2
    assert Message.objects.filter(case__customer=master).count() == 2
    assert ExternalRecord.objects.get(external_id="O-1").customer == master
    assert sorted(Follow.objects.filter(customer=master).values_list("user__username", flat=True)) == [
        "maija",
        "matti",
    ]
    assert Notification.objects.get().customer == master
    assert list(MatchSuggestion.objects.values_list("customer_id", "candidate_id")) == [(unrelated.pk, master.pk)]
    assert CustomerEvent.objects.filter(customer=master, kind=CustomerEvent.Kind.IDENTITY_ADDED).exists()
    master.refresh_from_db()
    assert master.provisional is False


def test_merge_records_who_merged_which_customer_and_what_moved(team_lead, receive):
    master = receive(email="anssi@firma.fi", name="Anssi Asiakas").case.customer
    other_receipt = receive(email="anssi.private@gmail.com", name="Anssi A")
    other = other_receipt.case.customer
    customer_merge(master=master, other=other, actor=team_lead)
    event = CustomerEvent.objects.get(customer=master, kind=CustomerEvent.Kind.MERGED)
    assert event.actor == team_lead
    assert event.data["merged"]["id"] == other.pk and event.data["merged"]["name"] == "Anssi A"
    assert event.data["identities"] == [
        {"id": other_receipt.message.identity_id, "kind": "email", "value": "anssi.private@gmail.com"}
    ]
    assert event.data["cases"] == [other_receipt.case.pk]


def test_merge_resolves_fields_by_master_data_precedence(team_lead):
    erp = Organization.objects.create(name="Firma Oy")
    master = customer_create(name="Anssi Asiakas", identities=[Handle("email", "anssi@firma.fi")])
    customer_update(customer=master, address="Agent Street 1", source="agent")
    other = customer_identify(
        handles=[Handle("email", "anssi@erp.example")], name="A. Asiakas", source="channel:email"
    ).customer
    customer_update(customer=other, address="ERP Road 2", source="import:erp")  # import beats agent (address)
    customer_update(customer=other, interests="four-wheel-drive cars", source="channel:email")  # empty on master
    customer_update(customer=other, organization=erp, source="import:erp")
    customer_merge(master=master, other=other, actor=team_lead)
    master.refresh_from_db()
    assert master.name == "Anssi Asiakas"  # agent's name beats the channel's
    assert master.address == "ERP Road 2"
    assert master.interests == "four-wheel-drive cars"
    assert master.organization == erp
    assert master.field_sources["address"] == "import:erp"
    assert master.field_sources["name"] == "agent"
    fields = CustomerEvent.objects.get(customer=master, kind=CustomerEvent.Kind.MERGED).data["fields"]
    assert fields["address"] == {"old": "Agent Street 1", "new": "ERP Road 2", "source": "import:erp"}
    assert fields["organization"]["new"] == erp.pk
    assert "name" not in fields


def test_on_equal_sources_the_masters_value_stays(team_lead):
    master = customer_create(name="Anssi Asiakas", notes="Master's note", identities=[Handle("email", "a@x.fi")])
    other = customer_create(name="Anssi Asiakas", notes="Other's note", identities=[Handle("email", "b@x.fi")])
    customer_merge(master=master, other=other, actor=team_lead)
    master.refresh_from_db()
    assert master.notes == "Master's note"


def test_merging_a_customer_with_itself_or_an_erased_one_is_refused_and_nothing_changes(team_lead, anssi):
    from django.utils import timezone

    with pytest.raises(CustomerMergeError, match="itself"):
        customer_merge(master=anssi, other=anssi, actor=team_lead)
    erased = customer_create(name="", identities=[Handle("email", "gone@example.com")])
    Customer.objects.filter(pk=erased.pk).update(erased_at=timezone.now())
    with pytest.raises(CustomerMergeError, match="erased"):
        customer_merge(master=anssi, other=erased, actor=team_lead)
    with pytest.raises(CustomerMergeError, match="erased"):
        customer_merge(master=erased, other=anssi, actor=team_lead)
    assert Customer.objects.count() == 2 and anssi.identities.count() == 1


def test_an_agent_may_not_merge_customers(agent, anssi):
    other = customer_create(name="Someone", identities=[Handle("email", "s@example.com")])
    with pytest.raises(CustomerPermissionError):
        customer_merge(master=anssi, other=other, actor=agent)
    assert Customer.objects.filter(pk=other.pk).exists()


def test_split_moves_the_identity_and_the_cases_it_opened_to_a_new_customer(team_lead, agent, receive):
    anssi_case = receive(email="anssi@firma.fi", name="Anssi Asiakas").case
    anssi = anssi_case.customer
    wrong_case = receive(email="wife@gmail.com", name="Anna Asiakas").case
    provisional = wrong_case.customer
    [suggestion] = MatchSuggestion.objects.bulk_create(
        [MatchSuggestion(customer=provisional, candidate=anssi, score=70)]
    )
    suggestion_accept(suggestion=suggestion, actor=agent)  # wrongly linked
    wrong = Identity.objects.get(value="wife@gmail.com")

    anna = identity_split(identity=wrong, actor=team_lead)

    assert anna != anssi and anna.name == "Anna Asiakas" and anna.provisional
    assert anna.name_key == "anna asiakas"
    assert list(anna.identities.values_list("value", flat=True)) == ["wife@gmail.com"]
    assert list(anssi.identities.values_list("value", flat=True)) == ["anssi@firma.fi"]
    assert list(Case.objects.filter(customer=anna)) == [wrong_case]
    assert list(Case.objects.filter(customer=anssi)) == [anssi_case]
    for customer, key in ((anssi, "to_customer"), (anna, "from_customer")):
        event = CustomerEvent.objects.get(customer=customer, kind=CustomerEvent.Kind.SPLIT)
        assert event.actor == team_lead and event.data["identity"]["value"] == "wife@gmail.com"
        assert event.data[key] == (anna.pk if key == "to_customer" else anssi.pk)
        assert event.data["cases"] == [wrong_case.pk]
    assert suggestions_refresh(customer=anna) == []  # never suggested as Anssi again


def test_a_customers_only_identity_cannot_be_split_off(team_lead, anssi):
    with pytest.raises(IdentitySplitError, match="only identity"):
        identity_split(identity=anssi.identities.get(), actor=team_lead)
    assert Customer.objects.count() == 1


def test_an_agent_may_not_split(agent):
    customer = customer_create(name="Two", identities=[Handle("email", "a@x.fi"), Handle("email", "b@x.fi")])
    with pytest.raises(CustomerPermissionError):
        identity_split(identity=customer.identities.first(), actor=agent)
    assert customer.identities.count() == 2
