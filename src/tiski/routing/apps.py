from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RoutingConfig(AppConfig):
    name = "tiski.routing"
    label = "routing"
    verbose_name = _("Routing")

    def ready(self) -> None:
        from tiski.routing import signals, subscribers  # noqa: F401  (signals: login/logout set the presence)

        subscribers.connect()
