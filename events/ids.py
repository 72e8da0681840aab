"""Event ids: UUIDs of version 7 (RFC 9562), whose first 48 bits are the Unix time in ms.

Every event id is held in a unique index. Random (version 4) ids land on random pages of that
index, so once it outgrows the page cache each append reads and rewrites pages all over it, and
the cost of an append grows with the log. Time-ordered ids land at its right edge, like the
global position does. The remaining 74 bits are random, so ids made in the same millisecond (by
one append or by writers on several machines) still never collide.
"""

from __future__ import annotations

import os
import time
from datetime import datetime


def new_event_ids(count: int, now: datetime | None = None) -> list[str]:
    """Return `count` fresh version-7 UUIDs as lowercase hyphenated text, stamped with `now`."""
    millis = int(now.timestamp() * 1000) if now is not None else time.time_ns() // 1_000_000
    stamp = (millis & 0xFFFF_FFFF_FFFF).to_bytes(6, "big").hex()
    raw = bytearray(os.urandom(10 * count))
    ids = []
    for start in range(0, 10 * count, 10):
        raw[start] = (raw[start] & 0x0F) | 0x70  # version 7
        raw[start + 2] = (raw[start + 2] & 0x3F) | 0x80  # RFC 9562 variant
        r = raw[start:start + 10].hex()
        ids.append(f"{stamp[:8]}-{stamp[8:]}-{r[:4]}-{r[4:8]}-{r[8:]}")
    return ids


def new_event_id(now: datetime | None = None) -> str:
    """Return one fresh event id (see new_event_ids)."""
    return new_event_ids(1, now)[0]
