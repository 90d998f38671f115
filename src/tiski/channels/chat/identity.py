"""Shop-signed identity tokens: a shop's logged-in customer lands on the right customer without questions.

The shop's server builds the token and prints it into its page (``data-identity-token`` on the widget's script
tag, or ``window.TiskiChat = {identityToken: …}``)::

    payload = base64url(JSON {"email": "anssi@example.com", "name": "Anssi", "external_id": "42", "exp": 1767225600})
    token   = payload + "." + hex(HMAC-SHA256(secret, payload as ASCII))

base64url is without padding; ``exp`` (Unix seconds, required) should be a few minutes to hours ahead; ``name``
and ``external_id`` (the shop's own customer number) are optional. The secret is the value of the environment
variable the chat channel names in its settings: ``{"secrets": {"identity_secret": "TISKI_CHAT_SHOP_SECRET"}}``.

Python, for the shop::

    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    token = payload + "." + hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from tiski.channels.chat.exceptions import ChatIdentityExpiredError, ChatIdentityInvalidError
from tiski.channels.exceptions import ChannelConfigError
from tiski.channels.models import Channel
from tiski.channels.secrets import channel_secret

MAX_TOKEN_LENGTH = 4096
CLOCK_SKEW_S = 60  # a shop's clock a minute ahead still works


@dataclass(frozen=True)
class ShopIdentity:
    email: str
    name: str = ""
    external_id: str = ""


def identity_token_sign(*, secret: str, email: str, name: str = "", external_id: str = "", exp: int) -> str:
    """Return a token for EMAIL signed with SECRET, valid until EXP (Unix seconds): what a shop does."""
    claims: dict[str, str | int] = {"email": email, "exp": exp}
    if name:
        claims["name"] = name
    if external_id:
        claims["external_id"] = external_id
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return payload + "." + hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def identity_token_verify(*, channel: Channel, token: str, now: float | None = None) -> ShopIdentity:
    """Return who the shop says TOKEN is for; raise ChatIdentityInvalidError (forged, malformed, or the channel
    has no secret) or ChatIdentityExpiredError."""
    if not token or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 1:
        raise ChatIdentityInvalidError("The sign-in token from the shop is malformed.")
    try:
        secret = channel_secret(channel, "identity_secret")
    except ChannelConfigError:
        raise ChatIdentityInvalidError("This chat does not accept sign-in tokens from the shop.") from None
    payload, signature = token.split(".")
    expected = hmac.new(secret.encode(), payload.encode("ascii", "replace"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature.lower()):
        raise ChatIdentityInvalidError("The sign-in token from the shop has an invalid signature.")
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError):
        raise ChatIdentityInvalidError("The sign-in token from the shop cannot be read.") from None
    if not isinstance(claims, dict) or not isinstance(claims.get("email"), str) or not claims["email"].strip():
        raise ChatIdentityInvalidError("The sign-in token from the shop names no email address.")
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise ChatIdentityInvalidError("The sign-in token from the shop has no expiry.")
    if exp + CLOCK_SKEW_S < (time.time() if now is None else now):
        raise ChatIdentityExpiredError("The sign-in token from the shop has expired; reload the page.")
    return ShopIdentity(
        email=claims["email"].strip(),
        name=str(claims.get("name") or "").strip()[:200],
        external_id=str(claims.get("external_id") or "").strip()[:100],
    )
