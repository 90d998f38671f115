"""Handles are normalised one way: emails, Finnish and foreign phone numbers, messaging ids, social handles."""

from __future__ import annotations

import pytest

from tiski.customers.exceptions import IdentityInvalidError
from tiski.customers.normalize import (
    fold_name,
    identity_key,
    normalize_email,
    normalize_handle,
    normalize_phone,
)

ANSSI = "+358401234567"
HELSINKI = "+35891234567"


@pytest.mark.parametrize(
    "raw",
    [
        "040 123 4567",
        "040-1234567",
        "0401234567",
        "040 1234 567",
        "+358 40 123 4567",
        "+358401234567",
        "+358 (0)40 123 4567",
        "+358 (0) 40-123 45 67",
        "00358 40 123 4567",
        "00358401234567",
        "358401234567",  # as SMS gateways and WhatsApp send it: the country code without "+"
        "tel:+358401234567",
        "tel:040-123-4567",
        "TEL: +358 40 123 4567",
        "sms:+358401234567",
        "whatsapp:+358401234567",
        " 040\u00a0123\u00a04567 ",  # no-break spaces, as copied from a web page
        "040\u202f123\u202f4567",  # narrow no-break spaces
        "040.123.4567",
        "+358.40.123.4567",
        "040/1234567",
        "\t040 123 4567\n",
        "０４０ １２３ ４５６７",  # full-width digits
    ],
)
def test_a_finnish_mobile_number_written_every_common_way_is_one_e164_number(raw):
    assert normalize_phone(raw) == ANSSI


@pytest.mark.parametrize(
    "raw",
    [
        "(09) 123 4567",
        "09-1234567",
        "09 1234567",
        "+35891234567",
        "+358 9 123 4567",
        "00358 9 1234567",
        "tel:09-1234567",
    ],
)
def test_a_helsinki_landline_written_every_common_way_is_one_e164_number(raw):
    assert normalize_phone(raw) == HELSINKI


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("+46 70 123 45 67", "+46701234567"),
        ("0046 70 123 45 67", "+46701234567"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+1 (650) 253-0000", "+16502530000"),
        ("+372 5123 4567", "+37251234567"),
    ],
)
def test_foreign_numbers_keep_their_country_code(raw, expected):
    assert normalize_phone(raw) == expected


def test_a_number_without_country_code_is_read_in_the_configured_region(settings):
    settings.TISKI_PHONE_REGION = "SE"
    assert normalize_phone("070-123 45 67") == "+46701234567"
    assert normalize_phone("040 123 4567", region="FI") == ANSSI


def test_digits_starting_with_358_are_cut_only_when_they_are_not_a_finnish_number_themselves():
    # "358401234567" read as a Finnish national number (0358 401234567) is too long to be one, so it is
    # the international form; a short Helsinki number that happens to start with 358 stays national.
    assert normalize_phone("358401234567") == ANSSI
    assert normalize_phone("0358 912345") == normalize_phone("358912345")


def test_whatsapp_ids_are_international_digits_without_plus():
    # WhatsApp's wa_id: "46701234567" is Swedish, not a Finnish number missing its trunk 0.
    assert normalize_handle("whatsapp", "46701234567") == "+46701234567"
    assert normalize_handle("whatsapp", "358401234567") == ANSSI
    assert normalize_handle("whatsapp", "040 123 4567") == ANSSI  # a person typing it still works


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "abc",
        "12",
        "+358",
        "unknown",
        "anonymous",
        "1-800-FLOWERS",  # letters are not digits on a keypad here
        "040 123 4567 ext. 12",  # an extension would make colleagues one identity
        "+358 40 123 4567;ext=12",
        "+358 40 123 45678901234567",
    ],
)
def test_impossible_phone_numbers_are_refused_with_a_reason(raw):
    with pytest.raises(IdentityInvalidError) as caught:
        normalize_phone(raw)
    assert str(caught.value)


