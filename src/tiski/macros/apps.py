from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MacrosConfig(AppConfig):
    """Macros: named sequences of actions that agents apply to one case or to many at once."""

    name = "tiski.macros"
    label = "macros"
    verbose_name = _("Macros")
