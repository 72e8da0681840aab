"""Signed anchors of stream heads: what a database writer cannot recompute without the server key.

A hash chain proves that no event changed unless every later hash was recomputed; someone with
write access to the database can do exactly that. An anchor is an HMAC-SHA256, keyed with the
server's secret key, of (stream, position, hash). The checkpoint manager anchors each stream it
checkpoints, and verify_chain checks every anchor's signature and that the event at its position
still has its hash. Keys in SECRET_KEY_FALLBACKS verify anchors signed before a key rotation.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.crypto import salted_hmac

from . import backends

SALT = "selfplay.anchor"


def _message(stream_id: str, position: int, hash_: str) -> str:
    return f"{stream_id}\n{position}\n{hash_}"


def sign(stream_id: str, position: int, hash_: str, *, key: str | None = None) -> str:
    """Return the signature of a stream's hash at a position."""
    return salted_hmac(SALT, _message(stream_id, position, hash_), secret=key or settings.SECRET_KEY,
                       algorithm="sha256").hexdigest()


def signed(stream_id: str, position: int, hash_: str, signature: str) -> bool:
    """Whether `signature` signs (stream, position, hash) with the current key or a fallback."""
    return any(hmac.compare_digest(sign(stream_id, position, hash_, key=key), signature)
               for key in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS])


def anchor_heads(stream_ids: Iterable[str], *, now: datetime | None = None) -> int:
    """Sign the current head of each stream (inside the caller's transaction); return how many.

    A head already anchored at its position is left as it is.
    """
    stream_ids = sorted(set(stream_ids))
    if not stream_ids:
        return 0
    sql, params = backends.current().values_table(stream_ids)
    moment = connection.ops.adapt_datetimefield_value(now or timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.id, s.version, s.head_hash FROM events_stream s WHERE s.id IN ({sql}) AND s.version > 0 "
            "AND NOT EXISTS (SELECT 1 FROM events_anchor a WHERE a.stream_id = s.id AND a.position = s.version)",
            params)
        rows = [(stream_id, version, head_hash, sign(stream_id, version, head_hash), moment)
                for stream_id, version, head_hash in cursor.fetchall()]
        cursor.executemany(
            "INSERT INTO events_anchor (stream_id, position, hash, signature, created_at) VALUES (%s, %s, %s, %s, %s)",
            rows)
    return len(rows)
