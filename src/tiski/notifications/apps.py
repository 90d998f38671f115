from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "tiski.notifications"
    verbose_name = _("Following and notifications")

    def ready(self) -> None:
        from tiski import events
        from tiski.customers.marketing import marketing_subscribe
        from tiski.notifications.selectors import case_is_followed, contact_is_followed
        from tiski.notifications.services import CASE_EVENT_KINDS
        from tiski.notifications.tasks import notifications_case_event, notifications_contact

        # The predicates run in the publishing transaction for every contact and every case change: one
        # indexed EXISTS each, so that no task is queued when nobody follows anything the event touches.
        events.subscribe(
            events.MessageReceived,
            notifications_contact,
            when=lambda event: contact_is_followed(customer_id=event.customer_id, case_id=event.case_id),
        )
        events.subscribe(
            events.CaseEventRecorded,
            notifications_case_event,
            when=lambda event: event.kind in CASE_EVENT_KINDS and case_is_followed(case_id=event.case_id),
        )
        # Marketing suppression follows complaint cases; it is the customer-collaboration part of the
        # customers app and subscribes here with the rest of it (subscribing twice is harmless).
        marketing_subscribe()
