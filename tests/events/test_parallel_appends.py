"""Parallel appends and a tailing reader (DESIGN §2: read_all never misses or repeats an event,
even while writers commit in parallel; docs/parallel-appends.md).

Each round: 4 OS processes record through events.store (own streams, plus three streams they all
share at exact expected versions), while a fifth process tails read_all from the head it found.
The tailer must see every event of the database above that head exactly once, in global
position order, and never a position below one it had already seen. Chains and projections are
checked after every round. On SQLite the writers queue on the one write lock; on PostgreSQL they
run in parallel and commit out of position order, which is what the test is about.
"""

import io
import json
import subprocess
import sys
import threading
from collections import defaultdict

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection, transaction

from events.exceptions import StoreUnavailable
from events.selectors import readable_global_position
from events.store import ANY, NewEvent, head_global_position, read_all, record
from tests.support.databases import REPO, fresh_database, process_env

WORKERS, RECORDS, ROUNDS = 4, 150, 5

TAILER = """
import json, sys, time, django
django.setup()
from events.store import read_all
after, expected = int(sys.argv[1]), int(sys.argv[2])
seen, idle, deadline = [], 0, time.monotonic() + 120
# After the last expected event, half a second more of nothing new; a tailer that skipped some
# never gets there and stops at the deadline.
while idle < 25 and time.monotonic() < deadline:
    page = read_all(after=after, limit=int(sys.argv[3]))
    if page:
        seen.extend((e.global_position, e.stream_id, e.position) for e in page)
        after = page[-1].global_position
        idle = 0
    else:
        idle += 1 if len(seen) >= expected else 0
        time.sleep(0.02)
print(json.dumps(seen))
"""


def _rows(url: str, after: int) -> list[tuple]:
    sql = "SELECT global_position, stream_id, position FROM events_event WHERE global_position > %s " \
          "ORDER BY global_position"
    if url.startswith("sqlite"):
        import sqlite3
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            return list(db.execute(sql.replace("%s", "?"), [after]))
    with psycopg.connect(url) as db:
        return list(db.execute(sql, [after]))


def _run(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=600)


# On PostgreSQL the log is partitioned (docs/partitioning.md); partitions this narrow make the
# writers cross many of them, and make the ones ahead while the others append.
NARROW = {"SELFPLAY_EVENT_PARTITION_SIZE": "500"}


