"""ASGI entry point of the demo project: the engine's application (payments/asgi.py) around
Django, with the simulator's handset socket when the simulator is enabled."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()  # before importing anything that touches models

from payments.asgi import checkout_application  # noqa: E402
from project.routing import websocket_urlpatterns  # noqa: E402

application = checkout_application(django_asgi_app, websocket_urlpatterns)
