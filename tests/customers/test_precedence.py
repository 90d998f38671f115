"""Master-data rules: which source may overwrite which field, in updates and imports."""

from __future__ import annotations

import pytest

from tiski.customers.exceptions import IdentityInvalidError
from tiski.customers.models import Customer, CustomerEvent, FieldPrecedence, Identity, Organization
from tiski.customers.services import (
    Handle,
    customer_change,
    customer_create,
    customer_identify,
    customer_update,
    customer_upsert_from_import,
    source_may_overwrite,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "field, current, new, allowed",
    [
        # address: the company's systems own it; a social profile never overwrites it
        ("address", "import:erp", "channel:instagram", False),
        ("address", "import:erp", "agent", False),
        ("address", "import:erp", "import:erp", True),
        ("address", "import:erp", "import:crm", True),  # "import:*" is one rank
        ("address", "agent", "import:erp", True),
        ("address", "agent", "channel:webform", False),
        ("address", "channel:instagram", "agent", True),
        ("address", "channel:instagram", "channel:webform", True),
        ("address", "channel:webform", "channel:instagram", False),
        # fields without their own rule ("*"): the agent's correction wins over everything
        ("name", "channel:instagram", "agent", True),
        ("name", "import:erp", "agent", True),
        ("name", "agent", "import:erp", False),
        ("name", "agent", "channel:webform", False),
        ("name", "channel:email", "channel:webform", True),
        ("name", "channel:webform", "channel:email", False),
        ("notes", "api:crm", "import:erp", True),
        # tier: only systems and agents; channels are not listed and rank lowest
        ("tier", "agent", "channel:email", False),
        ("tier", "import:erp", "api:crm", False),
        ("tier", "api:crm", "import:erp", True),
        ("organization", "channel:email", "agent", True),
        ("organization", "import:erp", "channel:email", False),
        # no recorded source: anyone may write; two unlisted sources are equals
        ("address", None, "channel:instagram", True),
        ("address", "", "channel:instagram", True),
        ("tier", "legacy", "channel:email", True),
    ],
)
def test_source_may_overwrite_by_the_default_rules(field, current, new, allowed):
    assert source_may_overwrite(field=field, new_source=new, current_source=current) is allowed


def test_an_administrators_rule_changes_who_wins():
    assert source_may_overwrite(field="notes", new_source="channel:email", current_source="agent") is False
    FieldPrecedence.objects.create(field="notes", sources="channel:*\nagent")
    assert source_may_overwrite(field="notes", new_source="channel:email", current_source="agent") is True


def test_without_any_rules_the_last_writer_wins():
    FieldPrecedence.objects.all().delete()
    assert source_may_overwrite(field="address", new_source="channel:instagram", current_source="import:erp")


def test_an_erp_address_is_never_overwritten_by_a_social_profile_and_the_skip_is_reported():
    customer = customer_create(name="Anssi Asiakas", identities=[Handle("email", "anssi@firma.fi")])
    customer_update(customer=customer, address="Teollisuuskatu 1, Helsinki", source="import:erp")
    change = customer_change(customer=customer, fields={"address": "Somewhere 5"}, source="channel:instagram")
    assert change.changed == {}
    assert change.skipped == {"address": "import:erp"}
    customer.refresh_from_db()
    assert customer.address == "Teollisuuskatu 1, Helsinki"
    assert not CustomerEvent.objects.filter(customer=customer, data__new="Somewhere 5").exists()


def test_an_agent_overwrites_what_a_channel_said_and_the_change_is_recorded(agent):
    customer = customer_identify(
        handles=[Handle("instagram", "anssi_a")], name="anssi_a 🚲", source="channel:instagram"
    ).customer
    change = customer_change(customer=customer, fields={"name": "Anssi Asiakas"}, source="agent", actor=agent)
    assert change.changed == {"name": ("anssi_a 🚲", "Anssi Asiakas")} and change.skipped == {}
    customer.refresh_from_db()
    assert customer.name == "Anssi Asiakas" and customer.name_key == "anssi asiakas"
    assert customer.field_sources["name"] == "agent"
    assert set(customer.match_keys.values_list("key", flat=True)) == {"n:anssi", "n:asiakas"}
    event = CustomerEvent.objects.get(customer=customer, kind=CustomerEvent.Kind.UPDATED)
    assert event.actor == agent
    assert event.data == {"field": "name", "old": "anssi_a 🚲", "new": "Anssi Asiakas", "source": "agent"}


def test_an_empty_field_is_filled_by_any_source_and_a_cleared_one_forgets_its_source():
    customer = customer_create(name="Anssi Asiakas", identities=[Handle("email", "anssi@firma.fi")])
    customer_update(customer=customer, interests="four-wheel-drive cars", source="agent")
    customer_update(customer=customer, interests="", source="agent")
    customer.refresh_from_db()
    assert "interests" not in customer.field_sources
    customer_update(customer=customer, interests="e-bikes", source="channel:instagram")
    customer.refresh_from_db()
    assert customer.interests == "e-bikes" and customer.field_sources["interests"] == "channel:instagram"


