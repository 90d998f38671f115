"""Reads for the Meta channels: the customer-service window, the templates an agent may send, social keywords."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from tiski.cases.models import Case, Message
from tiski.channels.meta.models import SocialKeyword, WhatsAppTemplate
from tiski.channels.models import Channel

SOCIAL_PREFIXES = ("comment:", "mention:", "story_mention:")


def _social() -> Q:
    social = Q()
    for prefix in SOCIAL_PREFIXES:
        social |= Q(external_id__startswith=prefix)
    return social


def case_is_social(*, case: Case) -> bool:
    """Return whether CASE holds a customer's public comment or mention (or story mention)."""
    return Message.objects.filter(_social(), case=case.pk, direction=Message.Direction.IN).exists()


def comment_private_reply_open(*, case: Case, window: timedelta, now: datetime | None = None) -> bool:
    """Return whether CASE holds a customer's comment from within WINDOW that has not been answered privately."""
    since = (now or timezone.now()) - window
    comment = (
        Message.objects.filter(
            case=case.pk, direction=Message.Direction.IN, external_id__startswith="comment:", created_at__gte=since
        )
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if comment is None:
        return False
    return (
        not Message.objects.filter(case=case.pk, direction=Message.Direction.OUT, created_at__gt=comment)
        .exclude(delivery_status=Message.Delivery.FAILED)
        .exists()
    )


def customer_last_wrote_at(*, case: Case) -> datetime | None:
    """Return when CASE's customer last wrote to CASE's channel as a direct message (any of their cases), or None.

    Comments and mentions are public posts, not messages to the company: they open no window.
    """
    last = (
        Message.objects.filter(channel=case.channel_id, direction=Message.Direction.IN, case__customer=case.customer_id)
        .exclude(_social())
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return last


def window_open(*, case: Case, window: timedelta, now: datetime | None = None) -> bool:
    """Return whether CASE's customer wrote to its channel within WINDOW (a free-form reply may be sent)."""
    last = customer_last_wrote_at(case=case)
    return last is not None and (now or timezone.now()) - last <= window


def templates_for_case(*, case: Case) -> QuerySet[WhatsAppTemplate]:
    """Return the approved templates of CASE's WhatsApp channel, by name."""
    return WhatsAppTemplate.objects.filter(channel=case.channel_id, status=WhatsAppTemplate.Status.APPROVED).order_by(
        "name", "language"
    )


def keywords_active() -> list[SocialKeyword]:
    """Return the active social keywords."""
    return list(SocialKeyword.objects.filter(active=True).select_related("category"))


def outbound_sent_before(*, channel: Channel, recipient_value: str, kind: str, before: datetime) -> list[str]:
    """Return the provider ids of CHANNEL's outbound messages to the customer with identity (KIND, RECIPIENT_VALUE)
    sent at or before BEFORE and not yet read: what a read watermark marks read."""
    return [
        external_id
        for external_id in Message.objects.filter(
            channel=channel,
            direction=Message.Direction.OUT,
            case__customer__identities__kind=kind,
            case__customer__identities__value=recipient_value,
            sent_at__lte=before,
            delivery_status__in=[Message.Delivery.SENT, Message.Delivery.DELIVERED],
        )
        .exclude(external_id=None)
        .values_list("external_id", flat=True)
        if external_id
    ]
