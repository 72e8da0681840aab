"""Changing stored events behind the append-only triggers' back, as an attacker or a bad restore would."""


from django.db import connection
from django.utils import timezone

from events.raw import append_batch
from events.store import ANY, NewEvent

SQLITE_TRIGGERS = ["events_event_refuse_update", "events_event_refuse_delete", "events_stream_forward_only"]


def tamper(sql: str, params: list | tuple = ()) -> None:
    """Run a statement on the log past its triggers (the test transaction rolls it all back)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for trigger in SQLITE_TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {trigger}")
            cursor.execute(sql, params)
        else:
            # A superuser can make this session skip ordinary triggers, as a restore tool would.
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(sql, params)
            cursor.execute("SET LOCAL session_replication_role = origin")


def forge_event(stream_id: str, *, position: int, prev_hash: str) -> None:
    """Write an event at `position` with `prev_hash`, as no service would (a gap, a broken link).

    The store's own append writes it (so its SQL lives in one place), then the row is bent past
    the triggers to the position and link asked for; the stream's head follows, as a forger's would,
    so the world can go on appending after it.
    """
    [event] = append_batch([(stream_id, [NewEvent("agent.note.forged", {}, {"actor": "system"})], ANY)],
                           now=timezone.now())
    tamper("UPDATE events_event SET position = %s, prev_hash = %s, hash = %s WHERE global_position = %s",
           [position, prev_hash, "f" * 64, event.global_position])
    tamper("UPDATE events_stream SET version = %s, head_hash = %s WHERE id = %s", [position, "f" * 64, stream_id])
