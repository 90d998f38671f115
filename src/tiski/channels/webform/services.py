"""The web form's own rules: which form is asked for, who may submit how often, and how a contact is filed.

Every case is created by the shared inbound pipeline (tiski.channels.services.message_receive); this
module only turns a valid submission into an InboundMessage and guards the public endpoint.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.core import signing

from tiski.cases.models import Category, Message
from tiski.channels.interface import InboundAttachment, InboundMessage, Threading
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.services import Receipt, message_receive
from tiski.core.ratelimit import RateDecision, rate_hit
from tiski.customers.models import Identity
from tiski.customers.services import Handle

logger = logging.getLogger(__name__)

FORM_TOKEN_SALT = "tiski.webform.form"  # noqa: S105  (a signing namespace, not a secret)
FORM_TOKEN_MAX_AGE_S = 24 * 3600
RECEIPT_SALT = "tiski.webform.receipt"
RECEIPT_MAX_AGE_S = 14 * 24 * 3600
SUBJECT_WORDS_CHARS = 60


def company_name() -> str:
    """Return the company name shown on the public form (TISKI_COMPANY_NAME, default "Tiski")."""
    return os.environ.get("TISKI_COMPANY_NAME", "").strip() or "Tiski"


def webform_channel_get(*, channel_id: int | None = None) -> Channel | None:
    """Return the active web-form channel CHANNEL_ID, or the first active one when no id is given."""
    channels = Channel.objects.filter(kind=ChannelKind.WEBFORM, active=True).order_by("pk")
    if channel_id is not None:
        return channels.filter(pk=channel_id).first()
    return channels.first()


def public_categories() -> list[Category]:
    """Return the topics offered on the form, in their configured order."""
    return list(Category.objects.filter(public=True).order_by("position", "name"))


# Form tokens: one per rendered form, signed so that it cannot be forged and expires after a day. The
# token becomes the message's external id, so sending the same rendered form twice stores one message.


def form_token_issue() -> str:
    """Return a fresh signed token for one rendering of the form."""
    return signing.TimestampSigner(salt=FORM_TOKEN_SALT).sign(uuid.uuid4().hex)


def form_token_check(token: str) -> str | None:
    """Return the id inside TOKEN, or None when it is forged, malformed or older than a day."""
    try:
        value = signing.TimestampSigner(salt=FORM_TOKEN_SALT).unsign(token, max_age=FORM_TOKEN_MAX_AGE_S)
    except signing.BadSignature:
        return None
    try:
        return uuid.UUID(hex=value).hex
    except ValueError:
        return None


# Receipts: the confirmation page's URL carries a signed message id, never a guessable case number.


def receipt_token(*, message_id: int | None) -> str:
    """Return the signed token of the confirmation page for MESSAGE_ID (None: a page without a reference)."""
    return signing.dumps({"m": message_id}, salt=RECEIPT_SALT, compress=True)


@dataclass(frozen=True)
class ReceiptView:
    """What the confirmation page shows."""

    reference: str
    email: str
    topic: str
    body_text: str
    attachment_names: Sequence[str]


def receipt_get(*, token: str, language: str) -> ReceiptView | None:
    """Return the confirmation of TOKEN; None for a page without reference.

    Raise signing.BadSignature when the token is forged, tampered with or too old.
    """
    data = signing.loads(token, salt=RECEIPT_SALT, max_age=RECEIPT_MAX_AGE_S)
    if not isinstance(data, dict) or "m" not in data:
        raise signing.BadSignature("malformed receipt token")
    if data["m"] is None:
        return None
    message = (
        Message.objects.select_related("case__category", "identity")
        .prefetch_related("attachments")
        .filter(pk=data["m"], direction=Message.Direction.IN)
        .first()
    )
    if message is None:
        raise signing.BadSignature("the message of this receipt is gone")
    email = message.case.customer.identities.filter(kind=Identity.Kind.EMAIL).values_list("value", flat=True).first()
    if message.identity is not None and message.identity.kind == Identity.Kind.EMAIL:
        email = message.identity.value
    category = message.case.category
    return ReceiptView(
        reference=message.case.reference,
        email=email or "",
        topic=category.label(language) if category else "",
        body_text=message.body_text,
        attachment_names=[attachment.filename for attachment in message.attachments.all()],
    )


# Rate limit: the public endpoints' one mechanism (tiski.core.ratelimit), rate "webform" per client address.


def rate_limit_hit(*, ip: str) -> RateDecision:
    """Count one submission from IP; return whether it is within the rate TISKI_RATE_WEBFORM."""
    return rate_hit(name="webform", key=ip)


# Filing a contact.


@dataclass(frozen=True)
class Submission:
    """A validated form submission."""

    name: str
    email: str
    phone: str
    category: Category | None
    message: str
    attachments: Sequence[InboundAttachment]
    token: str
    language: str


def subject_for(*, topic: str, text: str) -> str:
    """Return "Topic: first words of the message…"."""
    words = " ".join(text.split())
    if len(words) > SUBJECT_WORDS_CHARS:
        cut = words[:SUBJECT_WORDS_CHARS].rsplit(" ", 1)[0] or words[:SUBJECT_WORDS_CHARS]
        words = cut.rstrip(" ,.;:") + "…"
    return f"{topic}: {words}" if topic and words else topic or words


def webform_submit(*, channel: Channel, submission: Submission) -> Receipt:
    """File SUBMISSION through the inbound pipeline on CHANNEL; the same form token is stored once."""
    handles = [Handle(Identity.Kind.EMAIL, submission.email)]
    if submission.phone:
        handles.append(Handle(Identity.Kind.PHONE, submission.phone))
    topic = submission.category.label(submission.language) if submission.category else ""
    inbound = InboundMessage(
        channel=channel,
        handles=handles,
        body_text=submission.message,
        external_id=f"webform:{submission.token}",
        sender_name=submission.name,
        subject=subject_for(topic=topic, text=submission.message),
        attachments=tuple(submission.attachments),
        language=submission.language,
        category_id=submission.category.pk if submission.category else None,
        threading=Threading.NEW_CASE,
    )
    receipt = message_receive(inbound=inbound)
    logger.info(
        "web form %s: %s %s (message %s)",
        channel.pk,
        "duplicate submission of" if receipt.duplicate else "filed",
        receipt.case.reference,
        receipt.message.pk,
    )
    return receipt
