"""The providers of `tiski demo`: a Twilio and a Meta simulator in the demo's own process, wired to its channels.

`tiski demo` cannot reach Twilio or Meta, and the demo's customers are invented: the simulators take the replies
Tiski sends (and answer with delivery and read reports, as the providers do), and the simulator page
(/simulator/) lets anyone write to the demo company as a customer by SMS, WhatsApp, Messenger or Instagram —
each message a signed webhook exactly as the provider would send it.

The ports and secrets are set in the environment before the settings load (tiski.cli), so the worker process,
which sends the replies, points at the same simulators.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.urls import reverse

from tiski.channels.models import Channel, ChannelKind
from tiski.simulators.environment import TWILIO_SID
from tiski.simulators.meta import MetaSimulator
from tiski.simulators.twilio import TwilioSimulator

META_SECRETS = {
    "app_secret": "TISKI_DEMO_META_SECRET",
    "access_token": "TISKI_DEMO_META_TOKEN",
    "verify_token": "TISKI_DEMO_META_VERIFY",
}
MESSAGING = (ChannelKind.SMS, ChannelKind.WHATSAPP, ChannelKind.MESSENGER, ChannelKind.INSTAGRAM)


@dataclass
class Providers:
    twilio: TwilioSimulator
    meta: MetaSimulator

    def stop(self) -> None:
        self.twilio.stop()
        self.meta.stop()


PROVIDERS: Providers | None = None  # the running simulators of this process (the demo's web server)


def webhook_url(channel: Channel) -> str:
    return settings.TISKI_BASE_URL + reverse("channel-webhook", kwargs={"kind": channel.kind, "channel_id": channel.pk})


def providers_start() -> Providers:
    """Start both simulators on the ports the environment names, point the demo's channels at them; return them."""
    global PROVIDERS
    twilio_port = int(settings.TISKI_TWILIO_API_URL.rsplit(":", 1)[1].split("/")[0])
    meta_port = int(settings.TISKI_META_GRAPH_URL.rsplit(":", 1)[1].split("/")[0])
    twilio = TwilioSimulator(
        auth_tokens={TWILIO_SID: os.environ["TISKI_DEMO_TWILIO_TOKEN"]},
        port=twilio_port,
        answer_calls_after=4.0,  # a call placed from the console rings, is answered and ends, as in life
        talk_s=25.0,
    )
    meta = MetaSimulator(
        app_secret=os.environ["TISKI_DEMO_META_SECRET"],
        access_tokens=[os.environ["TISKI_DEMO_META_TOKEN"]],
        port=meta_port,
        callback_delay=1.5,  # the ticks appear one after another in the console, as on a phone
    )
    channels = channels_configure(meta)
    meta.webhooks = {kind: webhook_url(channel) for kind, channel in channels.items() if kind != ChannelKind.SMS}
    twilio.start()
    try:
        meta.start()
    except Exception:
        twilio.stop()
        raise
    PROVIDERS = Providers(twilio=twilio, meta=meta)
    return PROVIDERS


def channels_configure(meta: MetaSimulator) -> dict[str, Channel]:
    """Give the demo's SMS, WhatsApp, Messenger, Instagram and phone channels the simulated accounts' settings
    (each created when the demo data has none); return them by kind."""
    settings_by_kind: dict[str, dict[str, Any]] = {
        ChannelKind.SMS: {
            "account_sid": TWILIO_SID,
            "secrets": {"auth_token": "TISKI_DEMO_TWILIO_TOKEN"},
            "public_url": settings.TISKI_BASE_URL,
        },
        ChannelKind.WHATSAPP: {
            "phone_number_id": meta.phone_number_id,
            "waba_id": meta.waba_id,
            "secrets": META_SECRETS,
        },
        ChannelKind.MESSENGER: {"page_id": meta.page_id, "secrets": META_SECRETS},
        ChannelKind.INSTAGRAM: {"ig_user_id": meta.ig_user_id, "page_id": meta.page_id, "secrets": META_SECRETS},
    }
    settings_by_kind[ChannelKind.PHONE] = {
        "provider": "twilio",
        "account_sid": TWILIO_SID,
        "secrets": {"auth_token": "TISKI_DEMO_TWILIO_TOKEN"},
        "public_url": settings.TISKI_BASE_URL,
        "callback_after_s": 60,
    }
    channels: dict[str, Channel] = {}
    for kind in (*MESSAGING, ChannelKind.PHONE):
        channel = Channel.objects.filter(kind=kind, active=True).order_by("pk").first()
        if channel is None:
            channel = Channel.objects.create(kind=kind, name=f"Demo {kind}")
        config = dict(channel.config or {})
        config.update(settings_by_kind[kind])
        if kind == ChannelKind.SMS:
            config.setdefault("from_number", channel.address or "+358504242420")
        if kind == ChannelKind.PHONE:
            config.setdefault("from_number", channel.address or "+35894242420")
        if config != channel.config:
            channel.config = config
            channel.save(update_fields=["config"])
        channels[kind] = channel
    _templates_ensure(channels[ChannelKind.WHATSAPP])
    return channels


DEMO_TEMPLATES = [  # (name, language, body): approved, as if in WhatsApp Manager
    ("order_update", "fi", "Hei {{1}}! Tilauksesi {{2}} on matkalla. Kysy lisää vastaamalla tähän viestiin."),
    ("order_update", "en", "Hi {{1}}! Your order {{2}} is on its way. Reply to this message to ask more."),
    ("case_follow_up", "fi", "Hei {{1}}, palaamme asiaasi {{2}}. Vastaa tähän viestiin, niin jatketaan."),
]


def _templates_ensure(channel: Channel) -> None:
    """Give the demo's WhatsApp number approved templates, so that a case outside the 24-hour window can be
    answered (the simulator accepts them, as WhatsApp would)."""
    from tiski.channels.meta.models import WhatsAppTemplate

    for name, language, body in DEMO_TEMPLATES:
        WhatsAppTemplate.objects.get_or_create(
            channel=channel,
            name=name,
            language=language,
            defaults={"body": body, "status": WhatsAppTemplate.Status.APPROVED},
        )
