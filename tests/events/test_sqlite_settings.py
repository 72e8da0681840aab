"""SQLite must run in WAL mode with IMMEDIATE transactions and a busy timeout."""

import sqlite3

import pytest
from django.db import connection, transaction

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite settings; this run is on another backend"),
]


def test_pragmas_read_back_from_a_live_connection():
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        journal_mode = cursor.fetchone()[0]
        cursor.execute("PRAGMA busy_timeout")
        busy_timeout = cursor.fetchone()[0]
        cursor.execute("PRAGMA synchronous")
        synchronous = cursor.fetchone()[0]
    assert (journal_mode, busy_timeout, synchronous) == ("wal", 30000, 1)
    assert connection.transaction_mode == "IMMEDIATE"


def test_a_transaction_holds_the_write_lock_from_begin():
    """IMMEDIATE: another writer is refused even before this transaction writes anything."""
    with transaction.atomic():
        connection.cursor().execute("SELECT 1")
        other = sqlite3.connect(connection.settings_dict["NAME"], timeout=0)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()
