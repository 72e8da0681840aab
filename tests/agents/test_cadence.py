"""Which ticks one dispatch sends, and beat's grid-aligned schedule (pure: no database)."""

from datetime import UTC, datetime, timedelta

import pytest

from agents.beat import AlignedSchedule
from agents.cadence import dispatch_window, due_moments

GRID = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def ms(n: float) -> timedelta:
    return timedelta(milliseconds=n)


def test_a_dispatch_near_a_grid_moment_sends_the_interval_that_starts_half_an_interval_later():
    for late in (ms(0), ms(3), ms(999), ms(-20)):
        assert dispatch_window(GRID + late, 2) == (GRID + ms(1000), GRID + ms(3000))


@pytest.mark.parametrize(("epoch_offset_ms", "tick_seconds"), [(0, 2), (-300, 2), (-1, 1), (-250, 5), (-700, 3)])
def test_consecutive_dispatches_send_every_due_moment_exactly_once(epoch_offset_ms, tick_seconds):
    epoch = GRID + ms(epoch_offset_ms) - timedelta(hours=1)
    sent = []
    for firing in range(60):  # two minutes of dispatches every 2 s, each a little late
        start, end = dispatch_window(GRID + timedelta(seconds=2 * firing) + ms(firing % 7), 2)
        sent += due_moments(epoch, tick_seconds, start, end)
    ticks = [tick for tick, _ in sent]
    assert ticks == list(range(ticks[0], ticks[0] + len(ticks)))
    assert all(due == epoch + timedelta(seconds=tick * tick_seconds) for tick, due in sent)
    assert len(ticks) == 120 // tick_seconds  # the windows tile exactly two minutes


def test_no_tick_zero_or_before_the_epoch():
    assert due_moments(GRID, 2, GRID - timedelta(seconds=10), GRID + timedelta(seconds=3)) == [
        (1, GRID + timedelta(seconds=2))]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_the_aligned_schedule_is_due_on_the_grid_whatever_the_last_run():
    clock = Clock(GRID + ms(1234))
    schedule = AlignedSchedule(timedelta(seconds=2), nowfun=clock)
    # Last ran 1.7 ms after the previous grid moment: not due, next check at the grid moment.
    due, next_in = schedule.is_due(GRID + ms(1.7))
    assert (due, round(next_in, 6)) == (False, 0.766)
    clock.now = GRID + ms(2003)
    due, next_in = schedule.is_due(GRID + ms(1.7))
    assert (due, round(next_in, 6)) == (True, 1.997)
    # Beat wakes up to 20 ms early on purpose: that firing counts for the coming grid moment,
    # and once it ran the same grid moment is not due again.
    clock.now = GRID + ms(3990)
    due, next_in = schedule.is_due(GRID + ms(2003))
    assert (due, round(next_in, 6)) == (True, 2.01)
    clock.now = GRID + ms(4001)
    due, next_in = schedule.is_due(GRID + ms(3990))
    assert (due, round(next_in, 6)) == (False, 1.999)


def test_the_aligned_schedule_does_not_drift():
    clock = Clock(GRID + ms(5))
    schedule = AlignedSchedule(timedelta(seconds=2), nowfun=clock)
    last, fired = GRID - timedelta(seconds=2), []
    for _ in range(1000):
        due, next_in = schedule.is_due(last)
        if due:
            fired.append(clock.now)
            last = clock.now
        # Sleep what it says, then wake 1.7 ms late, as beat does.
        clock.now += timedelta(seconds=next_in) + ms(1.7)
    assert len(fired) == 1000
    assert all(abs((at - GRID).total_seconds() % 2) < 0.01 for at in fired)
