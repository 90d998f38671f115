"""Normalise customer handles so that one person's handle is stored and found one way.

``identity_key(kind, value)`` is the one function the rest of the code uses: it returns the kind the handle
is stored under and its normalised value. Phone numbers, SMS senders and WhatsApp numbers are one kind
(phone), so a customer who calls, texts and writes on WhatsApp from one number is one identity.
"""

from __future__ import annotations

import re
import unicodedata

import idna
import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from tiski.customers.exceptions import IdentityInvalidError
from tiski.customers.models import Identity

MAX_LENGTH = 320  # Identity.value
PHONE_KINDS = frozenset({Identity.Kind.PHONE, Identity.Kind.SMS, Identity.Kind.WHATSAPP})

_SCHEMES = re.compile(r"^\s*(?:tel|sms|callto|whatsapp|wa)\s*:\s*", re.IGNORECASE)
_LETTER = re.compile(r"[^\W\d_]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_INSTAGRAM_URL = re.compile(r"^(?:https?://)?(?:www\.)?(?:instagram\.com|instagr\.am)/([^/?#]+)/?(?:[?#].*)?$", re.I)
_INSTAGRAM_USERNAME = re.compile(r"^[a-z0-9._]{1,30}$")
_DIGITS = re.compile(r"^\d{1,64}$")


def normalize_email(value: str) -> str:
    """Return the address trimmed, in Unicode NFC, lower-cased, with its domain in IDNA (ASCII) form.

    Plus-addressing ("anssi+shop@example.com") is kept unless settings.TISKI_EMAIL_STRIP_PLUS is set.
    Raise IdentityInvalidError when VALUE is not an address.
    """
    text = unicodedata.normalize("NFC", value).strip()
    if text[:7].lower() == "mailto:":
        text = text[7:].strip()
    local, at, domain = text.rpartition("@")
    if not (at and local and domain):
        raise IdentityInvalidError(f"{value!r} is not a valid email address")
    local = local.lower()
    if settings.TISKI_EMAIL_STRIP_PLUS and "+" in local.strip('"'):
        local = local.split("+", 1)[0] or local
    domain = domain.lower().removesuffix(".")
    if not domain.isascii() or "xn--" in domain:  # U-labels to A-labels; A-labels checked
        try:
            domain = idna.encode(domain, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise IdentityInvalidError(f"{value!r} is not a valid email address: the domain is not valid") from exc
    address = f"{local}@{domain}"
    if len(address) > MAX_LENGTH:
        raise IdentityInvalidError(f"{value[:40]!r}… is too long for an email address")
    try:
        validate_email(address)
    except ValidationError as exc:
        raise IdentityInvalidError(f"{value!r} is not a valid email address") from exc
    return address


def normalize_phone(value: str, *, region: str | None = None, international: bool = False) -> str:
    """Return the number in E.164 (+358401234567); raise IdentityInvalidError when it is not a number.

    A number without "+" or "00" is read in REGION (settings.TISKI_PHONE_REGION, FI by default): "040 123 4567"
    and "(09) 123 4567" are Finnish. Digits that start with the region's country code but no "+"
    ("358401234567", as SMS gateways send them) are read as international only when the digits are not a
    valid national number but the rest is — so a real Finnish number is never cut. With INTERNATIONAL
    (WhatsApp ids) digits without a leading 0 always include the country code.
    Letters and extensions are refused: a switchboard's extensions must not share one identity.
    """
    text = _SCHEMES.sub("", value.replace("\u00a0", " ").replace("\u202f", " ")).strip()
    if _LETTER.search(text):
        raise IdentityInvalidError(f"{value!r} is not a phone number (it has letters)")
    if international and text.isdigit() and not text.startswith("0"):
        text = "+" + text
    try:
        number = phonenumbers.parse(text, region or settings.TISKI_PHONE_REGION)
    except phonenumbers.NumberParseException as exc:
        raise IdentityInvalidError(f"{value!r} is not a phone number") from exc
    if number.extension:
        raise IdentityInvalidError(f"{value!r} has an extension; give the number without it")
    if not number.national_number or not phonenumbers.is_possible_number(number):
        raise IdentityInvalidError(f"{value!r} is not a possible phone number")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    # Stored numbers are normalised again when matched: one that reads back as another number ("0000000" gave
    # "+358000000", which gave "+35800000") would split one customer in two.
    try:
        again = phonenumbers.format_number(phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        again = ""
    if again != e164:
        raise IdentityInvalidError(f"{value!r} is not a possible phone number")
    return e164


def normalize_instagram(value: str) -> str:
    """Return the Instagram username lower-cased without "@" (or a numeric Instagram-scoped id as is).

    Instagram usernames are case-insensitive: letters, digits, "." and "_", at most 30 characters.
    A profile address (https://instagram.com/name) gives its username.
    """
    text = value.strip()
    url = _INSTAGRAM_URL.match(text)
    if url:
        text = url.group(1)
    text = text.lstrip("@").lower()
    if _INSTAGRAM_USERNAME.match(text) or _DIGITS.match(text):
        return text
    raise IdentityInvalidError(f"{value!r} is not an Instagram username or id")


def normalize_digits_id(value: str, *, network: str) -> str:
    """Return a numeric messaging id (a Messenger page-scoped id) without spaces; refuse anything else."""
    text = re.sub(r"\s+", "", value)
    if not _DIGITS.match(text):
        raise IdentityInvalidError(f"{value!r} is not a {network} id (digits only)")
    return text


def normalize_opaque(value: str, *, kind: str) -> str:
    """Return an id the network gives as is (chat sessions, other networks' handles) trimmed; refuse empties."""
    text = unicodedata.normalize("NFC", value).strip()
    if not text:
        raise IdentityInvalidError(f"an empty {kind} handle")
    if _CONTROL.search(text):
        raise IdentityInvalidError(f"the {kind} handle {value[:40]!r} contains control characters")
    if len(text) > MAX_LENGTH:
        raise IdentityInvalidError(f"the {kind} handle {value[:40]!r}… is too long")
    return text


def identity_kind(kind: str) -> str:
    """Return the kind a handle of KIND is stored under: phone for phone, SMS and WhatsApp numbers."""
    return Identity.Kind.PHONE if kind in PHONE_KINDS else kind


def normalize_handle(kind: str, value: str) -> str:
    """Return VALUE normalised for identity KIND; raise IdentityInvalidError for garbage or an unknown kind."""
    if kind == Identity.Kind.EMAIL:
        return normalize_email(value)
    if kind in PHONE_KINDS:
        return normalize_phone(value, international=kind == Identity.Kind.WHATSAPP)
    if kind == Identity.Kind.INSTAGRAM:
        return normalize_instagram(value)
    if kind == Identity.Kind.MESSENGER:
        return normalize_digits_id(value, network="Messenger")
    if kind in (Identity.Kind.CHAT, Identity.Kind.OTHER):
        return normalize_opaque(value, kind=kind)
    raise IdentityInvalidError(f"{kind!r} is not a kind of identity")


def identity_key(kind: str, value: str) -> tuple[str, str]:
    """Return (kind, value) as the handle is stored and matched: the canonical kind and the normalised value."""
    return identity_kind(kind), normalize_handle(kind, value)


def fold_name(name: str) -> str:
    """Return NAME folded for matching: case-folded, accents stripped, punctuation dropped, words sorted.

    "Mäkinen,  Anssi" and "anssi makinen" fold the same: "anssi makinen".
    """
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    words = re.findall(r"\w+", plain)
    return " ".join(sorted(words))[:200]
