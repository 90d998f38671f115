from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChatConfig(AppConfig):
    """Live web chat: the widget, its WebSocket and the chat sessions."""

    name = "tiski.channels.chat"
    label = "chat"
    verbose_name = _("Live chat")

    def ready(self) -> None:
        from tiski import events
        from tiski.channels.chat import adapter  # noqa: F401  (registers the adapter)
        from tiski.channels.chat.services import chat_message_received
        from tiski.channels.models import ChannelKind

        # After commit: the customer's message reaches their other tabs and the agents' consoles.
        events.subscribe(
            events.MessageReceived, chat_message_received, when=lambda event: event.channel_kind == ChannelKind.CHAT
        )
