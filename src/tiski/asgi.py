"""ASGI entry point: Django over HTTP, Channels over WebSocket, and the router started with the server.

The lifespan protocol starts the embedded router (tiski.routing.service) when the server starts and stops it
when the server stops; with TISKI_ROUTER=off the web server routes nothing and `tiski router` processes do.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tiski.settings")

from typing import Any

from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.core.asgi import get_asgi_application

django_asgi = get_asgi_application()

from tiski.channels.chat import routing_ws as chat_ws  # noqa: E402
from tiski.core.asgi_limits import BodySizeLimit  # noqa: E402  (after Django is set up)
from tiski.routing import routing_ws  # noqa: E402

CHAT_PREFIX = "/ws/chat/"
# The console's socket: a logged-in agent's browser on Tiski's own host.
console_ws = AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(routing_ws.websocket_urlpatterns)))
# The customer's chat: anonymous, from the company's own site; the consumer checks the Origin against the
# channel's allowed_origins (and Tiski's own host), so it is not behind the host validator.
chat_socket = URLRouter(chat_ws.websocket_urlpatterns)


async def websocket(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Send a socket to the chat or to the console by its path."""
    app = chat_socket if scope.get("path", "").startswith(CHAT_PREFIX) else console_ws
    await app(scope, receive, send)


async def lifespan(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Start the embedded router with the server and stop it with the server."""
    from tiski.routing import service

    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                await service.start()
            except Exception as error:  # the server must not start half-working
                await send({"type": "lifespan.startup.failed", "message": str(error)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await service.stop()
            await send({"type": "lifespan.shutdown.complete"})
            return


application = ProtocolTypeRouter(
    {
        "http": BodySizeLimit(django_asgi),
        "websocket": websocket,
        "lifespan": lifespan,
    }
)
