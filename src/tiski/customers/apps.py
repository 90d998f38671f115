from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "tiski.customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from tiski import events
        from tiski.customers.defaults import defaults_ensure

        # After `migrate`, and after a test's flush emptied the tables, the default rules are there again.
        post_migrate.connect(defaults_ensure, sender=self, dispatch_uid="tiski.customers.defaults")
        from tiski.customers.tasks import suggestions_refresh_for_contact

        # A contact from an unknown handle created a provisional customer: look for who it probably is.
        events.subscribe(
            events.MessageReceived, suggestions_refresh_for_contact, when=lambda event: event.customer_created
        )
