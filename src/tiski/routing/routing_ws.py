"""WebSocket URLs of the console (served by tiski.asgi)."""

from __future__ import annotations

from typing import Any

from django.urls import path

from tiski.routing.consumers import ConsoleConsumer

websocket_urlpatterns: list[Any] = [
    path("ws/console/", ConsoleConsumer.as_asgi()),
]
