"""WebSocket routes of every app (the simulator's handset only when it is enabled); the
engine's application refuses any other path at the handshake (403), never a 500."""

from django.conf import settings

from payments.live.routing import websocket_urlpatterns as payment_routes

websocket_urlpatterns = list(payment_routes)
if settings.SIMULATOR_ENABLED:
    from simulator.routing import websocket_urlpatterns as simulator_routes

    websocket_urlpatterns += simulator_routes
