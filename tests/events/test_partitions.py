"""The event log in partitions on PostgreSQL (migration 0007, events.partitions, docs/partitioning.md).

The suite's own database is partitioned (PostgreSQL runs every other test on it too). Here,
narrow partitions of a few dozen positions make appends cross many of them: reads, chains,
projections, ids and the positions of a stream must come out as on one table.
"""

import io
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from events import partitions
from events.chain import verify_chains
from events.selectors import read_stream, stream_heads
from events.store import (
    ANY,
    EventIdConflict,
    NewEvent,
    StoreUnavailable,
    new_event_id,
    read_all,
    record,
)
from selfplay.web.overview import warnings_of
from tests.support.databases import REPO, fresh_database, process_env


@pytest.fixture
def on_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("only PostgreSQL partitions the log; SQLite's is one table (tested below)")


def _drop_all_partitions() -> None:
    with connection.cursor() as cursor:
        for p in partitions.partitions():
            cursor.execute(f"DROP TABLE {p.name}")


@pytest.fixture
def narrow(on_postgres, transactional_db, settings):
    """The (empty) log laid out again in partitions of 50 positions, one kept ahead."""
    settings.SELFPLAY_EVENT_PARTITION_SIZE, settings.SELFPLAY_EVENT_PARTITIONS_AHEAD = 50, 1
    assert not list(read_all())
    _drop_all_partitions()
    assert partitions.ensure() == ["events_event_p1"]
    yield
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE events_event")  # and, by its trigger, the ids (the flush does the rest)
    _drop_all_partitions()
    settings.SELFPLAY_EVENT_PARTITION_SIZE, settings.SELFPLAY_EVENT_PARTITIONS_AHEAD = 10_000_000, 2
    partitions.ensure()


def _event(n: int, **extra) -> NewEvent:
    return NewEvent("test.appended", {"n": n}, **extra)


def test_the_suites_log_is_partitioned_with_empty_partitions_ahead(on_postgres, db):
    assert partitions.partitioned()
    found = partitions.partitions()
    assert [p.first for p in found] == [1 + i * 10_000_000 for i in range(len(found))]
    assert all(p.end == p.first + 10_000_000 for p in found)
    head = max((e.global_position for e in read_all()), default=0)
    assert sum(1 for p in found if p.first > head) >= 2
    out = io.StringIO()
    call_command("event_partitions", stdout=out)
    assert "events_event_p1 " in out.getvalue() and "empty partition(s) ahead" in out.getvalue()


