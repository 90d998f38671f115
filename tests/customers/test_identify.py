from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tiski.customers.exceptions import IdentityInvalidError
from tiski.customers.models import Customer, Identity
from tiski.customers.normalize import normalize_email, normalize_handle, normalize_phone
from tiski.customers.services import Handle, customer_identify


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("040 123 4567", "+358401234567"),
        ("+358 40 1234567", "+358401234567"),
        ("00358401234567", "+358401234567"),
        ("+46 70 123 45 67", "+46701234567"),
    ],
)
def test_phone_numbers_are_stored_in_e164(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", ["", "abc", "12", "+358"])
def test_impossible_phone_numbers_are_refused(raw):
    with pytest.raises(IdentityInvalidError):
        normalize_phone(raw)


def test_email_is_trimmed_and_lower_cased():
    assert normalize_email("  Anssi.A@Example.FI ") == "anssi.a@example.fi"
    with pytest.raises(IdentityInvalidError):
        normalize_email("anssi@")


@given(st.text(max_size=40))
def test_handle_normalisation_either_succeeds_or_says_why(value):
    for kind in ("email", "phone", "instagram"):
        try:
            normalized = normalize_handle(kind, value)
        except IdentityInvalidError as exc:
            assert str(exc)
        else:
            assert normalized == normalize_handle(kind, normalized)  # idempotent


@pytest.mark.django_db
def test_identify_creates_then_recognises():
    first = customer_identify(handles=[Handle("email", "Minna@Example.com")], name="Minna")
    again = customer_identify(handles=[Handle("email", "minna@example.com")], name="Someone else")
    assert first.created and not again.created
    assert again.customer == first.customer
    assert Customer.objects.get().name == "Minna"


@pytest.mark.django_db
def test_identify_fills_a_missing_name_but_never_overwrites():
    nameless = customer_identify(handles=[Handle("sms", "+358401111111")]).customer
    assert nameless.name == ""
    named = customer_identify(handles=[Handle("sms", "+358401111111")], name="Anssi").customer
    assert named.name == "Anssi"


@pytest.mark.django_db
def test_only_the_senders_own_handle_identifies_and_others_are_not_added_to_a_known_customer():
    maija = customer_identify(handles=[Handle("email", "maija@example.com")], name="Maija").customer
    found = customer_identify(handles=[Handle("email", "maija@example.com"), Handle("phone", "+358401234567")])
    assert found.customer == maija and not found.created
    assert list(maija.identities.values_list("kind", flat=True)) == ["email"]
    other = customer_identify(handles=[Handle("email", "x@example.com"), Handle("email", "maija@example.com")])
    assert other.created and other.customer != maija  # maija's address stays hers
    assert list(other.customer.identities.values_list("value", flat=True)) == ["x@example.com"]


@pytest.mark.django_db
def test_identify_needs_a_handle():
    with pytest.raises(ValueError, match="at least one handle"):
        customer_identify(handles=[])


@pytest.mark.django_db
def test_a_known_handle_is_recognised_with_one_query(django_assert_num_queries):
    known = customer_identify(handles=[Handle("email", "anssi@example.com")], name="Anssi Asiakas").customer
    with django_assert_num_queries(1):
        found = customer_identify(handles=[Handle("email", " ANSSI@example.com")], name="Anssi Asiakas")
    assert found.customer == known and not found.created
    assert found.identity is not None and found.identity.value == "anssi@example.com"


@pytest.mark.django_db
def test_an_unknown_handle_creates_a_provisional_customer_with_its_name_source_and_match_keys():
    created = customer_identify(
        handles=[Handle("instagram", "@Anssi.Asiakas")], name="  Asiakas, Anssi ", source="channel:instagram"
    )
    customer = Customer.objects.get(pk=created.customer.pk)
    assert created.created and customer.provisional
    assert customer.name == "Asiakas, Anssi"
    assert customer.name_key == "anssi asiakas"
    assert customer.field_sources == {"name": "channel:instagram"}
    assert set(customer.match_keys.values_list("key", flat=True)) == {"n:anssi", "n:asiakas"}
    assert list(customer.identities.values_list("kind", "value")) == [("instagram", "anssi.asiakas")]


@pytest.mark.django_db
def test_without_a_source_the_name_is_recorded_as_from_the_first_handles_channel():
    customer = customer_identify(handles=[Handle("whatsapp", "358401234567")], name="Anssi").customer
    assert customer.field_sources == {"name": "channel:whatsapp"}


@pytest.mark.django_db
def test_a_nameless_contact_records_no_name_source():
    customer = customer_identify(handles=[Handle("phone", "040 123 4567")]).customer
    assert customer.field_sources == {} and customer.name_key == ""


@pytest.mark.django_db
@pytest.mark.parametrize(
    "first, then",
    [
        (Handle("phone", "040 123 4567"), Handle("sms", "+358401234567")),
        (Handle("sms", "+358 40 123 4567"), Handle("whatsapp", "358401234567")),
        (Handle("whatsapp", "358401234567"), Handle("phone", "0401234567")),
    ],
)
def test_calls_sms_and_whatsapp_from_one_number_are_one_customer(first, then):
    caller = customer_identify(handles=[first], name="Anssi")
    again = customer_identify(handles=[then])
    assert caller.created and not again.created
    assert again.customer == caller.customer
    assert list(Identity.objects.values_list("kind", "value")) == [("phone", "+358401234567")]


@pytest.mark.django_db
def test_handles_that_fold_to_one_identity_are_stored_once():
    created = customer_identify(
        handles=[Handle("phone", "040 123 4567"), Handle("sms", "+358401234567"), Handle("whatsapp", "358401234567")]
    )
    assert created.customer.identities.count() == 1


@pytest.mark.django_db
def test_a_malformed_handle_is_refused_and_nothing_is_created():
    with pytest.raises(IdentityInvalidError):
        customer_identify(handles=[Handle("email", "not an address")], name="X")
    with pytest.raises(IdentityInvalidError):
        customer_identify(handles=[Handle("email", "x@example.com"), Handle("phone", "call me")], name="X")
    assert not Customer.objects.exists()


@pytest.mark.django_db
def test_a_contact_through_the_pipeline_creates_a_provisional_customer(receive):
    customer = receive(email="uusi@example.com", name="Uusi Asiakas").case.customer
    customer.refresh_from_db()
    assert customer.provisional and customer.name_key == "asiakas uusi"


@pytest.mark.django_db
def test_the_precompiled_lookup_returns_the_same_objects_as_the_orm(django_assert_num_queries):
    from tiski.customers.lookup import identity_find

    created = customer_identify(handles=[Handle("email", "anssi@example.com")], name="Anssi", source="channel:email")
    with django_assert_num_queries(1):
        found = identity_find(kind="email", value="anssi@example.com")
        assert found is not None
        customer = found.customer  # loaded with the identity: no second query
    orm = Identity.objects.select_related("customer").get(kind="email", value="anssi@example.com")
    assert found == orm and customer == orm.customer
    assert customer.field_sources == {"name": "channel:email"}  # JSON decoded
    assert found.created_at == orm.created_at and customer.created_at == orm.customer.created_at
    assert customer.provisional is True and found.verified is False
    assert not found._state.adding and customer == created.customer
    assert identity_find(kind="email", value="nobody@example.com") is None


@pytest.mark.django_db
def test_a_customer_created_by_a_contact_starts_its_history():
    from tiski.customers.models import CustomerEvent

    customer = customer_identify(handles=[Handle("sms", "040 123 4567")], source="channel:sms").customer
    event = CustomerEvent.objects.get(customer=customer)
    assert event.kind == CustomerEvent.Kind.CREATED and event.actor is None
    assert event.data == {"source": "channel:sms", "identities": [{"kind": "phone", "value": "+358401234567"}]}
