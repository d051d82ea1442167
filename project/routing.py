"""WebSocket routes of every app (the simulator's handset only when it is enabled); any other
path is refused at the handshake (403), never a 500."""

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.urls import re_path

from payments.live.routing import websocket_urlpatterns as payment_routes

websocket_urlpatterns = list(payment_routes)
if settings.SIMULATOR_ENABLED:
    from simulator.routing import websocket_urlpatterns as simulator_routes

    websocket_urlpatterns += simulator_routes

websocket_urlpatterns.append(re_path(r"", WebsocketDenier.as_asgi()))  # last: nothing else matched
