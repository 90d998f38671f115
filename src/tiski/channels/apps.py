from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsConfig(AppConfig):
    name = "tiski.channels"
    label = "tiski_channels"  # "channels" is Django Channels' label
    verbose_name = _("Channels")

    def ready(self) -> None:
        # Adapters register themselves on import; importing them here fills the registry once.
        # (A new case's automatic reply, on every channel, is the service levels': tiski.sla.autoreplies.)
        from tiski.channels import email, sms, webform  # noqa: F401
        from tiski.channels.email import tasks  # noqa: F401  (email_acknowledge: tasks queued before)
