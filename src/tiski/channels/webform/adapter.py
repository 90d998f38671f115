"""The web-form channel: contacts come from Tiski's own public form, replies go out by email."""

from __future__ import annotations

from django.conf import settings

from tiski.channels.email.outbound import email_send
from tiski.channels.interface import ChannelAdapter, DeliveryResult, OutboundMessage, adapter_register
from tiski.channels.models import ChannelKind
from tiski.customers.models import Identity


@adapter_register
class WebformAdapter(ChannelAdapter):
    kind = ChannelKind.WEBFORM
    recipient_kinds = (Identity.Kind.EMAIL,)

    def send(self, *, message: OutboundMessage) -> DeliveryResult:
        """Reply by email from the form's reply address (the channel's address, else the default sender)."""
        return email_send(message=message, from_address=message.channel.address or settings.DEFAULT_FROM_EMAIL)
