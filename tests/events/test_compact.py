"""The compact stored form (events.compact): what goes in comes back exactly, in either form."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from events.compact import pack_id, pack_rows, unpack_hash, unpack_id, unpack_json
from events.models import Event
from events.raw import append
from events.store import NewEvent, read_stream
from selfplay.canonical import canonical_json, storable
from tests.support.databases import REPO, fresh_database, process_env
from tests.support.tamper import tamper

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=16,
)


def packed_data(text: str) -> bytes:
    """The stored data of a row holding `text`, packed as the append packs it."""
    return pack_event(data=text)[5]


def pack_event(*, data: str = "{}", event_id: str = "0b7c2a2e-0000-7000-8000-000000000000",
               prev_hash: str = "", hash_: str = "ab" * 32) -> tuple:
    return pack_rows([(1, event_id, "agent:ada", 1, "agent.note.written", data, '{"actor":"system"}',
                       "2026-01-01 00:00:00", prev_hash, hash_, "system", None)])[0]


@given(value=st.dictionaries(st.text(), json_values, max_size=6))
def test_any_stored_json_text_comes_back_exactly_and_at_most_a_byte_longer(value):
    text = canonical_json(value)
    if not storable(value, text):
        return  # the store refuses it before any encoding (unpaired surrogates, NUL)
    packed = packed_data(text)
    assert unpack_json(packed) == text
    assert len(packed) <= len(text.encode()) + 1


def test_an_event_s_json_is_compressed_by_the_shipped_dictionary():
    text = canonical_json({"action": {"dx": 1, "dy": 0, "type": "move"}, "region": "meadow",
                           "source": "brain", "tick": 248})
    packed = packed_data(text)
    assert packed[0] == 1 and len(packed) < len(text) / 2


def test_text_that_does_not_compress_is_kept_as_it_is_behind_its_form_byte():
    text = json.dumps({"k": uuid.uuid4().hex + uuid.uuid4().hex})
    packed = packed_data(text)
    assert packed[0] in (0, 1) and unpack_json(packed) == text
    assert unpack_json(b"\x00" + text.encode()) == text


def test_an_unknown_form_is_refused_not_guessed():
    with pytest.raises(ValueError, match="unknown form"):
        unpack_json(b"\x07abc")


@given(raw=st.binary(min_size=16, max_size=16), digest=st.binary(min_size=32, max_size=32))
def test_ids_and_hashes_come_back_as_their_canonical_text(raw, digest):
    event_id = str(uuid.UUID(bytes=raw))
    packed = pack_event(event_id=event_id, prev_hash="", hash_=digest.hex())
    assert pack_id(event_id) == raw == packed[1] and unpack_id(raw) == event_id
    assert unpack_hash(packed[9]) == digest.hex()
    assert packed[8] == b"" and unpack_hash(b"") == ""


def test_text_passes_through_every_reader():
    assert unpack_json('{"a":1}') == '{"a":1}'
    assert unpack_id("0b7c2a2e-0000-7000-8000-000000000000") == "0b7c2a2e-0000-7000-8000-000000000000"
    assert unpack_hash("ab" * 32) == "ab" * 32


@pytest.mark.django_db
def test_sqlite_rows_are_stored_compact_and_read_back_as_recorded():
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL keeps its text and jsonb columns; the compact form is SQLite's")
    [recorded] = append("agent:ada", [NewEvent("agent.note.written", {"text": "héllo", "tick": 3},
                                               {"actor": "agent:ada", "tick": 3})], now=timezone.now())
    with connection.cursor() as cursor:
        cursor.execute("SELECT typeof(event_id), typeof(data), typeof(metadata), typeof(prev_hash), "
                       "length(event_id), length(hash), actor, tick FROM events_event")
        assert cursor.fetchone() == ("blob", "blob", "blob", "blob", 16, 32, "agent:ada", 3)
    assert read_stream("agent:ada") == [recorded]
    row = Event.objects.values("event_id", "data", "metadata", "prev_hash", "hash").get()
    assert row == {"event_id": recorded.id, "data": recorded.data, "metadata": recorded.metadata,
                   "prev_hash": "", "hash": recorded.hash}


@pytest.mark.django_db
def test_only_a_whole_number_tick_is_copied_to_its_column():
    append("agent:ada", [NewEvent("agent.note.written", {}, {"actor": "agent:ada", "tick": tick})
                         for tick in (5, "6", 7.0, True, -(2**63))], now=timezone.now())
    assert list(Event.objects.order_by("position").values_list("tick", flat=True)) == [5, None, None, None, -(2**63)]


# Rows as the store wrote them before the compact form (events 0008): text, hashed as text.
LEGACY_ROWS = """
import json, uuid, django
django.setup()
from django.db import connection
from django.utils import timezone
from events import backends
from events.hashing import event_hash
from selfplay.canonical import canonical_json
cast, now, prev, written = backends.current().json_cast, timezone.now(), "", []
with connection.cursor() as cursor:
    cursor.execute("INSERT INTO events_stream (id, kind, version, head_hash, created_at) "
                   "VALUES ('agent:ada', 'agent', 0, '', %s)", [now])
    for position in (1, 2, 3):
        event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"legacy-{position}"))
        data, metadata = {"tick": position, "note": "ünïcode " * position}, {"actor": "agent:ada", "tick": position}
        digest = event_hash(prev_hash=prev, event_id=event_id, stream_id="agent:ada", position=position,
                            type="agent.note.written", data=data, metadata=metadata)
        cursor.execute("INSERT INTO events_event (global_position, event_id, stream_id, position, type, data, "
                       f"metadata, recorded_at, prev_hash, hash) VALUES (%s, %s, 'agent:ada', %s, "
                       f"'agent.note.written', %s{cast}, %s{cast}, %s, %s, %s)",
                       [position, event_id, position, canonical_json(data), canonical_json(metadata), now, prev, digest])
        written.append([event_id, data, metadata, prev, digest])
        prev = digest
    cursor.execute("UPDATE events_stream SET version = 3, head_hash = %s WHERE id = 'agent:ada'", [prev])
