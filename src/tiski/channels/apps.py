from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsConfig(AppConfig):
    name = "tiski.channels"
    label = "tiski_channels"  # "channels" is Django Channels' label
    verbose_name = _("Channels")

    def ready(self) -> None:
        # Adapters register themselves on import; importing them here fills the registry once.
        from tiski import events
        from tiski.channels import email, sms, webform  # noqa: F401
        from tiski.channels.email.tasks import email_acknowledge
        from tiski.channels.models import ChannelKind

        events.subscribe(
            events.MessageReceived,
            email_acknowledge,
            when=lambda event: event.case_created and event.channel_kind == ChannelKind.EMAIL,
        )