def test_appends_across_many_partitions_read_verify_and_rebuild_as_on_one_table(narrow):
    streams = [f"agent:p{i}" for i in range(12)]
    for round_ in range(25):
        # A few appends of several streams each, so that some cross a partition's end.
        record([(stream_id, [_event(round_), _event(round_)], ANY) for stream_id in streams[round_ % 3::3]])
    found = partitions.partitions()
    everything = list(read_all())
    total = len(everything)
    assert total >= 25 * 4 * 2  # and the checkpoints the store announced
    # Every append made the partitions after it: the log spans many, one still empty ahead.
    assert [p.first for p in found] == [1 + 50 * i for i in range(len(found))]
    assert found[-2].first <= total < found[-1].first
    assert [e.global_position for e in everything] == list(range(1, total + 1))
    assert [e.global_position for e in read_all(after=140, limit=30)] == list(range(141, 171))
    for stream_id in streams:
        events = read_stream(stream_id)
        assert [e.position for e in events] == list(range(1, len(events) + 1)) and len(events) > 10
        assert len({e.global_position // 50 for e in events}) > 2  # the stream spans partitions
    assert stream_heads(streams[:2]) == {s: (len(read_stream(s)), read_stream(s)[-1].global_position)
                                         for s in streams[:2]}
    report = verify_chains()
    assert report.intact and report.events == total
    out = io.StringIO()
    call_command("rebuild_projections", "--verify", "--no-progress", stdout=out)  # exits 1 on a mismatch
    assert "ok" in out.getvalue().lower()


def test_an_event_id_is_unique_across_partitions(narrow):
    taken = new_event_id()
    record([("agent:first", [_event(0, id=taken)], ANY)])
    for n in range(60):
        record([("agent:filler", [_event(n)], ANY)])
    assert len(partitions.partitions()) >= 2
    # fresh_ids skips the store's own lookup: the table of ids refuses it still.
    with pytest.raises(EventIdConflict):
        record([("agent:second", [_event(1, id=taken)], ANY)], fresh_ids=True)
    with pytest.raises(EventIdConflict):
        record([("agent:second", [_event(1, id=taken)], ANY)])
    assert [e.stream_id for e in read_all() if e.id == taken] == ["agent:first"]


def test_a_second_row_at_a_taken_stream_position_is_refused_by_its_partition(narrow):
    record([("agent:a", [_event(0)], ANY)])
    before = list(read_all())
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO events_event (global_position, event_id, stream_id, position, type, data, metadata, "
            "recorded_at, prev_hash, hash) VALUES (2, %s, 'agent:a', 1, 'test.appended', '{}', '{}', now(), '', %s)",
            [new_event_id(), "0" * 64])
    assert list(read_all()) == before


def test_an_append_past_the_last_partition_says_what_to_run_and_succeeds_once_it_is_made(narrow):
    record([("agent:big", [_event(n) for n in range(40)], ANY)])
    # The partition its commit made ahead is gone (as if beat and that commit had not run).
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE events_event_p51")
    head = max(e.global_position for e in read_all())
    assert head < 50
    # The operator's status says so before an append fails.
    assert partitions.summary(head) == {"partitioned": True, "count": 1, "emptyAhead": 0}
    assert any("event_partitions --ensure" in warning for warning in warnings_of(
        {"broker": {"reachable": True}, "regions": [], "eventPartitions": partitions.summary(head)}))
    batch = [_event(n) for n in range(60 - head)]  # past 50, where no partition is
    with pytest.raises(StoreUnavailable, match="event_partitions --ensure"):
        record([("agent:big", batch, ANY)])
    assert max(e.global_position for e in read_all()) == head
    out = io.StringIO()
    call_command("event_partitions", "--ensure", stdout=out)
    assert "made 1 partition(s): events_event_p51" in out.getvalue()
    recorded = record([("agent:big", batch, ANY)])
    assert [e.global_position for e in recorded] == list(range(head + 1, 61))
    out = io.StringIO()
    call_command("event_partitions", stdout=out)
    assert "events_event_p51 " in out.getvalue() and "<- head" in out.getvalue()


def test_emptying_the_log_forgets_its_event_ids(narrow):
    taken = new_event_id()
    record([("agent:a", [_event(0, id=taken)], ANY)])
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE events_event, events_stream, events_projection, events_anchor")
    assert [e.id for e in record([("agent:a", [_event(0, id=taken)], ANY)], fresh_ids=True)] == [taken]


@pytest.mark.django_db
def test_sqlite_keeps_one_table_and_says_so():
    if connection.vendor != "sqlite":
        pytest.skip("the PostgreSQL side is above")
    assert not partitions.partitioned() and partitions.partitions() == [] and partitions.ensure() == []
    out = io.StringIO()
    call_command("event_partitions", "--ensure", stdout=out)
    assert "one table on sqlite" in out.getvalue()


def _manage(env, *args) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "manage.py", *args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


RECORD = """
from events.store import ANY, NewEvent, record
for n in range(40):
    record([(f"agent:m{n % 4}", [NewEvent("test.appended", {"n": n})], ANY)])
"""


def test_migrating_a_log_into_partitions_and_back_keeps_every_event(on_postgres, tmp_path, django_db_blocker):
    with django_db_blocker.unblock(), fresh_database(tmp_path, prefix="selfplay_partmig") as url:
        env = process_env(url, SELFPLAY_EVENT_PARTITION_SIZE="25")
        _manage(env, "shell", "-v", "0", "-c", RECORD)
        before = _manage(env, "shell", "-v", "0", "-c", "from events.store import read_all; print([e.id for e in read_all()])").stdout
        _manage(env, "migrate", "events", "0006", "-v", "0")
        unpartitioned = _manage(env, "event_partitions").stdout
        assert "one table" in unpartitioned or "0 partitions" in unpartitioned
        assert "every chain intact" in _manage(env, "verify_chain", "--no-progress").stdout
        _manage(env, "migrate", "-v", "0")
        listed = _manage(env, "event_partitions").stdout
        # 40 events and a checkpoint or two, in partitions of 25, with two empty ones ahead.
        assert "events_event_p1 " in listed and "events_event_p26 " in listed and "2 empty partition(s) ahead" in listed
        assert _manage(env, "shell", "-v", "0", "-c", "from events.store import read_all; print([e.id for e in read_all()])").stdout == before
        assert "every chain intact" in _manage(env, "verify_chain", "--no-progress").stdout
        # The ids came along into their table: a recorded one is refused again.
        again = _manage(env, "shell", "-v", "0", "-c", "from events.store import *; e = read_all()[0]; "
                        "import sys\ntry:\n    record([('agent:x', [NewEvent('test.appended', {}, id=e.id)], ANY)], fresh_ids=True)\n"
                        "except EventIdConflict:\n    print('refused')").stdout
        assert again.strip() == "refused"