print(json.dumps(written))
"""
READ_BACK = """
import json, django
django.setup()
from events.models import Event
from events.store import read_stream
print(json.dumps({"events": [[e.id, e.data, e.metadata, e.prev_hash, e.hash] for e in read_stream("agent:ada")],
                  "columns": list(Event.objects.order_by("position").values_list("actor", "tick"))}))
"""


def _run(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], env=process_env(url), cwd=REPO, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.django_db
def test_the_migration_keeps_every_legacy_event_and_its_chain(tmp_path):
    """A log written before the compact form: migrated, every event reads back as it was, its
    chain holds, and the actor and tick columns are filled from the metadata."""
    with fresh_database(tmp_path, prefix="selfplay_compact", target=("events", "0008")) as url:
        manage = str(REPO / "manage.py")
        legacy = _run(url, "-c", LEGACY_ROWS)
        assert legacy.returncode == 0, legacy.stderr
        migrated = _run(url, manage, "migrate", "--no-input", "-v", "0")
        assert migrated.returncode == 0, migrated.stderr
        read = _run(url, "-c", READ_BACK)
        assert read.returncode == 0, read.stderr
        assert json.loads(read.stdout) == {"events": json.loads(legacy.stdout),
                                           "columns": [["agent:ada", 1], ["agent:ada", 2], ["agent:ada", 3]]}
        chain = _run(url, manage, "verify_chain")
        assert chain.returncode == 0 and "every chain intact" in chain.stdout, chain.stdout + chain.stderr


@pytest.mark.django_db
def test_a_page_mixing_both_forms_reads_every_row():
    """A row rewritten as text (a restore, a hand edit) among compact ones: the page's fast path
    gives way to the careful one, and each row reads as it is stored."""
    first, second = append("agent:ada", [NewEvent("agent.note.written", {"n": n}, {"actor": "agent:ada"})
                                         for n in (1, 2)], now=timezone.now())
    tamper("UPDATE events_event SET data = %s, hash = %s WHERE global_position = %s",
           ['{"n":20}', "ab" * 32, second.global_position])
    assert [(e.data, e.hash) for e in read_stream("agent:ada")] == [({"n": 1}, first.hash), ({"n": 20}, "ab" * 32)]
    assert read_stream("agent:ada")[0] == first
