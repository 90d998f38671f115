"""WSGI entry point (for servers without WebSocket support)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tiski.settings")

application = get_wsgi_application()
