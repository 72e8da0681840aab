"""`notify(message)`: a note to the agent's owner (their pages) and the admin's inbox."""

from __future__ import annotations

from ...models import Notification
from ..base import Capability, Request, string_arg

MAX_CHARS = 500


class Notify(Capability):
    description = "a message to the agent's owner and the admin inbox (one per request)"

    def perform(self, request: Request) -> dict:
        message = string_arg(request, "message", max_chars=MAX_CHARS)
        # Keyed by the request: a request performed again after a worker died notifies once.
        note, _ = Notification.objects.get_or_create(
            request_id=request.request_id, defaults={"agent_id": request.agent_id, "message": message})
        return {"notificationId": note.id}
