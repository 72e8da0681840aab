"""The projection runner: folds recorded events into `Projection` rows.

A projection is a `ProjectionSpec`: which keys an event touches, the initial state of a key, and
a pure fold; `keys` and `fold` both read the wire-shaped `ReducerEvent`. Specs are listed by
dotted path in `settings.SELFPLAY_PROJECTIONS`, so this module knows nothing about the game.
`project()` runs inside the transaction that appended the events, so a projection's
`global_position` always names exactly the events folded into it.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from django.conf import settings
from django.core.signals import setting_changed
from django.db import connection, transaction
from django.dispatch import receiver
from django.utils import timezone
from django.utils.module_loading import import_string

from selfplay.canonical import canonical_text
from selfplay.gc_pause import paused_gc

from . import backends
from .models import Projection
from .selectors import fold_metadata, load_stored_json, read_all_for_folds
from .types import RecordedEvent

ReducerEvent = dict  # {type, streamId, position, globalPosition, data, metadata}: see reducer_event


@dataclass(frozen=True)
class ProjectionSpec:
    name: str
    keys: Callable[[ReducerEvent], Iterable[str]]
    initial: Callable[[str], dict]
    fold: Callable[[dict, list[ReducerEvent]], dict]
    types: frozenset[str] | None = None  # event types the fold reads; None means every type
    # True when `keys` reads nothing but the event's streamId: route then asks once per stream.
    keys_by_stream: bool = False


class UnknownProjection(LookupError):
    pass


@cache
def registry() -> dict[str, ProjectionSpec]:
    specs = [import_string(path) for path in settings.SELFPLAY_PROJECTIONS]
    return {spec.name: spec for spec in specs}


def get_spec(name: str) -> ProjectionSpec:
    try:
        return registry()[name]
    except KeyError:
        raise UnknownProjection(f"unknown projection {name!r}; known: {', '.join(registry())}") from None


def reducer_event(event: RecordedEvent) -> ReducerEvent:
    """Return the wire-shaped dict that reducers read: no timestamp (states never depend on it),
    and of the metadata its actor and whole-number tick only (fold_metadata), as a rebuild reads them."""
    tick = event.metadata.get("tick")
    return {"type": event.type, "streamId": event.stream_id, "position": event.position,
            "globalPosition": event.global_position, "data": event.data,
            "metadata": fold_metadata(event.metadata["actor"], tick if type(tick) is int else None)}


def route(events: Iterable[ReducerEvent], names: Iterable[str] | None = None):
    """Group events by the (projection, key) they touch, keeping log order within each group.

    A name given twice routes once: each event must be folded into a key exactly once."""
    specs = [get_spec(n) for n in dict.fromkeys(names)] if names is not None else list(registry().values())
    readers: dict[str, tuple[list[ProjectionSpec], list[ProjectionSpec]]] = {}  # type -> by stream, by event
    groups: dict[tuple[str, str], list[ReducerEvent]] = {}
    # (type, streamId) -> the groups of the specs keyed by stream: one lookup per event for most.
    stream_groups: dict[tuple[str, str], list[list[ReducerEvent]]] = {}

    def group(name: str, key: str) -> list[ReducerEvent]:
        found = groups.get((name, key))
        if found is None:
            found = groups[(name, key)] = []
        return found

    for event in events:
        kind = event["type"]
        by_stream, by_event = readers.get(kind) or readers.setdefault(kind, _readers_of(kind, specs))
        targets = stream_groups.get((kind, event["streamId"]))
        if targets is None:
            targets = stream_groups[(kind, event["streamId"])] = [
                group(spec.name, key) for spec in by_stream for key in spec.keys(event)]
        for target in targets:
            target.append(event)
        for spec in by_event:
            for key in spec.keys(event):
                group(spec.name, key).append(event)
    return groups


def _readers_of(kind: str, specs: list[ProjectionSpec]) -> tuple[list[ProjectionSpec], list[ProjectionSpec]]:
    """Split the specs whose fold reads events of this type into those keyed by stream and the rest."""
    reading = [spec for spec in specs if spec.types is None or kind in spec.types]
    return [s for s in reading if s.keys_by_stream], [s for s in reading if not s.keys_by_stream]


def lock_projection_keys(events: Iterable[RecordedEvent]) -> None:
    """Hold every (projection, key) these events touch until the transaction ends.

    Called before the events take their global positions (events.raw), so two appends that
    touch one key fold into it in the order of their positions, and neither loses the other's
    fold (a row is read, folded and written back). On PostgreSQL a missing row is locked as a
    placeholder at global position 0, which `project()` then overwrites. A no-op under SQLite's
    single writer.
    """
    with connection.cursor() as cursor:
        backends.current().lock_projections(cursor, route(reducer_event(e) for e in events))


def project(
    events: Sequence[RecordedEvent], *, known_states: dict[tuple[str, str], dict] | None = None,
    now: datetime | None = None,
) -> dict[tuple[str, str], dict]:
    """Fold freshly appended events into every projection they touch; return the new states.

    Call inside the transaction that appended them. Events at or below a row's global position
    are skipped, so an idempotent retry of an append never folds twice. Rows are read and
    written in batches: a tick touches one `agent` key per agent.
    """
    groups = route(reducer_event(e) for e in events)
    known_states = known_states or {}
    current = load_states([k for k in groups if k not in known_states], shared=True)
    new_states: dict[tuple[str, str], dict] = {}
    positions: dict[tuple[str, str], int] = {}
    for (name, key), group in groups.items():
        known = known_states.get((name, key))
        if known is not None:
            new_states[(name, key)], positions[(name, key)] = known, group[-1]["globalPosition"]
            continue
        state, position = current[(name, key)]
        # A group is in log order, so it is all fresh when its first event is (a retry is not).
        fresh = group if group[0]["globalPosition"] > position else [e for e in group if e["globalPosition"] > position]
        if fresh:
            new_states[(name, key)] = get_spec(name).fold(state, fresh)
            positions[(name, key)] = fresh[-1]["globalPosition"]
    # A stored row always has a position above 0, so the loaded positions say which rows exist.
    known_rows = {k for k, (_, position) in current.items() if position > 0}
    known_rows |= _existing_rows([k for k in new_states if k in known_states])
    save_states({k: (state, positions[k]) for k, state in new_states.items()}, existing=known_rows, now=now)
    _drop_placeholders([k for k in groups if k not in new_states and k not in known_rows])
    return new_states


def _drop_placeholders(keys: list[tuple[str, str]]) -> None:
    """Delete the lock placeholders (rows at position 0) of keys that nothing was folded into.

    Every key locked before an append is folded into by its events, so this is a guard: a
    placeholder must never commit (it holds no state)."""
    for name, key in keys:
        Projection.objects.filter(name=name, key=key, global_position=0).delete()


class _StateCache:
    """Decoded states by (name, key) with the checksum of their content; least recently used out.

    A checksum names its content exactly, so a cached state is reused only when the row still
    holds that very content, whatever committed since: the worker that ticks a region decodes
    its multi-megabyte world state once, not every tick. Bounded, so a process that touches
    ever more keys (agents come and go) does not grow with them.
    """

    LIMIT = 20_000  # more than the agents of the largest region ticked here (10,000 in the bench)

    def __init__(self) -> None:
        self._entries: OrderedDict[tuple[str, str], tuple[str, dict]] = OrderedDict()

    def get(self, key: tuple[str, str], digest: str) -> dict | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] != digest:
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: tuple[str, str], digest: str, state: dict) -> None:
        self._entries[key] = (digest, state)
        self._entries.move_to_end(key)
        if len(self._entries) > self.LIMIT:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()


_state_cache = _StateCache()


@receiver(setting_changed)
def _forget(*, setting, **kwargs) -> None:
    if setting == "SELFPLAY_PROJECTIONS":
        registry.cache_clear()
        _state_cache.clear()


def load_states(keys: Iterable[tuple[str, str]], *, shared: bool = False) -> dict[tuple[str, str], tuple[dict, int]]:
    """Return {(name, key): (state, global position)} for many keys in a few queries.

    `shared=True` hands out the cached states themselves, for callers that treat them as values
    and never write into them (the tick, the projection runner, checkpoints): a write would
    corrupt every later reader. Otherwise each state is a copy of its own.
    """
    by_name: dict[str, list[str]] = {}
    for name, key in keys:
        by_name.setdefault(name, []).append(key)
    found: dict[tuple[str, str], tuple[dict, int]] = {}
    # Plain SQL with the keys as one parameter: a tick asks this for every projection it folds,
    # and building the ORM's query cost more than running it.
    values_table = backends.current().values_table
    with connection.cursor() as cursor:
        for name, names_keys in by_name.items():
            heads: dict[str, tuple[int, str]] = {}
            sql, params = values_table(sorted(set(names_keys)))
            # Position 0 is a lock placeholder of this very transaction (lock_projection_keys): no state.
            cursor.execute("SELECT key, global_position, checksum FROM events_projection "
                           f"WHERE name = %s AND global_position > 0 AND key IN ({sql})", [name, *params])
            for key, position, digest in cursor.fetchall():
                cached = _state_cache.get((name, key), digest)
                if cached is not None:
                    found[(name, key)] = (cached, position)
                else:
                    heads[key] = (position, digest)
            if heads:
                sql, params = values_table(sorted(heads))
                cursor.execute(f"SELECT key, state FROM events_projection WHERE name = %s AND key IN ({sql})",
                               [name, *params])
                for key, text in cursor.fetchall():
                    state = load_stored_json(text)
                    _state_cache.put((name, key), heads[key][1], state)
                    found[(name, key)] = (state, heads[key][0])
            spec = get_spec(name)
            for key in names_keys:
                if (name, key) not in found:  # (not setdefault: it would build every initial state)
                    found[(name, key)] = (spec.initial(key), 0)
    if not shared:
        found = {key: (copy.deepcopy(state), position) for key, (state, position) in found.items()}
    return found


def save_states(states: dict[tuple[str, str], tuple[dict, int]], *,
                existing: set[tuple[str, str]] | None = None, now: datetime | None = None) -> None:
    """Store projection states and positions (canonical JSON, checksummed once), in batches.

    `existing`, when the caller knows it, names the keys that already have a row.
    """
    if not states:
        return
    now = connection.ops.adapt_datetimefield_value(now or timezone.now())
    rows = {}
    for (name, key), (state, position) in states.items():
        text, digest = canonical_text(state)
        rows[(name, key)] = (text, position, digest)
        _state_cache.put((name, key), digest, state)
    if existing is None:
        existing = _existing_rows(list(rows))
    cast = backends.current().json_cast
    with connection.cursor() as cursor:
        updates = [(text, position, digest, now, name, key)
                   for (name, key), (text, position, digest) in rows.items() if (name, key) in existing]
        if updates:
            cursor.executemany(
                f"UPDATE events_projection SET state = %s{cast}, global_position = %s, checksum = %s, "
                "updated_at = %s WHERE name = %s AND key = %s", updates)
        inserts = [(name, key, text, position, digest, now)
                   for (name, key), (text, position, digest) in rows.items() if (name, key) not in existing]
        if inserts:
            # A new key's row may be this transaction's lock placeholder: replace it.
            cursor.executemany(
                "INSERT INTO events_projection (name, key, state, global_position, checksum, updated_at) "
                f"VALUES (%s, %s, %s{cast}, %s, %s, %s) ON CONFLICT (name, key) DO UPDATE SET "
                "state = excluded.state, global_position = excluded.global_position, "
                "checksum = excluded.checksum, updated_at = excluded.updated_at", inserts)


def _existing_rows(keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Return which of these (name, key) pairs have a stored row."""
    by_name: dict[str, list[str]] = {}
    for name, key in keys:
        by_name.setdefault(name, []).append(key)
    existing: set[tuple[str, str]] = set()
    values_table = backends.current().values_table
    with connection.cursor() as cursor:
        for name, names_keys in by_name.items():
            sql, params = values_table(names_keys)
            cursor.execute(f"SELECT key FROM events_projection WHERE name = %s AND key IN ({sql})", [name, *params])
            existing.update((name, key) for (key,) in cursor.fetchall())
    return existing


