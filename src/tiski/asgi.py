"""ASGI entry point: Django over HTTP, Channels over WebSocket."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tiski.settings")

from channels.routing import ProtocolTypeRouter
from django.core.asgi import get_asgi_application

django_asgi = get_asgi_application()

from tiski.core.asgi_limits import BodySizeLimit  # noqa: E402  (after Django is set up)

application = ProtocolTypeRouter({"http": BodySizeLimit(django_asgi)})
