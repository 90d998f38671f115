"""WebSocket URLs of the console (served by tiski.asgi)."""

from __future__ import annotations

from typing import Any

websocket_urlpatterns: list[Any] = []
