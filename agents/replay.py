"""Replay verification: re-evaluate every recorded tick and compare with what was recorded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from events.store import read_all_for_folds
from selfplay.gc_pause import paused_gc
from selfplay.world.replay import Divergence, TickReplayer

__all__ = ["Divergence", "ReplayReport", "verify_recorded_ticks"]


@dataclass
class ReplayReport:
    ticks: int = 0
    events: int = 0
    divergence: Divergence | None = None


def verify_recorded_ticks(*, progress: Callable[[int], None] | None = None, page: int = 5000) -> ReplayReport:
    """Re-evaluate each `world.tick.completed` from the recorded decisions, in one pass over the log."""
    with paused_gc():  # the replayer's world states live for the whole pass; see selfplay.gc_pause
        return _replay(TickReplayer(), ReplayReport(), progress, page)


def _replay(replayer: TickReplayer, report: ReplayReport, progress, page: int) -> ReplayReport:
    after = 0
    while batch := read_all_for_folds(after=after, limit=page):  # no ids, hashes or times: not read here
        after = batch[-1]["globalPosition"]
        report.events += len(batch)
        for event in batch:
            completed, divergence = replayer.feed(event["streamId"], event["type"], event["data"])
            report.ticks += completed
            if divergence:
                report.divergence = divergence
                return report
        if progress:
            progress(len(batch))
    return report