@pytest.mark.parametrize("kind", ["phone", "sms", "whatsapp"])
def test_caller_ids_sms_and_whatsapp_numbers_are_one_phone_identity(kind):
    assert identity_key(kind, "040-123 4567") == ("phone", ANSSI)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("anssi@example.com", "anssi@example.com"),
        ("  Anssi.Asiakas@Example.FI ", "anssi.asiakas@example.fi"),
        ("ANSSI@EXAMPLE.COM", "anssi@example.com"),
        ("mailto:anssi@example.com", "anssi@example.com"),
        ("anssi+shop@example.com", "anssi+shop@example.com"),  # plus-addressing kept by default
        ("anssi@ääkkönen.fi", "anssi@xn--kknen-fraa0m.fi"),  # IDNA: the domain as mail systems send it
        ("anssi@ÄÄKKÖNEN.FI", "anssi@xn--kknen-fraa0m.fi"),
        ("anssi@xn--kknen-fraa0m.fi", "anssi@xn--kknen-fraa0m.fi"),  # the A-label form is the same identity
        ("anssi@example.com.", "anssi@example.com"),  # a fully qualified domain's dot
        ("anssi@a\u0308a\u0308kko\u0308nen.fi", "anssi@xn--kknen-fraa0m.fi"),  # decomposed ä (NFD) as composed
    ],
)
def test_email_addresses_are_normalised(raw, expected):
    assert normalize_email(raw) == expected


def test_plus_addressing_is_stripped_when_configured(settings):
    settings.TISKI_EMAIL_STRIP_PLUS = True
    assert normalize_email("Anssi+Shop@example.com") == "anssi@example.com"
    assert normalize_email("anssi@example.com") == "anssi@example.com"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "anssi",
        "anssi@",
        "@example.com",
        "anssi@@example.com",
        "anssi @example.com",
        "Anssi <anssi@example.com>",
        "anssi@exa mple.com",
        "anssi@-example.com",
        "anssi@bad_domain.com",
        "anssi@xn--zz.com",  # a broken IDNA label
        "jörö@example.fi",  # a non-ASCII local part: not deliverable without SMTPUTF8, which replies do not use
        "a" * 320 + "@example.com",
    ],
)
def test_malformed_email_addresses_are_refused_with_a_reason(raw):
    with pytest.raises(IdentityInvalidError) as caught:
        normalize_email(raw)
    assert str(caught.value)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("anssi.asiakas", "anssi.asiakas"),
        ("@Anssi.Asiakas", "anssi.asiakas"),  # usernames are case-insensitive on Instagram
        ("  @anssi_a ", "anssi_a"),
        ("https://www.instagram.com/Anssi.Asiakas/", "anssi.asiakas"),
        ("instagram.com/anssi_a?igsh=abc", "anssi_a"),
        ("17841400000000000", "17841400000000000"),  # an Instagram-scoped id from the messaging API
    ],
)
def test_instagram_handles_are_lower_case_without_at(raw, expected):
    assert normalize_handle("instagram", raw) == expected


@pytest.mark.parametrize("raw", ["", "@", "anssi asiakas", "anssi!", "a" * 31, "https://example.com/anssi"])
def test_impossible_instagram_handles_are_refused(raw):
    with pytest.raises(IdentityInvalidError):
        normalize_handle("instagram", raw)


def test_messenger_ids_are_digits_only():
    assert normalize_handle("messenger", " 2415 0000 1234 5678 ") == "2415000012345678"
    for garbage in ("", "anssi.asiakas", "12a4", "-1"):
        with pytest.raises(IdentityInvalidError, match="Messenger"):
            normalize_handle("messenger", garbage)


def test_other_networks_and_chat_sessions_are_trimmed_as_given():
    assert normalize_handle("other", "  @AnssiA  ") == "@AnssiA"
    assert normalize_handle("chat", " chat-7f3a ") == "chat-7f3a"
    for garbage in ("", "   ", "a\x00b", "x" * 321):
        with pytest.raises(IdentityInvalidError):
            normalize_handle("other", garbage)


def test_an_unknown_kind_of_identity_is_refused():
    with pytest.raises(IdentityInvalidError, match="fax"):
        normalize_handle("fax", "+358401234567")


@pytest.mark.parametrize(
    "name, folded",
    [
        ("Anssi Asiakas", "anssi asiakas"),
        ("ASIAKAS, Anssi", "anssi asiakas"),
        ("  Anssi   Asiakas ", "anssi asiakas"),
        ("Mäkinen Maija", "maija makinen"),
        ("Maija Makinen", "maija makinen"),
        ("Åsa Öberg-Ström", "asa oberg strom"),
        ("", ""),
    ],
)
def test_names_fold_for_matching(name, folded):
    assert fold_name(name) == folded


def test_a_number_of_zeros_is_refused_rather_than_stored_as_one_that_normalises_differently() -> None:
    # Found by tests/fuzz: "0000000" became "+358000000", which normalised again to "+35800000".
    for value in ("0000000", "+358000000", "00000"):
        with pytest.raises(IdentityInvalidError):
            normalize_phone(value)
