"""WebSocket routes of every app (the simulator's handset only when it is enabled)."""

from django.conf import settings

from payments.live.routing import websocket_urlpatterns as payment_routes

websocket_urlpatterns = list(payment_routes)
if settings.SIMULATOR_ENABLED:
    from simulator.routing import websocket_urlpatterns as simulator_routes

    websocket_urlpatterns += simulator_routes
