"""When ticks are due, and which of them one dispatch sends (DESIGN §4: ticks fire at their due
moments, `epoch + n × interval`, not on beat's phase). Pure functions of their arguments.

Beat fires the dispatch on the grid of the dispatch interval D (agents/beat.py). A dispatch
near grid moment G sends, with an ETA, every region tick due in [G + D/2, G + 3D/2): half an
interval ahead, so the worker already holds each tick when it falls due, whatever the region's
own epoch and interval. The windows of consecutive dispatches tile time, so every due moment is
sent exactly once; rounding to the nearest grid moment keeps that true for a dispatch that runs
up to D/2 late (one later than that expires, and the next dispatch's first tick catches up).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


def dispatch_window(now: datetime, every: float) -> tuple[datetime, datetime]:
    """Return [start, end) of the due moments the dispatch running at `now` sends."""
    grid = round(now.timestamp() / every) * every
    start = datetime.fromtimestamp(grid + every / 2, tz=UTC)
    return start, start + timedelta(seconds=every)


def due_moments(epoch: datetime, tick_seconds: float, start: datetime, end: datetime) -> list[tuple[int, datetime]]:
    """Return (tick, due moment) of every tick of a region due in [start, end)."""
    # One earlier than the float estimate, in case it rounds up; the `>= start` test decides.
    tick = max(1, math.ceil((start - epoch).total_seconds() / tick_seconds) - 1)
    found = []
    while (due := epoch + timedelta(seconds=tick * tick_seconds)) < end:
        if due >= start:
            found.append((tick, due))
        tick += 1
    return found


def wait_until(moment: datetime, *, clock: Callable[[], datetime], limit: float) -> float:
    """Sleep until `clock()` reaches `moment` (at most `limit` seconds); return the time slept.

    A worker's ETA timer may hand a task over a few milliseconds early; the tick it carries is
    not due until its moment, so it waits the difference out.
    """
    slept = 0.0
    while (remaining := (moment - clock()).total_seconds()) > 0 and slept < limit:
        step = min(remaining, limit - slept)
        time.sleep(step)
        slept += step
    return slept
