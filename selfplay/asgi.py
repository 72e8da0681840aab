"""ASGI entry point served by daphne: HTTP through Django, WebSockets through Channels.

The WebSocket handshake checks Origin against ALLOWED_HOSTS and reads the session, so commands
sent over the socket act as the logged-in player.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "selfplay.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from selfplay.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter({
    "http": django_asgi_app,
    "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
})
