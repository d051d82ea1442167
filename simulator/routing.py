from django.urls import path

from .handset.consumers import HandsetConsumer

websocket_urlpatterns = [
    path("ws/simulator/phone/<str:msisdn>/", HandsetConsumer.as_asgi()),
]
