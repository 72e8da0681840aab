"""What a `command` message on `WS /stream` does: the same as `POST /command`, as the session's user.

The socket was authenticated once, at the handshake; a session can end (logout, an expired or
flushed session, a password change) and a user can be deactivated while the socket stays open,
so the session is read again from its store for every command.
"""

from __future__ import annotations

from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.auth.models import AnonymousUser
from django.utils.module_loading import import_string

from agents.api import command_from_body
from agents.commands import submit_command
from selfplay.errors import SelfplayError, error_body


def current_user(scope):
    """Return the user the socket's session belongs to now (AnonymousUser once it has ended)."""
    session_key = getattr(scope.get("session"), "session_key", None)
    if not session_key:
        return AnonymousUser()
    engine = import_string(f"{settings.SESSION_ENGINE}.SessionStore")
    # get_user checks the session's password hash and that the user may still log in (is_active).
    return get_user(SimpleNamespace(session=engine(session_key)))


def handle(scope, body: dict) -> tuple[int, dict]:
    """Run one command from a socket; return (HTTP-like status, answer body)."""
    user = current_user(scope)
    if not user.is_authenticated:
        # A socket has no Authorization header to read: keys and API tokens go to POST /command.
        return 401, error_body("unauthenticated", "Commands on this socket need a logged-in session; "
                                                  "an agent key or API token sends them to POST /command.")
    try:
        command = command_from_body(body)
        return 202, submit_command(principal=user, command=command)
    except SelfplayError as refused:
        return refused.status, refused.body()
