from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SlaConfig(AppConfig):
    """Service levels: business calendars (opening hours, public holidays, special days) and the time they count."""

    name = "tiski.sla"
    label = "sla"
    verbose_name = _("Service levels")
