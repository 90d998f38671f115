"""Background work of the customers app."""

from __future__ import annotations

from django_tasks import task

from tiski.customers.matching import suggestions_refresh
from tiski.customers.models import Customer


@task()
def suggestions_refresh_for_contact(
    message_id: int,
    case_id: int,
    case_created: bool,
    channel_kind: str,
    customer_id: int = 0,
    customer_created: bool = False,
) -> int:
    """Suggest who a customer created by a contact probably is (a durable subscriber of MessageReceived);
    return how many suggestions are open."""
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        return 0
    return len(suggestions_refresh(customer=customer))
