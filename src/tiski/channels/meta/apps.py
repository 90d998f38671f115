from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MetaConfig(AppConfig):
    """Meta's messaging channels (WhatsApp, Messenger, Instagram), their templates and social monitoring."""

    name = "tiski.channels.meta"
    label = "meta"
    verbose_name = _("Meta messaging")

    def ready(self) -> None:
        # The adapters register themselves on import.
        from tiski.channels.meta import adapters  # noqa: F401
