from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    """Customer-satisfaction surveys (CSAT and NPS) after a case is solved."""

    name = "tiski.surveys"
    label = "surveys"
    verbose_name = _("Surveys")

    def ready(self) -> None:
        from tiski.routing.router import clock_register
        from tiski.surveys import subscribers
        from tiski.surveys.services import surveys_clock

        subscribers.connect()
        clock_register(surveys_clock)
