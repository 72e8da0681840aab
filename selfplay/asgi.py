"""ASGI entry point served by daphne: HTTP through Django, WebSockets through Channels.

The WebSocket handshake checks Origin as Django's CSRF check does (selfplay.web.origin) and
reads the session, so commands sent over the socket act as the logged-in player. Sends to a
socket wait while its transport is full (events.flow): the flow middleware must stay outermost,
where `send` is still daphne's own. Static files (the web client's CSS and ES modules) are
served by Django's static files handler straight from the finders, whatever DEBUG says:
`make run` is daphne alone, with no separate web server in front of it.
"""

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "selfplay.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from events.flow import TransportFlowMiddleware  # noqa: E402
from selfplay.routing import websocket_urlpatterns  # noqa: E402
from selfplay.web.origin import OriginValidator  # noqa: E402
from selfplay.web.static import StaticFiles  # noqa: E402

# Everything imported so far lives as long as the server: keep it out of the cyclic collector's
# full passes, which otherwise stall every socket's delivery while they rescan it.
gc.freeze()

application = TransportFlowMiddleware(ProtocolTypeRouter({
    "http": StaticFiles(django_asgi_app),
    "websocket": OriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
}))
