"""The calendar, policies and automatic replies a new installation starts with: customers' usual expectations per
channel.

Created after every `migrate` or `flush` (post_migrate) when there is no policy at all, so a database emptied by
tests or by hand gets them back, while policies an administrator set up (or removed, leaving one) stay.
"""

from __future__ import annotations

from datetime import time
from typing import Any

from django.conf import settings
from django.db import transaction

from tiski.sla.models import AutoReply, BusinessCalendar, OpeningHours, SlaPolicy

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


# --- automatic replies ---------------------------------------------------------------------------------------

_MAIL_EN_HELLO = "{% if customer.first_name %}Hello {{ customer.first_name }},{% else %}Hello,{% endif %}\n\n"
_MAIL_FI_HELLO = "{% if customer.first_name %}Hei {{ customer.first_name }},{% else %}Hei,{% endif %}\n\n"
_MAIL_EN_END = (
    "\n\nYour case reference is {{ case.reference }}. To add something, reply to this message and keep the "
    "reference in the subject.\n\nThis is an automatic reply."
)
_MAIL_FI_END = (
    "\n\nAsiasi viite on {{ case.reference }}. Jos haluat lisätä jotain, vastaa tähän viestiin ja säilytä viite "
    "otsikossa.\n\nTämä on automaattinen vastaus."
)
MAIL = {  # language → (in opening hours, outside them)
    "en": (
        _MAIL_EN_HELLO + "Thank you for your message. We have received it and will answer {{ due }}." + _MAIL_EN_END,
        _MAIL_EN_HELLO
        + "Thank you for your message. We have received it. Our customer service is closed right now and opens "
        "{{ opens }}; we will answer {{ due }}." + _MAIL_EN_END,
    ),
    "fi": (
        _MAIL_FI_HELLO + "Kiitos viestistäsi. Olemme vastaanottaneet sen ja vastaamme {{ due }}." + _MAIL_FI_END,
        _MAIL_FI_HELLO
        + "Kiitos viestistäsi. Olemme vastaanottaneet sen. Asiakaspalvelumme on nyt kiinni ja palvelee taas "
        "{{ opens }}; vastaamme {{ due }}." + _MAIL_FI_END,
    ),
}
MESSAGING = {
    "en": (
        "Thanks for your message! We will answer {{ due }}. Your case: {{ case.reference }}",
        "Thanks for your message! We are closed right now and open {{ opens }}; we will answer {{ due }}. "
        "Your case: {{ case.reference }}",
    ),
    "fi": (
        "Kiitos viestistäsi! Vastaamme {{ due }}. Asiasi: {{ case.reference }}",
        "Kiitos viestistäsi! Asiakaspalvelumme on nyt kiinni ja palvelee taas {{ opens }}; vastaamme {{ due }}. "
        "Asiasi: {{ case.reference }}",
    ),
}
CHAT = {
    "en": (
        "Thank you! An agent will answer you {{ due }}.",
        "Thank you! Our customer service is closed right now and opens {{ opens }}. We will answer you {{ due }}.",
    ),
    "fi": (
        "Kiitos! Asiakaspalvelijamme vastaa sinulle {{ due }}.",
        "Kiitos! Asiakaspalvelumme on nyt kiinni ja palvelee taas {{ opens }}. Vastaamme sinulle {{ due }}.",
    ),
}
AUTOREPLIES = {
    "email": MAIL,
    "webform": MAIL,
    "chat": CHAT,
    "sms": MESSAGING,
    "whatsapp": MESSAGING,
    "messenger": MESSAGING,
    "instagram": MESSAGING,
}


def autoreplies_ensure(**_kwargs: Any) -> None:
    """Create the automatic replies of every written channel in English and Finnish if there is none at all (a
    post_migrate receiver), so replies an administrator changed or removed stay as they are."""
    if AutoReply.objects.exists():
        return
    AutoReply.objects.bulk_create(
        AutoReply(channel_kind=kind, language=language, text_open=texts[0], text_closed=texts[1])
        for kind, by_language in AUTOREPLIES.items()
        for language, texts in by_language.items()
    )
