"""WebSocket URL of the customer's chat (served by tiski.asgi, outside the host/origin check of the console)."""

from __future__ import annotations

from typing import Any

from django.urls import path

from tiski.channels.chat.consumers import ChatConsumer

websocket_urlpatterns: list[Any] = [
    path("ws/chat/<int:channel_id>/", ChatConsumer.as_asgi()),
]
