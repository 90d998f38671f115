"""Phone normalisation under fuzzing: E.164 out or IdentityInvalidError, idempotent, the same for every kind."""

from __future__ import annotations

import re

from hypothesis import example, given
from hypothesis import strategies as st

from tiski.customers.exceptions import IdentityInvalidError
from tiski.customers.matching import phone_variants
from tiski.customers.normalize import identity_key, normalize_phone

E164 = re.compile(r"\+[1-9]\d{1,14}")

phone_like = st.one_of(
    st.text(max_size=40),
    st.text(st.sampled_from("0123456789 +-()./\u00a0\u202f\u0660\u06f1\uff11x#*tel:"), max_size=30),
    st.builds(
        "{}{}{}".format,
        st.sampled_from(["", "+", "00", "tel:", "sms:+", "wa:", "+358", "358", "0"]),
        st.from_regex(r"[0-9 ]{0,18}", fullmatch=True),
        st.sampled_from(["", " ext. 12", ";ext=5", "#", " ", "\x00"]),
    ),
)


@given(value=phone_like, international=st.booleans(), region=st.sampled_from([None, "FI", "SE", "US", "ZZ", "XX"]))
@example(value="+358 40 123 4567", international=False, region=None)
@example(value="٠٤٠١٢٣٤٥٦٧", international=False, region=None)
@example(value="0401234567", international=False, region="XX")
def test_a_number_is_e164_or_refused_and_normalising_again_changes_nothing(
    value: str, international: bool, region: str | None
) -> None:
    try:
        number = normalize_phone(value, region=region, international=international)
    except IdentityInvalidError:
        return
    assert E164.fullmatch(number), number
    assert normalize_phone(number) == number
    assert normalize_phone(number, international=True) == number
    assert normalize_phone(number, region="US") == number  # E.164 does not depend on the region any more


@given(value=phone_like, kind=st.sampled_from(["phone", "sms", "whatsapp"]))
def test_every_phone_kind_is_stored_as_phone(value: str, kind: str) -> None:
    try:
        stored_kind, number = identity_key(kind, value)
    except IdentityInvalidError:
        return
    assert stored_kind == "phone"
    assert identity_key("phone", number) == ("phone", number)


@given(value=phone_like)
def test_the_variants_of_a_number_are_e164_and_never_the_number_itself(value: str) -> None:
    try:
        number = normalize_phone(value)
    except IdentityInvalidError:
        return
    variants = phone_variants(number)
    assert number not in variants
    assert all(v.startswith("+") and v[1:].isdigit() for v in variants)
