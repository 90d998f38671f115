from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SlaConfig(AppConfig):
    """Service levels: business calendars (opening hours, public holidays, special days) and the time they count."""

    name = "tiski.sla"
    label = "sla"
    verbose_name = _("Service levels")

    def ready(self) -> None:
        from tiski.routing.router import clock_register
        from tiski.sla import subscribers
        from tiski.sla.services import sla_timers_run

        subscribers.connect()
        clock_register(sla_timers_run)
