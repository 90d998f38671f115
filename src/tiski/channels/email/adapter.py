"""The email channel's adapter: replies leave from the mailbox the case arrived on."""

from __future__ import annotations

from django.conf import settings

from tiski.channels.email.outbound import email_send
from tiski.channels.interface import ChannelAdapter, DeliveryResult, OutboundMessage, adapter_register
from tiski.channels.models import ChannelKind
from tiski.customers.models import Identity


@adapter_register
class EmailAdapter(ChannelAdapter):
    kind = ChannelKind.EMAIL
    recipient_kinds = (Identity.Kind.EMAIL,)

    def send(self, *, message: OutboundMessage) -> DeliveryResult:
        """Send from the mailbox's own address (the company's relay keeps its brand and passes SPF/DKIM)."""
        return email_send(message=message, from_address=message.channel.address or settings.DEFAULT_FROM_EMAIL)
