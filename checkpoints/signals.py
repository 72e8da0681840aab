"""What the checkpoint manager tells whoever listens (the continuity tracker) without knowing them.

Both are sent from `/sync` for the client that made the request; `client` is a `Client`.
"""

from dataclasses import dataclass

from django.dispatch import Signal

# A token was used: stream_id, checkpoint_id, token_issued_at (ISO text), client.
token_used = Signal()
# A token named a position its stream has not reached: stream_id, position, head, client.
token_ahead_of_head = Signal()


@dataclass(frozen=True)
class Client:
    """Who asked: the session id it names itself (X-Selfplay-Session), its address, and its actor."""

    session_id: str | None
    address: str
    actor: str | None = None
