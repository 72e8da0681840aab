"""The pure signal maths and cadence detectors (no database)."""

from datetime import UTC, datetime, timedelta

from verification.analysis import Analyzer, percentile, score_window

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def entry(t, d=1, own=True, attr=True, rsn=None):
    return {"t": t, "d": d, "own": own, "attr": attr, "rsn": rsn}


def test_a_clean_window_is_verified():
    signals = score_window([entry(t) for t in range(20)], flagged=False)
    assert signals == {"agency": 1.0, "continuity": 1.0, "accountability": 1.0, "score": 1.0,
                       "status": "verified", "window": 20}


def test_overrides_discount_agency_and_unreasoned_ones_accountability():
    window = [entry(t) for t in range(16)] + [entry(t, own=False, rsn=False) for t in range(16, 20)]
    signals = score_window(window, flagged=False)
    assert signals["agency"] == 0.8
    assert signals["accountability"] == 0.0  # every override in the window lacked a reason
    assert signals["score"] == round(0.8 * 0.3 + 1.0 * 0.4 + 0.0 * 0.3, 4)
    assert signals["status"] == "provisional"


def test_missing_and_double_decisions_hurt_continuity_and_flags_make_suspect():
    window = [entry(t) for t in range(8)] + [entry(8, d=0, own=False), entry(9, d=2)]
    assert score_window(window, flagged=False)["continuity"] == 0.8
    assert score_window(window, flagged=True)["status"] == "suspect"
    assert score_window([entry(t) for t in range(5)], flagged=False)["status"] == "provisional"


def test_percentile_by_nearest_rank():
    assert percentile([], 99) == 0.0
    assert percentile([5, 1, 3, 2, 4], 50) == 3
    assert percentile(list(range(1, 101)), 99) == 99


def region_events(latenesses_ms, *, interval=2):
    events = [{"streamId": "world:r", "position": 1, "type": "world.created", "prevHash": "", "hash": "h1",
               "metadata": {}, "recordedAt": EPOCH.isoformat(),
               "data": {"region": "r", "seed": 1, "width": 8, "height": 8, "rulesVersion": 1,
                        "tiles": {"terrain": "." * 64, "amounts": [0] * 64},
                        "epoch": EPOCH.isoformat(), "tickSeconds": interval}}]
    for tick, late in enumerate(latenesses_ms, start=1):
        at = EPOCH + timedelta(seconds=tick * interval, milliseconds=late)
        events.append({"streamId": "world:r", "position": tick + 1, "type": "world.tick.completed",
                       "prevHash": f"h{tick}", "hash": f"h{tick + 1}", "metadata": {},
                       "recordedAt": at.isoformat().replace("+00:00", "Z"),
                       "data": {"tick": tick, "checksum": "", "agents": 0, "durationMs": 1}})
    return events


def test_cadence_jitter_is_flagged_once_when_p99_lateness_passes_half_the_interval():
    def cadence_flags(latenesses):
        # These synthetic ticks carry no real checksum; only the cadence detectors matter here.
        return [f for f in Analyzer().feed(region_events(latenesses)).flags
                if f["kind"] in ("cadence_jitter", "missed_ticks")]

    assert cadence_flags([20] * 12) == []
    # Steady lateness under an interval is not jitter (a slow tick, say), however large.
    assert cadence_flags([1400, 1390, 1410] * 5) == []
    jittery = cadence_flags([20] * 9 + [1500, 1400, 1300])
    assert [(f["kind"], f["subject"], f["details"]["tick"]) for f in jittery] == [("cadence_jitter", "world:r", 10)]


def test_a_tick_a_whole_interval_late_is_one_missed_ticks_incident():
    findings = Analyzer().feed(region_events([10, 10, 9000, 7000, 5000, 3000, 10, 10]))
    missed = [f for f in findings.flags if f["kind"] == "missed_ticks"]
    assert [(f["details"]["tick"], f["details"]["caughtUp"]) for f in missed] == [(3, True)]


def test_ticks_steadily_an_interval_late_are_missed_not_normal():
    # Every tick recorded after its successor was due: the schedule is behind, however steady.
    findings = Analyzer().feed(region_events([2500, 2510, 2490, 2500, 2505]))
    missed = [f for f in findings.flags if f["kind"] == "missed_ticks"]
    assert [(f["details"]["tick"], f["details"]["latenessMs"]) for f in missed] == [(1, 2500)]
