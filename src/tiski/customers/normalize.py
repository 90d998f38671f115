"""Normalise customer handles so that one person's handle is stored and found one way."""

from __future__ import annotations

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from tiski.customers.exceptions import IdentityInvalidError
from tiski.customers.models import Identity


def normalize_email(value: str) -> str:
    """Return the address trimmed and lower-cased; raise IdentityInvalidError when it is not an address."""
    address = value.strip().lower()
    try:
        validate_email(address)
    except ValidationError as exc:
        raise IdentityInvalidError(f"{value!r} is not a valid email address") from exc
    return address


def normalize_phone(value: str, *, region: str | None = None) -> str:
    """Return the number in E.164 (+358401234567); raise IdentityInvalidError when it is not a number."""
    try:
        number = phonenumbers.parse(value, region or settings.TISKI_PHONE_REGION)
    except phonenumbers.NumberParseException as exc:
        raise IdentityInvalidError(f"{value!r} is not a phone number") from exc
    if not phonenumbers.is_possible_number(number):
        raise IdentityInvalidError(f"{value!r} is not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


PHONE_KINDS = {Identity.Kind.PHONE, Identity.Kind.SMS, Identity.Kind.WHATSAPP}


def normalize_handle(kind: str, value: str) -> str:
    """Return VALUE normalised for identity KIND."""
    if kind == Identity.Kind.EMAIL:
        return normalize_email(value)
    if kind in PHONE_KINDS:
        return normalize_phone(value)
    cleaned = value.strip()
    if not cleaned:
        raise IdentityInvalidError(f"an empty {kind} handle")
    return cleaned
