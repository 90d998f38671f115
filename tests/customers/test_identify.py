from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tiski.customers.exceptions import IdentityInvalidError
from tiski.customers.models import Customer
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
