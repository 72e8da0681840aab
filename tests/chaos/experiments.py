"""The fault experiments, one after another, each followed by the same checks (checks.py)."""

from __future__ import annotations

import math
import random
import socket
import sys
import time
from dataclasses import dataclass, field

from verification.analysis import percentile

from .checks import read_status, tick_coverage, verifiers, ws_caught_up, ws_holdings, ws_totals
from .daemon import LOCK_TTL_SECONDS, TICK_SECONDS, Daemon, Fault, log_lines, read_jsonl

SENT_DISPATCH = ("Sending due task", "agents.dispatch_simulation_ticks")
RESUME_LIMIT = 2 * TICK_SECONDS + 10     # ticks resume this soon after Redis returns
MAX_CATCHUP = 30


@dataclass
class Outcome:
    name: str
    start: float
    end: float = 0.0
    figures: dict = field(default_factory=dict)
    issues: list[str] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.issues

    def line(self) -> str:
        figures = " ".join(f"{k}={_fmt(v)}" for k, v in self.figures.items())
        return f"CHAOS {self.name} ok={str(self.ok).lower()} {figures}"


def _fmt(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, list | tuple):
        return ",".join(_fmt(v) for v in value) or "-"
    return str(value)


class Chaos:
    def __init__(self, daemon: Daemon, *, quick: bool, seed: int) -> None:
        self.daemon = daemon
        self.quick = quick
        self.rng = random.Random(seed)
        self.ws_status = daemon.var / "ws-status.json"
        self.baseline = daemon.var / "baseline.jsonl"
        self.outcomes: list[Outcome] = []
        self.started_at = 0.0

    # --- the whole run -------------------------------------------------------------------

    def start(self) -> None:
        d = self.daemon
        if not d.redis.answers():
            d.redis.start()
        d.start_daphne()
        d.start_worker()
        d.start_planner()
        d.beat = d.start_beat()
        _wait_port(d.port, 60)
        region = d.region()
        self.baseline_loop = d.processes.start("baseline", [
            sys.executable, "-m", "tests.bench.call_at_loop", str(region.epoch.timestamp()),
            str(region.tick_seconds), str(self.baseline)])
        self.clients = d.processes.start("ws-clients", [
            sys.executable, "-m", "tests.chaos.ws_clients", f"ws://127.0.0.1:{d.port}", "world:meadow",
            str(TICK_SECONDS), str(self.ws_status)])
        if not _poll(lambda: d.last_tick() >= 1, 90, 0.5) or not d.wait_on_time(60):
            raise SystemExit("the daemon did not start ticking on time within 150 s")
        self.started_at = time.time()

    def run(self, names: list[str]) -> list[Outcome]:
        for name in names:
            outcome = getattr(self, name)()
            self.outcomes.append(outcome)
            print(outcome.line(), flush=True)
            for issue in outcome.issues:
                print(f"  violation: {issue}", flush=True)
        return self.outcomes

    # --- after each experiment -----------------------------------------------------------

    def finish(self, outcome: Outcome, ws_before: dict) -> Outcome:
        d = self.daemon
        if not d.wait_on_time(150):
            outcome.issues.append("ticks did not get back on time within 150 s")
        outcome.end = time.time()
        outcome.issues += tick_coverage(d)
        issues, seconds = verifiers(d)
        outcome.issues += issues
        head = d.head()
        caught_up, status = ws_caught_up(self.ws_status, head, timeout=60)
        if not caught_up:
            behind = {c["name"]: c["last"] for c in status["clients"].values() if c["last"] < head}
            outcome.issues.append(f"WebSocket clients behind head {head} after 60 s: {behind}")
        outcome.issues += ws_holdings(status)
        totals = ws_totals(status)
        ours = [late for _, late in d.lateness(outcome.start, outcome.end)]
        base = [r["latenessMs"] for r in read_jsonl(self.baseline) if outcome.start <= r["dueAt"] < outcome.end]
        outcome.figures.update({
            "lateness_p50_ms": percentile(ours, 50), "lateness_p99_ms": percentile(ours, 99),
            "baseline_p50_ms": percentile(base, 50), "baseline_p99_ms": percentile(base, 99),
            "ticks": len(ours), "head": head,
            "ws_live": totals["live"] - ws_before["live"],
            "ws_reconnects": "/".join(str(totals[k] - ws_before[k]) for k in ("voluntary", "silent", "closed", "failed")),
            "verify_s": "/".join(str(seconds.get(k, "-")) for k in ("verify_chain", "verify_replay", "rebuild_projections")),
            "seconds": round(outcome.end - outcome.start),
        })
        return outcome

    def ws_snapshot(self) -> dict:
        return ws_totals(read_status(self.ws_status))

    def revive(self, out: Outcome, worker, beat) -> None:
        """Note a worker or beat that exited on its own (it should have reconnected), and start
        another so the run goes on."""
        time.sleep(3)  # a process that is going to crash on the lost connection does so at once
        for name, process in (("worker", worker), ("beat", beat)):
            current = self.daemon.worker if name == "worker" else self.daemon.beat
            if process is current and not process.alive():
                crash = next((line for line in process.log.read_text(errors="replace").splitlines()
                              if "CRITICAL/" in line or "Unrecoverable" in line), "no error logged")
                out.issues.append(f"the {name} exited on its own when Redis went away ({crash[:160]}); "
                                  "a new one was started")
                if name == "worker":
                    self.daemon.start_worker()
                else:
                    self.daemon.beat = self.daemon.start_beat()

    def replace_worker(self, *, pause_in_tick: bool) -> None:
        self.daemon.worker.stop()
        self.daemon.start_worker(pause_in_tick=pause_in_tick)

    # --- the experiments -----------------------------------------------------------------

    def worker_kills(self) -> Outcome:
        """SIGKILL the worker's group 15 times, every other time mid-tick, else at a random moment;
        restart it 1–5 s later and let the world get back on time before the next kill (killing
        the first tick of every new worker would only pile up ticks to skip)."""
        d, out, ws = self.daemon, Outcome("worker_kills", time.time()), self.ws_snapshot()
        self.replace_worker(pause_in_tick=True)
        mid_tick: list[tuple[int, float]] = []
        landed_anyway = 0
        kills = 4 if self.quick else 15
        for i in range(kills):
            worker = d.worker
            if i % 2 == 0:
                seen = d.open_tick(worker) or 0
                tick = _poll(lambda w=worker, s=seen: (t := d.open_tick(w)) is not None and t > s and t, 30, 0.005)
                worker.kill()
                at = time.time()
                if not tick:
                    out.issues.append(f"kill {i + 1}: no tick transaction opened within 30 s")
                elif tick in {t for t, _ in d.completed()}:
                    out.issues.append(f"kill {i + 1}: meant mid-tick, but tick {tick} had committed")
                else:
                    mid_tick.append((tick, at))
            else:
                time.sleep(self.rng.uniform(0.2, 4.5))
                tick = d.open_tick(worker)
                worker.kill()
                at = time.time()
                landed_anyway += bool(tick and tick not in {t for t, _ in d.completed()})
            out.faults.append(Fault(at, "kill"))
            last_at_kill = d.last_tick()
            time.sleep(self.rng.uniform(1, 5))
            d.start_worker(pause_in_tick=True)
            # The new worker has recorded a tick of its own and the world is on time again.
            if not _poll(lambda n=last_at_kill: d.last_tick() > n and d.last_tick() >= d.due_tick() - 1, 90, 0.2):
                out.issues.append(f"kill {i + 1}: ticks not back on time within 90 s of the restart")
        d.wait_on_time(120)
        self.replace_worker(pause_in_tick=False)
        recorded: dict[int, list[float]] = {}
        for tick, at in d.completed():
            recorded.setdefault(tick, []).append(at)
        for tick, killed_at in mid_tick:
            times = recorded.get(tick, [])
            if len(times) != 1 or times[0] <= killed_at:
                out.issues.append(f"tick {tick} killed mid-transaction was recorded {len(times)} times, "
                                  f"not once after the kill")
        out.figures.update({"kills": kills, "mid_tick_asserted": len(mid_tick),
                            "random_landed_mid_tick": landed_anyway})
        return self.finish(out, ws)

    def redis_restarts(self) -> Outcome:
        """Kill Redis (no persistence) 5 times, 5–10 s down each; ticks must resume by themselves."""
        d, out, ws = self.daemon, Outcome("redis_restarts", time.time()), self.ws_snapshot()
        worker, beat = d.worker, d.beat
        resumed: list[float] = []
        back = 0.0
        for i in range(2 if self.quick else 5):
            time.sleep(self.rng.uniform(5, 10))
            d.redis.kill()
            out.faults.append(Fault(time.time(), "redis down"))
            time.sleep(self.rng.uniform(5, 10))
            d.redis.start()
            back = time.time()
            out.faults.append(Fault(back, "redis back"))
            self.revive(out, worker, beat)
            first = _poll(lambda b=back: next((at for _, at in reversed(d.completed()) if at > b), None), 60, 0.2)
            if first is None:
                out.issues.append(f"restart {i + 1}: no tick within 60 s of Redis returning")
            else:
                resumed.append(first - back)
                if first - back > RESUME_LIMIT:
                    out.issues.append(f"restart {i + 1}: ticks resumed {first - back:.1f} s after Redis "
                                      f"returned (limit {RESUME_LIMIT} s)")
        survived = worker is d.worker and beat is d.beat and worker.alive() and beat.alive()
        beat_sends = _poll(lambda: log_lines(d.beat, *SENT_DISPATCH, since=back), 30, 0.5)
        if not beat_sends:
            out.issues.append("beat sent no dispatch after Redis returned")
        # Live delivery: some client receives an event live (after caught_up) once Redis is back.
        live = _poll(lambda: self.ws_snapshot()["lastLiveAt"] > back + 2 * TICK_SECONDS, 30, 0.5)
        out.figures.update({"restarts": len(resumed), "resume_s": [round(r, 1) for r in resumed],
                            "resume_limit_s": RESUME_LIMIT, "worker_beat_same_pids": survived,
                            "ws_live_after_redis": bool(live)})
        if not live:
            out.issues.append("live WebSocket delivery did not resume after Redis returned: clients get "
                              "events only by reconnecting and catching up from the store (the hub "
                              "does not re-subscribe its channel-layer groups); daphne restarted")
            d.daphne.stop()
            d.start_daphne()
            _wait_port(d.port, 60)
        return self.finish(out, ws)

    def two_beats(self) -> Outcome:
        """A second beat for 5 minutes at several phase offsets; then the first dies."""
        d, out, ws = self.daemon, Outcome("two_beats", time.time()), self.ws_snapshot()
        main = d.beat
        offsets = [0.0, 0.5, 1.0, 1.5]
        segment = (40 if self.quick else 300) / len(offsets)
        second_sends = standing = 0
        for offset in offsets:
            now = time.time()
            time.sleep(math.ceil(now / TICK_SECONDS) * TICK_SECONDS + offset - now)
            second = d.start_beat()
            out.faults.append(Fault(time.time(), f"2nd beat +{offset}s"))
            time.sleep(segment)
            second_sends += len(log_lines(second, "Sending due task"))
            standing += bool(log_lines(second, "standing by"))
            second.stop()
        window = (out.start, time.time())
        sent = len(log_lines(main, *SENT_DISPATCH, since=window[0], until=window[1]))
        slots = (window[1] - window[0]) / TICK_SECONDS
        if second_sends:
            out.issues.append(f"the second beat sent {second_sends} tasks while the first held the lock")
        if standing != len(offsets):
            out.issues.append(f"the second beat stood by in {standing} of {len(offsets)} runs")
        # The first dies without releasing the lock: a standby takes over once the lease lapses.
        standby = d.start_beat()
        _poll(lambda: log_lines(standby, "standing by"), 30, 0.2)
        main.kill()
        killed = time.time()
        out.faults.append(Fault(killed, "1st beat SIGKILL"))
        took = _poll(lambda: log_lines(standby, "holds the beat lock"), LOCK_TTL_SECONDS + 30, 0.2)
        d.beat = standby
        if not took:
            out.issues.append(f"no beat took over within {LOCK_TTL_SECONDS + 30} s of the first dying")
        out.figures.update({"offsets_s": offsets, "dispatches_per_slot": round(sent / slots, 3),
                            "second_beat_sends": second_sends,
                            "takeover_s": round(took[0] - killed, 1) if took else "none",
                            "lock_ttl_s": LOCK_TTL_SECONDS})
        return self.finish(out, ws)

    def worker_outage(self) -> Outcome:
        """The worker down for 2 minutes: at most 30 ticks caught up, the rest skipped, no burst."""
        d, out, ws = self.daemon, Outcome("worker_outage", time.time()), self.ws_snapshot()
        last_before = d.last_tick()
        d.worker.kill()
        down = time.time()
        out.faults.append(Fault(down, "worker down"))
        time.sleep(30 if self.quick else 120)
        worker = d.start_worker()
        up = time.time()
        out.faults.append(Fault(up, "worker up"))
        sent_meanwhile = len(log_lines(d.beat, *SENT_DISPATCH, since=down, until=up))
        d.wait_on_time(120)
        ready = _poll(lambda: log_lines(worker, "ready."), 10, 0.2)
        ready_at = ready[0] if ready else up
        # Caught up: the ticks that fell due while no worker ran, recorded once it was back.
        caught = sorted(t for t, at in d.completed() if at >= up and d.due(t) < up)
        skipped = [(a, b) for a, b, at in d.skipped() if at >= up]
        missed = d.due_tick(up) - last_before
        expired = len(log_lines(worker, "Discarding revoked task: agents.dispatch_simulation_ticks["))
        expired_follow = len(log_lines(worker, "Discarding revoked task: verification.follow["))
        burst = len(log_lines(worker, "agents.dispatch_simulation_ticks[", "succeeded",
                              since=ready_at, until=ready_at + 10))
        if len(caught) > MAX_CATCHUP:
            out.issues.append(f"{len(caught)} ticks caught up (at most {MAX_CATCHUP})")
        if missed > MAX_CATCHUP and not skipped:
            out.issues.append(f"{missed} ticks missed, more than {MAX_CATCHUP}, but none recorded skipped")
        if burst > 10 / TICK_SECONDS + 2:
            out.issues.append(f"{burst} dispatches ran in the worker's first 10 s: a burst")
        out.figures.update({"down_s": round(up - down), "missed": missed, "caught_up": len(caught),
                            "skipped": [f"{a}-{b}" for a, b in skipped],
                            "dispatches_sent_while_down": sent_meanwhile, "expired_dispatches": expired,
                            "expired_follows": expired_follow, "dispatches_run_first_10s": burst})
        return self.finish(out, ws)

    def ws_clients(self) -> Outcome:
        """The 20 reconnecting clients and the slow one, over the whole run."""
        out = Outcome("ws_clients", self.started_at)
        head = self.daemon.head()
        caught_up, status = ws_caught_up(self.ws_status, head, timeout=60)
        out.end = time.time()
        if not caught_up:
            out.issues.append(f"WebSocket clients behind head {head} after 60 s")
        out.issues += ws_holdings(status)
        totals = ws_totals(status)
        slow = status["slow"]
        rss = _rss_mb(self.daemon.daphne.popen.pid)
        out.figures.update({
            "clients": len(status["clients"]), "head": head,
            "positions_held": min((c["last"] for c in status["clients"].values()), default=0),
            "duplicates": sum(c["duplicates"] for c in status["clients"].values()) + slow["duplicates"],
            "gaps": sum(len(c["gaps"]) for c in status["clients"].values()) + len(slow["gaps"]),
            "connects": totals["connects"], "reconnects_voluntary": totals["voluntary"],
            "reconnects_silent": totals["silent"], "reconnects_closed": totals["closed"],
            "connect_failures": totals["failed"], "live_events": totals["live"],
            "slow_client_position": slow["last"], "slow_client_connects": slow["connects"],
            "daphne_rss_mb": rss, "seconds": round(out.end - out.start),
        })
        return out


def _poll(probe, timeout: float, interval: float):
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def _wait_port(port: int, timeout: float) -> None:
    def answers() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False
    if not _poll(answers, timeout, 0.2):
        raise SystemExit(f"daphne did not listen on {port} within {timeout} s")


def _rss_mb(pid: int) -> float:
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0
