"""ASGI entry point: Django over HTTP, Channels over WebSocket."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tiski.settings")

from channels.routing import ProtocolTypeRouter
from django.core.asgi import get_asgi_application

django_asgi = get_asgi_application()

application = ProtocolTypeRouter({"http": django_asgi})