@pytest.fixture(scope="module")
def shared_url(tmp_path_factory, django_db_blocker):
    with django_db_blocker.unblock(), fresh_database(tmp_path_factory.mktemp("parallel"),
                                                      prefix="selfplay_pgpar_e2e", **NARROW) as url:
        yield url


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_a_tailing_reader_sees_every_event_exactly_once_while_four_processes_record(shared_url, round_):
    env = process_env(shared_url, **NARROW)
    start = max([g for g, _, _ in _rows(shared_url, 0)], default=0)
    total = WORKERS * RECORDS
    # Small pages on some rounds: the cursor then resumes mid-flight far more often.
    tailer = subprocess.Popen([sys.executable, "-c", TAILER, str(start), str(total), str(7 if round_ % 2 else 1000)],
                              env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    writers = [subprocess.Popen([sys.executable, "tests/events/recorder.py", str(round_), str(w), str(RECORDS)],
                                env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for w in range(WORKERS)]
    reports = []
    for proc in writers:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        reports.append(json.loads(out))
    out, err = tailer.communicate(timeout=300)
    assert tailer.returncode == 0, err
    seen = [tuple(item) for item in json.loads(out)]

    recorded = _rows(shared_url, start)
    assert [r["errors"] for r in reports] == [0] * WORKERS
    assert sum(1 for _, stream_id, _ in recorded if stream_id.startswith(f"agent:r{round_}-")) == total
    # Exactly once, in order: a late commit below a seen position would be missing here, a
    # repeat would be here twice.
    assert seen == recorded
    positions = defaultdict(list)
    for _, stream_id, position in recorded:
        positions[stream_id].append(position)
    for stream_id, found in positions.items():
        assert found == list(range(found[0], found[0] + len(found))), f"gap or duplicate in {stream_id}"
    assert len(positions[f"agent:r{round_}-shared-0"]) == WORKERS * len(range(0, RECORDS, 12))

    chain = _run(env, "verify_chain", "--no-progress")
    assert chain.returncode == 0, chain.stdout + chain.stderr
    assert "every chain intact" in chain.stdout
    projections = _run(env, "rebuild_projections", "--verify", "--no-progress")
    assert projections.returncode == 0, projections.stdout + projections.stderr
    if not shared_url.startswith("sqlite"):
        listed = _run(env, "event_partitions")
        assert listed.returncode == 0 and " 2 empty partition(s) ahead" in listed.stdout, listed.stdout + listed.stderr
        head = max(g for g, _, _ in _rows(shared_url, 0))
        assert f"events_event_p{(head - 1) // 500 * 500 + 1} " in listed.stdout  # the head's partition


class _InFlight:
    """An append in another thread's transaction, held open until `finish()` commits or rolls it back."""

    def __init__(self, *stream_ids: str, event: NewEvent | None = None) -> None:
        self.stream_ids, self.recorded, self.rollback = stream_ids, [], False
        self.event = event or NewEvent("test.appended", {"n": 1})
        self._reserved, self._release = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        try:
            with transaction.atomic():
                self.recorded.extend(record([(stream_id, [self.event], ANY) for stream_id in self.stream_ids]))
                self._reserved.set()
                self._release.wait(30)
                if self.rollback:
                    transaction.set_rollback(True)
        finally:
            self._reserved.set()
            connection.close()

    def __enter__(self) -> "_InFlight":
        self._thread.start()
        assert self._reserved.wait(30) and self.recorded
        return self

    def finish(self, *, rollback: bool = False) -> None:
        self.rollback = rollback
        self._release.set()
        self._thread.join(30)

    def __exit__(self, *exc) -> None:
        self.finish(rollback=self.rollback)


@pytest.fixture
def parallel_only(settings):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite has one writer: a second append waits for the first to commit")
    # No checkpoints: both appends would announce theirs in the one stream system:checkpoints,
    # and the second would rightly wait for the first.
    settings.SELFPLAY_AFTER_RECORD = []


@pytest.mark.django_db(transaction=True)
def test_an_event_that_commits_late_is_not_passed_by_the_cursor(parallel_only):
    """A position taken first and committed last holds read_all back until it commits."""
    with _InFlight("agent:late") as late:
        early = record([("agent:early", [NewEvent("test.appended", {"n": 2})], ANY)])  # committed
        assert early[0].global_position == late.recorded[0].global_position + 1
        # Not the early event: the late one, below it, is still in flight.
        assert [(e.stream_id, e.global_position) for e in read_all(after=0)] == []
        assert head_global_position() == early[0].global_position
        assert readable_global_position() == late.recorded[0].global_position - 1  # selfplay_status's lag
        late.finish()
    assert [e.id for e in read_all(after=0)] == [late.recorded[0].id, early[0].id]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_append_leaves_its_position_unused_and_the_chain_intact(parallel_only):
    with _InFlight("agent:doomed") as doomed:
        kept = record([("agent:kept", [NewEvent("test.appended", {"n": 2})], ANY)])
        doomed.finish(rollback=True)
    hole = doomed.recorded[0].global_position
    assert kept[0].global_position == hole + 1
    assert [(e.stream_id, e.global_position) for e in read_all(after=0)] == [("agent:kept", hole + 1)]
    assert record([("agent:after", [NewEvent("test.appended", {"n": 3})], ANY)])[0].global_position == hole + 2
    out = io.StringIO()
    call_command("verify_chain", "--no-progress", stdout=out)  # exits 1 on a break
    assert "2 events, every chain intact" in out.getvalue()


def _locks_held_by_others(locktype: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = %s AND pid <> pg_backend_pid() "
                       "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())", [locktype])
        return cursor.fetchone()[0]


def _record_within(seconds: float, items):
    """Record, failing (LockNotAvailable) instead of waiting longer than `seconds` for a lock."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{int(seconds * 1000)}ms'")
        return record(items)


@pytest.mark.django_db(transaction=True)
def test_a_tick_sized_append_locks_rows_not_the_lock_table_and_others_go_on_beside_it(parallel_only):
    """1,000 new streams in flight hold row locks (placeholders) and three advisory locks, not one
    per stream: an append to other streams commits meanwhile, one to a held stream waits."""
    held = [f"agent:big-{n}" for n in range(1000)]
    # Each also folds into the `agents` projection of region north (an unknown agent: a no-op).
    with _InFlight(*held, event=NewEvent("agent.paused", {"agentId": "nobody", "region": "north"})) as big:
        assert _locks_held_by_others("advisory") == 3  # the writers' gate, shared, and its first and last position
        beside = _record_within(10, [(f"agent:beside-{n}", [NewEvent("test.appended", {"n": n})], ANY)
                                     for n in range(1000)])
        with pytest.raises(StoreUnavailable, match="lock timeout"):
            _record_within(0.5, [("agent:big-500", [NewEvent("test.appended", {"n": 2})], ANY)])
        with pytest.raises(StoreUnavailable, match="lock timeout"):  # another stream, the same projection row
            _record_within(0.5, [("agent:elsewhere", [NewEvent("agent.resumed", {"agentId": "nobody",
                                                                                  "region": "north"})], ANY)])
        big.finish()
    assert big.recorded[0].global_position < beside[0].global_position
    assert len(read_all(after=0, limit=5000)) == 2000
    # The placeholders became the heads and rows they locked; none is left at version or position 0.
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM events_stream WHERE version = 0")
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT count(*), count(*) FILTER (WHERE global_position = 0) FROM events_projection "
                       "WHERE name = 'agent_stream'")
        assert cursor.fetchone() == (2000, 0)
        cursor.execute("SELECT global_position FROM events_projection WHERE name = 'agents' AND key = 'north'")
        assert cursor.fetchone()[0] == big.recorded[-1].global_position
    out = io.StringIO()
    call_command("verify_chain", "--no-progress", stdout=out)
    assert "2000 events, every chain intact" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_a_transaction_that_records_twice_around_another_holds_readers_below_its_first(parallel_only):
    """Positions 1 and 3 in one transaction, 2 in another committed between: nothing is handed
    out until 1 commits (a reader that took 2 would skip 1; one stopped at xmin would miss 3)."""
    steps = [threading.Event() for _ in range(4)]
    mine: list = []

    def writer():
        try:
            with transaction.atomic():
                mine.extend(record([("agent:twice-a", [NewEvent("test.appended", {"n": 1})], ANY)]))
                steps[0].set()
                steps[1].wait(30)
                mine.extend(record([("agent:twice-b", [NewEvent("test.appended", {"n": 3})], ANY)]))
                steps[2].set()
                steps[3].wait(30)
        finally:
            for step in steps[::2]:
                step.set()
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert steps[0].wait(30)
        other = record([("agent:between", [NewEvent("test.appended", {"n": 2})], ANY)])
        steps[1].set()
        assert steps[2].wait(30)
        assert [e.global_position for e in (mine[0], *other, mine[1])] == [1, 2, 3]
        assert read_all(after=0) == []
    finally:
        steps[3].set()
        thread.join(30)
    assert [e.global_position for e in read_all(after=0)] == [1, 2, 3]
