"""ASGI entry point served by daphne: HTTP through Django, WebSockets through Channels.

The WebSocket handshake checks Origin against ALLOWED_HOSTS and reads the session, so commands
sent over the socket act as the logged-in player. Static files (the web client's CSS and ES
modules) are served by Django's ASGIStaticFilesHandler straight from the finders, whatever DEBUG
says: `make run` is daphne alone, with no separate web server in front of it.
"""

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "selfplay.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from selfplay.routing import websocket_urlpatterns  # noqa: E402

# Everything imported so far lives as long as the server: keep it out of the cyclic collector's
# full passes, which otherwise stall every socket's delivery while they rescan it.
gc.freeze()

application = ProtocolTypeRouter({
    "http": ASGIStaticFilesHandler(django_asgi_app),
    "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
})
