from django.urls import path

from .consumers import PaymentStatusConsumer

websocket_urlpatterns = [
    path("ws/payments/<uuid:public_id>/", PaymentStatusConsumer.as_asgi()),
]