def test_existing_callers_keep_working_without_source_or_actor():
    customer = customer_create(name="Anssi", identities=[Handle("email", "a@x.fi")])
    updated = customer_update(customer=customer, name="Anssi Asiakas", tier="gold", language="fi")
    assert isinstance(updated, Customer)
    updated.refresh_from_db()
    assert (updated.name, updated.tier, updated.language) == ("Anssi Asiakas", "gold", "fi")


def test_an_unknown_field_or_tier_is_refused_and_nothing_changes():
    customer = customer_create(name="Anssi", identities=[Handle("email", "a@x.fi")])
    with pytest.raises(ValueError, match="shoe_size"):
        customer_change(customer=customer, fields={"shoe_size": "44"})
    with pytest.raises(ValueError, match="platinum"):
        customer_update(customer=customer, tier="platinum")
    customer.refresh_from_db()
    assert customer.tier == "standard"


def test_adding_and_removing_identities_is_recorded(agent):
    customer = customer_create(name="Anssi", identities=[Handle("email", "a@x.fi")])
    customer_update(
        customer=customer,
        add_identities=[Handle("whatsapp", "358401234567")],
        remove_identities=[Handle("email", "A@X.FI")],
        actor=agent,
    )
    assert list(customer.identities.values_list("kind", "value")) == [("phone", "+358401234567")]
    kinds = list(CustomerEvent.objects.filter(customer=customer).values_list("kind", "data__value"))
    assert (CustomerEvent.Kind.IDENTITY_REMOVED, "a@x.fi") in kinds
    assert (CustomerEvent.Kind.IDENTITY_ADDED, "+358401234567") in kinds


def test_an_import_creates_a_confirmed_customer_with_its_sources():
    erp = customer_upsert_from_import(
        source="import:erp",
        handles=[Handle("email", "Anssi@Firma.fi"), Handle("phone", "040 123 4567")],
        fields={"name": "Anssi Asiakas", "address": "Teollisuuskatu 1", "tier": "gold", "organization": "Firma Oy"},
    )
    assert erp.created
    customer = Customer.objects.get(pk=erp.customer.pk)
    assert not customer.provisional
    assert customer.organization == Organization.objects.get(name="Firma Oy")
    assert customer.field_sources == {
        "name": "import:erp",
        "address": "import:erp",
        "tier": "import:erp",
        "organization": "import:erp",
    }
    assert set(customer.identities.values_list("value", flat=True)) == {"anssi@firma.fi", "+358401234567"}
    assert customer.name_key == "anssi asiakas"


def test_an_import_updates_the_customer_of_its_first_handle_as_the_rules_allow(agent):
    first = customer_upsert_from_import(
        source="import:erp", handles=[Handle("email", "anssi@firma.fi")], fields={"name": "Anssi Asiakas"}
    )
    customer_update(customer=first.customer, name="Anssi J. Asiakas", source="agent", actor=agent)
    again = customer_upsert_from_import(
        source="import:erp",
        handles=[Handle("email", "anssi@firma.fi")],
        fields={"name": "ANSSI ASIAKAS", "address": "Uusi katu 2"},
    )
    assert not again.created and again.customer.pk == first.customer.pk
    assert again.skipped == {"name": "agent"}  # the agent's correction stays
    assert again.changed == {"address": ("", "Uusi katu 2")}
    assert Customer.objects.get().name == "Anssi J. Asiakas"


def test_an_import_confirms_a_provisional_customer_and_reports_handles_owned_by_others():
    provisional = customer_identify(handles=[Handle("email", "anssi@firma.fi")], name="Anssi").customer
    maija = customer_create(name="Maija", identities=[Handle("phone", "040 765 4321")])
    outcome = customer_upsert_from_import(
        source="import:erp",
        handles=[Handle("email", "anssi@firma.fi"), Handle("phone", "040 765 4321"), Handle("phone", "040 111 2222")],
        fields={},
    )
    assert outcome.customer.pk == provisional.pk and not outcome.customer.provisional
    assert outcome.identities_taken == [("phone", "+358407654321", maija.pk)]
    assert Identity.objects.get(value="+358407654321").customer == maija
    assert Identity.objects.get(value="+358401112222").customer_id == provisional.pk


def test_a_bad_import_row_is_refused_and_creates_nothing():
    with pytest.raises(IdentityInvalidError):
        customer_upsert_from_import(source="import:erp", handles=[], fields={"name": "X"})
    with pytest.raises(IdentityInvalidError):
        customer_upsert_from_import(source="import:erp", handles=[Handle("email", "nope")], fields={"name": "X"})
    with pytest.raises(ValueError, match="shoe_size"):
        customer_upsert_from_import(source="import:erp", handles=[Handle("email", "a@x.fi")], fields={"shoe_size": 4})
    with pytest.raises(ValueError, match="tier"):
        customer_upsert_from_import(source="import:erp", handles=[Handle("email", "a@x.fi")], fields={"tier": "x"})
    assert not Customer.objects.exists()
