"""What the event store does differently per database, one module per backend (as Django's own
`django.db.backends` are): the writers' lock, JSON casts, the many-ids strategy and consistent
read snapshots. Nothing outside this package and the migrations (whose DDL stays as it was
written) asks `connection.vendor`.
"""

from __future__ import annotations

from django.db import connection

from .base import StoreBackend
from .postgresql import PostgresBackend
from .sqlite import SQLiteBackend

_BACKENDS: dict[str, StoreBackend] = {"sqlite": SQLiteBackend(), "postgresql": PostgresBackend()}


def backend_for(vendor: str) -> StoreBackend:
    try:
        return _BACKENDS[vendor]
    except KeyError:
        raise RuntimeError(f"Selfplay's event store supports SQLite and PostgreSQL, not {vendor}") from None


def current() -> StoreBackend:
    """Return the backend of the default database connection."""
    return backend_for(connection.vendor)


__all__ = ["StoreBackend", "backend_for", "current"]
