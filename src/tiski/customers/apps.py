from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "tiski.customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from tiski import events
        from tiski.customers.tasks import suggestions_refresh_for_contact

        # A contact from an unknown handle created a provisional customer: look for who it probably is.
        events.subscribe(
            events.MessageReceived, suggestions_refresh_for_contact, when=lambda event: event.customer_created
        )
