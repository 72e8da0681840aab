"""Replay verification: re-evaluate every recorded tick and compare with what was recorded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from events.store import read_all_for_folds
from selfplay.gc_pause import paused_gc
from selfplay.world.replay import Divergence, TickReplayer

__all__ = ["Divergence", "ReplayReport", "TickReplay", "verify_recorded_ticks"]


@dataclass
class ReplayReport:
    ticks: int = 0
    events: int = 0
    divergence: Divergence | None = None


class TickReplay:
    """Re-evaluation of the recorded ticks, fed the log page by page (read_all_for_folds' shape):
    by its own read (verify_recorded_ticks), or riding on a rebuild's (`observe=feed`)."""

    def __init__(self, progress: Callable[[int], None] | None = None) -> None:
        self.replayer, self.report, self.progress = TickReplayer(), ReplayReport(), progress

    def feed(self, batch: list[dict]) -> None:
        if self.report.divergence:
            return  # the first divergence is the answer; the rest is not looked at
        self.report.events += len(batch)
        for event in batch:
            completed, divergence = self.replayer.feed(event["streamId"], event["type"], event["data"])
            self.report.ticks += completed
            if divergence:
                self.report.divergence = divergence
                return
        if self.progress:
            self.progress(len(batch))


def verify_recorded_ticks(*, progress: Callable[[int], None] | None = None, page: int = 5000) -> ReplayReport:
    """Re-evaluate each `world.tick.completed` from the recorded decisions, in one pass over the log."""
    replay, after = TickReplay(progress), 0
    with paused_gc():  # the replayer's world states live for the whole pass; see selfplay.gc_pause
        while not replay.report.divergence and (batch := read_all_for_folds(after=after, limit=page)):
            replay.feed(batch)  # no ids, hashes or times: not read here
            after = batch[-1]["globalPosition"]
    return replay.report
