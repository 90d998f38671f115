"""Two-factor authentication: a TOTP authenticator app (django-otp) and ten one-time backup codes.

A user has two-factor on once a TOTP device is confirmed with a code from the app. Backup codes are a
static device of single-use tokens; each is consumed when used.
"""

from __future__ import annotations

import segno
from django.contrib.auth.models import User
from django.db import transaction
from django_otp import match_token
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

BACKUP_CODE_COUNT = 10
_DEVICE_NAME = "Authenticator app"
_BACKUP_NAME = "Backup codes"


def two_factor_enabled(*, user: User) -> bool:
    """Return whether USER has a confirmed authenticator app."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def backup_codes_left(*, user: User) -> int:
    """Return how many unused backup codes USER has."""
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def totp_device_pending(*, user: User) -> TOTPDevice:
    """Return USER's unconfirmed authenticator device, creating one with a new secret if there is none."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=_DEVICE_NAME, confirmed=False)
    return device


def totp_qr_svg(*, device: TOTPDevice) -> str:
    """Return the device's otpauth:// link as an inline SVG QR code (no external service sees the secret)."""
    svg: str = segno.make(device.config_url, error="m").svg_inline(scale=5, border=2, dark="#101828")
    return svg


def totp_secret_text(*, device: TOTPDevice) -> str:
    """Return the device's secret in base32, in groups of four, for typing into an app by hand."""
    from base64 import b32encode

    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@transaction.atomic
def totp_confirm(*, user: User, token: str) -> list[str] | None:
    """Confirm USER's pending authenticator with TOKEN; return new backup codes, or None if the code is wrong."""
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None or not device.verify_token(_clean(token)):
        return None
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return backup_codes_regenerate(user=user)


@transaction.atomic
def backup_codes_regenerate(*, user: User) -> list[str]:
    """Replace USER's backup codes with BACKUP_CODE_COUNT new ones and return them (shown once)."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=_BACKUP_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


@transaction.atomic
def two_factor_disable(*, user: User) -> None:
    """Remove USER's authenticator app and backup codes."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


def two_factor_verify(*, user: User, token: str) -> Device | None:
    """Return the device that accepts TOKEN (an app code or an unused backup code, then spent), or None."""
    token = _clean(token)
    if not token or not two_factor_enabled(user=user):
        return None
    device: Device | None = match_token(user, token)
    return device


def _clean(token: str) -> str:
    return "".join(token.split()).replace("-", "").lower()[:32]
