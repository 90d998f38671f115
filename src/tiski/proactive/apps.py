from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProactiveConfig(AppConfig):
    """Proactive service: scheduled rules over customers and their records that create outbound work."""

    name = "tiski.proactive"
    label = "proactive"
    verbose_name = _("Proactive service")

    def ready(self) -> None:
        from tiski.proactive.services import proactive_clock
        from tiski.routing.router import clock_register

        clock_register(proactive_clock)
