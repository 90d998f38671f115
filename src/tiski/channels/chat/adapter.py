"""The chat channel's adapter: an agent's reply is pushed to the customer's open widget at once."""

from __future__ import annotations

from dataclasses import replace

from django.conf import settings

from tiski.cases.models import Message
from tiski.cases.references import case_pk_from_reference
from tiski.channels.chat.models import ChatSession
from tiski.channels.email.outbound import email_send
from tiski.channels.exceptions import DeliveryPermanentError
from tiski.channels.interface import ChannelAdapter, DeliveryResult, OutboundMessage, adapter_register
from tiski.channels.models import ChannelKind
from tiski.customers.models import Identity


@adapter_register
class ChatAdapter(ChannelAdapter):
    """Deliver to the case's chat: the reply is on the case (the widget's history), and pushed to every open
    widget of it. A chat case without a chat session (a callback request) is answered by email when the
    customer has an address."""

    kind = ChannelKind.CHAT
    recipient_kinds = (Identity.Kind.CHAT, Identity.Kind.EMAIL)
    deliver_inline = True  # the outbox attempts delivery right after commit, not at the worker's next poll

    def send(self, *, message: OutboundMessage) -> DeliveryResult:
        """Push the reply to the customer's widget and return its id ("chat-<message id>")."""
        from tiski.channels.chat.services import chat_message_push

        case_id = case_pk_from_reference(message.case_reference) or 0
        session = ChatSession.objects.filter(case_id=case_id).order_by("-created_at", "-pk").first()
        if session is None:
            return self._by_email(message)
        stored = Message.objects.get(pk=message.message_id)
        if session.status == ChatSession.Status.WAITING:
            ChatSession.objects.filter(pk=session.pk, status=ChatSession.Status.WAITING).update(
                status=ChatSession.Status.ACTIVE
            )
        chat_message_push(message=stored)
        return DeliveryResult(external_id=f"chat-{message.message_id}")

    def _by_email(self, message: OutboundMessage) -> DeliveryResult:
        recipients = [address for address in message.recipients if "@" in address]
        if not recipients:
            raise DeliveryPermanentError("the customer is not in a chat and has no email address")
        return email_send(message=replace(message, recipients=recipients), from_address=settings.DEFAULT_FROM_EMAIL)