def load_state(name: str, key: str, *, shared: bool = False) -> tuple[dict, int]:
    """Return (state, global position) of a projection key; the initial state when absent.

    `shared`: as load_states."""
    return load_states([(name, key)], shared=shared)[(name, key)]


@dataclass
class Rebuilt:
    states: dict[tuple[str, str], dict]
    positions: dict[tuple[str, str], int]
    events: int
    head: int


def rebuild_in_memory(
    *, names: Iterable[str] | None = None, until: int | None = None,
    progress: Callable[[int], None] | None = None, page: int = 10_000,
    observe: Callable[[list[dict]], None] | None = None,
) -> Rebuilt:
    """Fold the whole log (up to global position `until`) from zero; write nothing.

    `observe(page)` sees each page of events (read_all_for_folds' shape) after it is folded:
    another pass over the log rides on this one instead of reading it all again."""
    names = list(names) if names is not None else list(registry())
    states: dict[tuple[str, str], dict] = {}
    positions: dict[tuple[str, str], int] = {}
    after = count = 0
    with paused_gc():  # the states grow for the whole run; see selfplay.gc_pause
        while True:
            batch = read_all_for_folds(after=after, limit=page)
            if until is not None:
                batch = [e for e in batch if e["globalPosition"] <= until]
            if not batch:
                break
            for (name, key), group in route(batch, names).items():
                spec = get_spec(name)
                state = states.get((name, key))
                states[(name, key)] = spec.fold(spec.initial(key) if state is None else state, group)
                positions[(name, key)] = group[-1]["globalPosition"]
            if observe:
                observe(batch)
            after = batch[-1]["globalPosition"]
            count += len(batch)
            if progress:
                progress(len(batch))
    return Rebuilt(states, positions, count, after)


def lock_writers() -> None:
    """Hold the event store's write lock for the rest of the transaction (no append interleaves)."""
    with connection.cursor() as cursor:
        backends.current().lock_writers(cursor)


@transaction.atomic
def rebuild_and_replace(*, names: Iterable[str] | None = None,
                        progress: Callable[[int], None] | None = None) -> Rebuilt:
    """Rebuild projections from zero and replace the stored rows, with appends held off."""
    lock_writers()
    names = list(names) if names is not None else list(registry())
    rebuilt = rebuild_in_memory(names=names, progress=progress)
    Projection.objects.filter(name__in=names).delete()
    _state_cache.clear()
    # Each state encoded once, for its text and its checksum alike.
    save_states({key: (state, rebuilt.positions[key]) for key, state in sorted(rebuilt.states.items())},
                existing=set())
    return rebuilt
