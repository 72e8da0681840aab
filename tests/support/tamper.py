"""Changing stored events behind the append-only triggers' back, as an attacker or a bad restore would."""

from django.db import connection


def tamper(sql: str, params: list) -> None:
    """Run an UPDATE on events past the trigger (the test transaction rolls it back)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER events_event_refuse_update")
            cursor.execute(sql, params)
        else:
            # A superuser can make this session skip ordinary triggers, as a restore tool would.
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(sql, params)
            cursor.execute("SET LOCAL session_replication_role = origin")
