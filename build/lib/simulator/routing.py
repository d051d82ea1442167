from django.urls import path

from .handset.consumers import HandsetConsumer
from .live_index import IndexConsumer

websocket_urlpatterns = [
    path("ws/simulator/phone/<str:msisdn>/", HandsetConsumer.as_asgi()),
    path("ws/simulator/pushes/", IndexConsumer.as_asgi()),
]
