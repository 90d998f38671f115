"""Suggestions: who a provisional customer probably is, scored from name, organisation, email and phone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tiski.customers.matching import (
    match_keys_rebuild,
    phone_variants,
    score_candidates,
    suggestions_refresh,
)
from tiski.customers.models import Customer, CustomerMatchKey, MatchSuggestion, Organization
from tiski.customers.services import Handle, customer_create, customer_identify

pytestmark = pytest.mark.django_db


def known(name: str, *handles: Handle, organization: Organization | None = None) -> Customer:
    customer = customer_create(name=name, identities=handles)
    if organization is not None:
        Customer.objects.filter(pk=customer.pk).update(organization=organization)
        customer.refresh_from_db()
    return customer


def contact(*handles: Handle, name: str = "", source: str = "") -> Customer:
    identification = customer_identify(handles=handles, name=name, source=source)
    assert identification.created
    return identification.customer


def reasons(suggestion: MatchSuggestion) -> dict[str, int]:
    return {reason["kind"]: reason["points"] for reason in suggestion.reasons}


def test_the_same_name_from_an_unknown_address_is_suggested():
    anssi = known("Anssi Asiakas", Handle("email", "anssi@firma.fi"))
    provisional = contact(Handle("email", "anssi.a@gmail.com"), name="Anssi Asiakas")
    [suggestion] = suggestions_refresh(customer=provisional)
    assert suggestion.candidate == anssi and suggestion.status == MatchSuggestion.Status.OPEN
    assert suggestion.score == 70
    assert suggestion.reasons == [{"kind": "name", "detail": "Anssi Asiakas = Anssi Asiakas", "points": 70}]


def test_a_name_written_the_other_way_round_and_without_accents_is_the_same_name():
    maija = known("Maija Mäkinen", Handle("email", "maija@firma.fi"))
    provisional = contact(Handle("email", "mm@gmail.com"), name="MAKINEN, Maija")
    [suggestion] = suggestions_refresh(customer=provisional)
    assert suggestion.candidate == maija and reasons(suggestion) == {"name": 70}


def test_a_misspelt_name_scores_a_little_lower():
    anssi = known("Anssi Asiakas", Handle("email", "anssi@firma.fi"))
    provisional = contact(Handle("email", "ansi@gmail.com"), name="Ansi Asiakas")
    [suggestion] = suggestions_refresh(customer=provisional)
    assert suggestion.candidate == anssi
    assert 60 <= suggestion.score < 70
    assert "≈" in suggestion.reasons[0]["detail"]


def test_unrelated_names_give_no_suggestion():
    known("Maija Mäkinen", Handle("email", "maija@firma.fi"))
    known("Anssi Asiakas", Handle("email", "anssi@firma.fi"))
    provisional = contact(Handle("email", "pekka@gmail.com"), name="Pekka Pouta")
    assert suggestions_refresh(customer=provisional) == []
    assert not MatchSuggestion.objects.exists()


def test_a_shared_first_name_alone_is_not_enough():
    known("Anssi Asiakas", Handle("email", "anssi@firma.fi"))
    provisional = contact(Handle("email", "anssi.m@gmail.com"), name="Anssi Mattila")
    assert suggestions_refresh(customer=provisional) == []


def test_the_organisations_email_domain_adds_evidence():
    firma = Organization.objects.create(name="Firma Oy", domain="firma.fi")
    anssi = known("Anssi Asiakas", Handle("email", "anssi@firma.fi"), organization=firma)
    provisional = contact(Handle("email", "a.asiakas@firma.fi"), name="Anssi Asiakas")
    [suggestion] = suggestions_refresh(customer=provisional)
    assert suggestion.candidate == anssi
    assert reasons(suggestion) == {"name": 70, "organization": 25}
    assert suggestion.score == 95
    assert "firma.fi is the domain of Firma Oy" in [reason["detail"] for reason in suggestion.reasons]


def test_an_organisation_member_with_a_first_name_only_is_suggested_by_name_and_domain():
    firma = Organization.objects.create(name="Firma Oy", domain="firma.fi")
    anssi = known("Anssi Asiakas", Handle("email", "anssi@firma.fi"), organization=firma)
    known("Bertta Virtanen", Handle("email", "bertta@firma.fi"), organization=firma)
    provisional = contact(Handle("email", "aa@firma.fi"), name="Anssi")
    [suggestion] = suggestions_refresh(customer=provisional)
    assert suggestion.candidate == anssi and set(reasons(suggestion)) == {"name", "organization"}


def test_a_free_mail_domain_gives_no_organisation_evidence():
    # Even an organisation recorded with a free-mail domain: everyone has a gmail.com address.
    mistaken = Organization.objects.create(name="Gmail users", domain="gmail.com")
    anssi = known("Anssi Asiakas", Handle("email", "anssi@gmail.com"), organization=mistaken)
    provisional = contact(Handle("email", "someone.else@gmail.com"), name="Anssi Asiakas")
    [suggestion] = suggestions_refresh(customer=provisional)
    assert suggestion.candidate == anssi and "organization" not in reasons(suggestion)
    nameless = contact(Handle("email", "x.y.z@gmail.com"))
    assert score_candidates(customer=nameless) == []


def test_the_same_local_part_at_another_domain_is_evidence():
    anssi = known("Anssi Asiakas", Handle("email", "anssi.asiakas@firma.fi"))
    provisional = contact(Handle("email", "Anssi.Asiakas@gmail.com"))  # no name given
    [suggestion] = suggestions_refresh(customer=provisional)
    assert suggestion.candidate == anssi and reasons(suggestion) == {"email_local": 60}
    assert "anssi.asiakas@gmail.com ≈ anssi.asiakas@firma.fi" in suggestion.reasons[0]["detail"]


def test_role_addresses_are_no_evidence_of_a_person():
    known("Firma Oy", Handle("email", "info@firma.fi"))
    provisional = contact(Handle("email", "info@toinen.fi"))
    assert score_candidates(customer=provisional) == []


@pytest.mark.parametrize(
    "typed, why",
    [
        ("+358401234568", "one digit different"),
        ("+358401234576", "two digits swapped"),
        ("+358410234567", "two digits swapped"),
    ],
)
def test_a_mistyped_phone_number_is_evidence(typed, why):
    anssi = known("Anssi Asiakas", Handle("phone", "040 123 4567"))
    provisional = contact(Handle("sms", typed), name="Anssi")
    [suggestion] = suggestions_refresh(customer=provisional)
    assert suggestion.candidate == anssi
    assert reasons(suggestion)["phone"] == 45
    assert why in next(r["detail"] for r in suggestion.reasons if r["kind"] == "phone")
    assert suggestion.score >= 60  # with the first name


def test_a_mistyped_phone_number_alone_is_scored_but_not_suggested():
    anssi = known("Anssi Asiakas", Handle("phone", "040 123 4567"))
    provisional = contact(Handle("phone", "+358401234568"))
    [entry] = score_candidates(customer=provisional)
    assert entry.candidate == anssi and entry.score == 45
    assert suggestions_refresh(customer=provisional) == []


def test_the_same_number_under_another_country_code_is_evidence():
    anssi = known("Anssi Asiakas", Handle("phone", "040 123 4567"))
    provisional = contact(Handle("whatsapp", "46401234567"), name="Anssi Asiakas")
    [suggestion] = suggestions_refresh(customer=provisional)
    assert suggestion.candidate == anssi
    assert reasons(suggestion) == {"name": 70, "phone": 50}
    assert suggestion.score == 100


def test_phone_variants_cover_typos_swaps_and_country_codes_but_not_the_number_itself():
    variants = phone_variants("+358401234567")
    assert "+358401234567" not in variants
    assert variants["+358401234568"] == "one digit different"
    assert variants["+358402134567"] == "two digits swapped"
    assert variants["+46401234567"] == "same number, other country code"
    assert phone_variants("not a number") == {}


def test_an_instagram_display_name_equal_to_a_customers_name_is_evidence():
    anssi = known("Anssi Asiakas", Handle("email", "anssi@firma.fi"))
    provisional = contact(Handle("instagram", "@anssi_a"), name="Anssi Asiakas", source="channel:instagram")
    [suggestion] = suggestions_refresh(customer=provisional)
    assert suggestion.candidate == anssi
    assert suggestion.reasons == [
        {"kind": "profile_name", "detail": "Instagram name Anssi Asiakas = Anssi Asiakas", "points": 70}
    ]


def test_at_most_three_suggestions_best_first():
    for number in range(5):
        known("Anssi Asiakas", Handle("email", f"anssi{number}@firma.fi"))
    exact_and_phone = known("Anssi Asiakas", Handle("phone", "040 123 4567"))
    provisional = contact(Handle("phone", "040 123 4576"), name="Anssi Asiakas")
    suggestions = suggestions_refresh(customer=provisional)
    assert len(suggestions) == 3
    assert suggestions[0].candidate == exact_and_phone and suggestions[0].score == 100
    assert [s.score for s in suggestions] == sorted((s.score for s in suggestions), reverse=True)


def test_the_minimum_score_is_configurable(settings):
    known("Anssi Asiakas", Handle("email", "anssi@firma.fi"))
    provisional = contact(Handle("email", "a@gmail.com"), name="Anssi Asiakas")
    settings.TISKI_MATCH_MIN_SCORE = 71
    assert suggestions_refresh(customer=provisional) == []
    settings.TISKI_MATCH_MIN_SCORE = 70
    assert len(suggestions_refresh(customer=provisional)) == 1


def test_erased_customers_are_never_suggested():
    anssi = known("Anssi Asiakas", Handle("email", "anssi@firma.fi"))
    Customer.objects.filter(pk=anssi.pk).update(erased_at=timezone.now())
    provisional = contact(Handle("email", "a@gmail.com"), name="Anssi Asiakas")
    assert suggestions_refresh(customer=provisional) == []


def test_a_newer_provisional_customer_is_no_candidate_but_an_older_one_is():
    first = contact(Handle("email", "a@gmail.com"), name="Anssi Asiakas")
    second = contact(Handle("email", "b@gmail.com"), name="Anssi Asiakas")
    Customer.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(days=1))
    first.refresh_from_db()
    assert suggestions_refresh(customer=first) == []
    [suggestion] = suggestions_refresh(customer=second)
    assert suggestion.candidate == first


def test_a_rejected_suggestion_is_not_made_again_and_refreshing_updates_in_place():
    anssi = known("Anssi Asiakas", Handle("email", "anssi@firma.fi"))
    maija = known("Anssi Asiakas", Handle("email", "anssi@toinen.fi"))
    provisional = contact(Handle("email", "a@gmail.com"), name="Anssi Asiakas")
    first = {s.candidate_id: s.pk for s in suggestions_refresh(customer=provisional)}
    assert set(first) == {anssi.pk, maija.pk}
    MatchSuggestion.objects.filter(pk=first[maija.pk]).update(status=MatchSuggestion.Status.REJECTED)
    again = suggestions_refresh(customer=provisional)
    assert [(s.candidate_id, s.pk) for s in again] == [(anssi.pk, first[anssi.pk])]
    assert MatchSuggestion.objects.get(pk=first[maija.pk]).status == MatchSuggestion.Status.REJECTED


def test_a_confirmed_customer_gets_no_suggestions_and_loses_open_ones():
    known("Anssi Asiakas", Handle("email", "anssi@firma.fi"))
    provisional = contact(Handle("email", "a@gmail.com"), name="Anssi Asiakas")
    assert len(suggestions_refresh(customer=provisional)) == 1
    Customer.objects.filter(pk=provisional.pk).update(provisional=False)
    assert suggestions_refresh(customer=provisional) == []
    assert not MatchSuggestion.objects.exists()


def test_a_contact_from_an_unknown_address_gets_suggestions_in_the_background(receive, run_tasks):
    anssi = known("Anssi Asiakas", Handle("email", "anssi@firma.fi"))
    receipt = receive(email="anssi.private@gmail.com", name="Anssi Asiakas")
    assert not MatchSuggestion.objects.exists()  # not in the contact's own transaction
    run_tasks()
    suggestion = MatchSuggestion.objects.get()
    assert suggestion.customer == receipt.case.customer and suggestion.candidate == anssi


def test_a_contact_from_a_known_address_queues_no_suggestion_work(receive, run_tasks):
    from django_tasks_db.models import DBTaskResult

    known("Anssi Asiakas", Handle("email", "anssi@firma.fi"))
    receive(email="anssi@firma.fi", name="Anssi Asiakas")
    assert not DBTaskResult.objects.filter(task_path__endswith="suggestions_refresh_for_contact").exists()


def test_candidates_are_found_through_match_keys_not_by_reading_every_customer(django_assert_max_num_queries):
    for number in range(30):
        known(f"Someone Else{number}", Handle("email", f"someone{number}@firma.fi"))
    anssi = known("Anssi Asiakas", Handle("email", "anssi@firma.fi"))
    provisional = contact(Handle("email", "a@gmail.com"), name="Anssi Asiakas")
    with django_assert_max_num_queries(6):
        entries = score_candidates(customer=provisional)
    assert [entry.candidate for entry in entries] == [anssi]


def test_bulk_created_customers_are_indexed_by_rebuilding_the_match_keys():
    bulk = Customer.objects.create(name="Anssi Asiakas")  # as a bulk loader writes it: no name key, no keys
    assert bulk.name_key == "" and not CustomerMatchKey.objects.filter(customer=bulk).exists()
    assert match_keys_rebuild() >= 1
    bulk.refresh_from_db()
    assert bulk.name_key == "anssi asiakas"
    provisional = contact(Handle("email", "a@gmail.com"), name="Anssi Asiakas")
    [suggestion] = suggestions_refresh(customer=provisional)
    assert suggestion.candidate == bulk
