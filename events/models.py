"""Storage of the append-only log: one row per stream head, one row per event.

Rows are written only through `events.services` (raw, batched SQL for speed); database triggers
(migration 0002) refuse UPDATE and DELETE of events and DELETE of streams on every backend.
"""

from django.db import models

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


class Event(models.Model):
    """One recorded fact. `global_position` orders all streams in commit order."""

    global_position = models.BigAutoField(primary_key=True)
    event_id = models.CharField(max_length=36, unique=True, help_text="UUID, lowercase, hyphenated")
    # No index of its own: the unique (stream, position) index below serves every lookup by stream.
    stream = models.ForeignKey(
        Stream, on_delete=models.PROTECT, related_name="events", db_column="stream_id", db_index=False
    )
    position = models.PositiveBigIntegerField()
    type = models.CharField(max_length=100, db_index=True)
    data = models.JSONField()
    metadata = models.JSONField()
    recorded_at = models.DateTimeField()
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["global_position"]
        constraints = [
            models.UniqueConstraint(fields=["stream", "position"], name="events_unique_stream_position"),
        ]

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
