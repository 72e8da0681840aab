"""Checkpoints: a stream's state at a position, checksummed, with its state in a storage backend."""

import uuid

from django.db import models

from selfplay.canonical import CanonicalJSONEncoder


class Checkpoint(models.Model):
    """The state of `stream_id` after its events 1..position.

    `checksum` is sha256(canonical_json(state)); `storage` names the backend holding the state
    (`state` is null when it is stored elsewhere). Rows are created and pruned only by
    `checkpoints.services`.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    stream_id = models.CharField(max_length=80, help_text="<kind>:<name>")
    position = models.PositiveBigIntegerField(help_text="Position of the last event folded.")
    global_position = models.PositiveBigIntegerField(help_text="Global position of that event.")
    checksum = models.CharField(max_length=64)
    storage = models.CharField(max_length=32, help_text="The backend that holds the state.")
    state = models.JSONField(null=True, blank=True, encoder=CanonicalJSONEncoder)
    created_at = models.DateTimeField()
    token_issued_at = models.DateTimeField(
        null=True, blank=True, help_text="When a token naming it was last issued: kept while such a token lives.")

    class Meta:
        ordering = ["stream_id", "-position", "-created_at"]
        indexes = [
            models.Index(fields=["stream_id", "position"], name="checkpoints_stream_position"),
            # The checkpoint policy's age test: a stream's newest checkpoint by time, every tick.
            models.Index(fields=["stream_id", "created_at"], name="checkpoints_stream_created"),
        ]

    def __str__(self) -> str:
        return f"{self.stream_id} @ {self.position}"
