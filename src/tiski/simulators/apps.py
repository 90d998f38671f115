from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SimulatorsConfig(AppConfig):
    """Local stand-ins for the messaging providers (tests, benchmarks and `tiski demo`'s simulator page)."""

    name = "tiski.simulators"
    label = "simulators"
    verbose_name = _("Provider simulators")
