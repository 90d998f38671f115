from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AutomationConfig(AppConfig):
    """Automation rules: when an event happens and conditions hold, actions run on the case."""

    name = "tiski.automation"
    label = "automation"
    verbose_name = _("Automation")

    def ready(self) -> None:
        from tiski.automation import subscribers
        from tiski.automation.services import rules_time_run
        from tiski.routing.router import clock_register

        subscribers.connect()
        clock_register(rules_time_run)
