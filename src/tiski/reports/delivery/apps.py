from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportDeliveryConfig(AppConfig):
    """Reports delivered out of Tiski: the nightly export of each day's figures to a directory for a BI system,
    and reports mailed to team leads on a schedule. Both run from the router loop's clock."""

    name = "tiski.reports.delivery"
    label = "report_delivery"
    verbose_name = _("Report delivery")

    def ready(self) -> None:
        from tiski.reports.delivery import checks  # noqa: F401  (registers the settings check)
        from tiski.reports.delivery.clock import delivery_clock
        from tiski.routing.router import clock_register

        clock_register(delivery_clock)
