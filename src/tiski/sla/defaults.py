"""The calendar and policies a new installation starts with: customers' usual expectations per channel.

Created after every `migrate` or `flush` (post_migrate) when there is no policy at all, so a database emptied by
tests or by hand gets them back, while policies an administrator set up (or removed, leaving one) stay.
"""

from __future__ import annotations

from datetime import time
from typing import Any

from django.conf import settings
from django.db import transaction

from tiski.sla.models import BusinessCalendar, OpeningHours, SlaPolicy

CALENDAR = "Customer service hours (Mon–Fri 8–16)"
POLICIES = [  # name, channels, first response, next response, resolution (business minutes)
    ("Chat and phone", ["chat", "phone"], 2, 2, None),
    ("Messaging", ["sms", "whatsapp", "messenger", "instagram"], 60, 60, None),
    ("Email and web form", ["email", "webform"], 8 * 60, 8 * 60, 5 * 8 * 60),
]


def sla_defaults_ensure(**_kwargs: Any) -> None:
    """Create the default calendar and policies if there is no policy (a post_migrate receiver)."""
    if SlaPolicy.objects.exists():
        return
    with transaction.atomic():
        calendar = BusinessCalendar.objects.filter(is_default=True).first()
        if calendar is None:
            calendar = BusinessCalendar.objects.create(
                name=CALENDAR, time_zone=settings.TIME_ZONE, country="FI", is_default=True
            )
            OpeningHours.objects.bulk_create(
                OpeningHours(calendar=calendar, weekday=day, opens=time(8), closes=time(16)) for day in range(5)
            )
        for position, (name, kinds, first, following, resolution) in enumerate(POLICIES, start=1):
            SlaPolicy.objects.create(
                name=name,
                position=position * 10,
                channel_kinds=kinds,
                first_response_minutes=first,
                next_response_minutes=following,
                resolution_minutes=resolution,
                calendar=calendar,
            )
