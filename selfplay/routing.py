"""WebSocket routes (DESIGN §6)."""

from django.urls import path

from events.consumers import StreamConsumer

websocket_urlpatterns = [
    path("stream", StreamConsumer.as_asgi()),
]
