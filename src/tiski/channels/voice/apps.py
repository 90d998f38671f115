from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VoiceConfig(AppConfig):
    """Phone: call events from a telephony system (Twilio Voice or any PBX/CTI calling the generic webhook)."""

    name = "tiski.channels.voice"
    label = "voice"
    verbose_name = _("Phone")

    def ready(self) -> None:
        from tiski.channels.voice import adapter  # noqa: F401  (registers the adapter)
        from tiski.channels.voice.callbacks import callbacks_due
        from tiski.channels.voice.services import calls_stale_release
        from tiski.routing.router import clock_register

        clock_register(callbacks_due)
        clock_register(calls_stale_release)
