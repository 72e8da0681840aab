"""Storage of the append-only log: one row per stream head, one row per event.

Rows are written only through `events.services` (raw, batched SQL for speed); database triggers
(migration 0002) refuse UPDATE and DELETE of events and DELETE of streams on every backend.
"""

from django.db import models
from django.db.models import Q

from .compact import unpack_hash, unpack_id, unpack_json
from .exceptions import AppendOnlyViolation

_REFUSAL = "events are append-only: write them with events.store.append()"


class EventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyViolation(_REFUSAL)

    def delete(self):
        raise AppendOnlyViolation(_REFUSAL)


class Stream(models.Model):
    """The head of one stream: its last position and the hash that the next event links to."""

    id = models.CharField(primary_key=True, max_length=80, help_text="<kind>:<name>")
    kind = models.CharField(max_length=16, db_index=True)
    version = models.PositiveBigIntegerField(default=0, help_text="Position of the last event.")
    head_hash = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.id} @ {self.version}"


class _CompactOnSQLite:
    """A column that SQLite's backend writes in the compact form (events.compact): a blob there."""

    def db_type(self, connection):
        return "blob" if connection.vendor == "sqlite" else super().db_type(connection)

    def db_check(self, connection):
        return None if connection.vendor == "sqlite" else super().db_check(connection)


class StoredIdField(_CompactOnSQLite, models.CharField):
    """An event id, read as its canonical text from either stored form."""

    def from_db_value(self, value, expression, connection):
        return unpack_id(value)


class StoredHashField(_CompactOnSQLite, models.CharField):
    """A hash, read as hex from either stored form."""

    def from_db_value(self, value, expression, connection):
        return unpack_hash(value)


class StoredJSONField(_CompactOnSQLite, models.JSONField):
    """Data or metadata, read from either stored form.

    SQL cannot look into the compact form (`data__agentId=…`): what is looked up by SQL has a
    column of its own (`actor`, `tick`)."""

    def from_db_value(self, value, expression, connection):
        return super().from_db_value(unpack_json(value), expression, connection)


# The tick markers, each with an index of its own: status pages, the gap check and the cadence
# read them out of a region's stream, where they are one event in hundreds (`world.imported`:
# where an adopted log ends and this daemon's own ticks begin).
TICK_MARKER_INDEXES = {"world.tick.completed": "events_tick_completed", "world.ticks.skipped": "events_ticks_skipped",
                       "world.imported": "events_world_imported"}


class Event(models.Model):
    """One recorded fact. `global_position` orders all streams in commit order.

    On SQLite, id, hashes, data and metadata are stored in a compact form (events.compact): the
    declared column types are the text ones, and SQLite keeps whichever it is given."""

    global_position = models.BigAutoField(primary_key=True)
    event_id = StoredIdField(max_length=36, unique=True, help_text="UUID, lowercase, hyphenated")
    # No index of its own: the unique (stream, position) index below serves every lookup by stream.
    stream = models.ForeignKey(
        Stream, on_delete=models.PROTECT, related_name="events", db_column="stream_id", db_index=False
    )
    position = models.PositiveBigIntegerField()
    type = models.CharField(max_length=100)
    data = StoredJSONField()
    metadata = StoredJSONField()
    # Copies of metadata's actor and (whole-number) tick, for the admin's filters and search.
    actor = models.CharField(max_length=160, blank=True)
    tick = models.BigIntegerField(null=True, blank=True)
    recorded_at = models.DateTimeField()
    prev_hash = StoredHashField(max_length=64, blank=True)
    hash = StoredHashField(max_length=64)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["global_position"]
        constraints = [
            models.UniqueConstraint(fields=["stream", "position"], name="events_unique_stream_position"),
        ]
        indexes = [models.Index(fields=["stream", "position"], condition=Q(type=marker), name=name)
                   for marker, name in TICK_MARKER_INDEXES.items()]

    def __str__(self) -> str:
        return f"{self.stream_id}#{self.position} {self.type}"

    def save(self, *args, **kwargs):
        raise AppendOnlyViolation(_REFUSAL)

    def delete(self, *args, **kwargs):
        raise AppendOnlyViolation(_REFUSAL)


class Anchor(models.Model):
    """A stream's head at a position, signed with the server's key (events.anchors).

    verify_chain checks every anchor: someone who rewrites history in the database and
    recomputes every later hash (and the head) still cannot sign the new hash without the key.
    """

    stream = models.ForeignKey(Stream, on_delete=models.PROTECT, related_name="anchors", db_column="stream_id",
                               db_index=False)  # the unique (stream, position) index serves lookups
    position = models.PositiveBigIntegerField()
    hash = models.CharField(max_length=64, help_text="The hash of the event at this position.")
    signature = models.CharField(max_length=64, help_text="HMAC-SHA256 of stream, position and hash.")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["stream_id", "position"]
        constraints = [models.UniqueConstraint(fields=["stream", "position"], name="events_unique_anchor")]

    def __str__(self) -> str:
        return f"{self.stream_id}#{self.position} anchored"


class Projection(models.Model):
    """State derived from the log, with the global position it reflects.

    Updated in the same transaction as the events it folds, so it never runs ahead of or behind
    the log; `rebuild_projections` recomputes every row from position zero.
    """

    name = models.CharField(max_length=64)
    key = models.CharField(max_length=80)
    state = models.JSONField()
    global_position = models.PositiveBigIntegerField(default=0)
    checksum = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "key"]
        constraints = [models.UniqueConstraint(fields=["name", "key"], name="events_unique_projection")]

    def __str__(self) -> str:
        return f"{self.name}[{self.key}] @ {self.global_position}"
