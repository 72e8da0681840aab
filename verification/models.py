"""Verification's own records: the follower's cursor, flags and client sessions.

Flags are raised and resolved by events (`verification.flag.raised` / `.resolved`); these rows
are kept in the same transaction as those events, for the admin to filter and act on.
"""

import uuid

from django.db import models


class FollowerCursor(models.Model):
    """Where a log follower stopped, and what it knew then, stored with its output."""

    name = models.CharField(primary_key=True, max_length=64)
    position = models.PositiveBigIntegerField(default=0)
    state = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.position}"


class Flag(models.Model):
    class Status(models.TextChoices):
        OPEN = "open"
        ACKNOWLEDGED = "acknowledged"
        RESOLVED = "resolved"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    kind = models.CharField(max_length=40, db_index=True)
    subject = models.CharField(max_length=120, db_index=True, help_text="agent:<id>, world:<r>, session:<id>…")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    details = models.JSONField(default=dict)
    raised_at = models.DateTimeField()
    raised_event_id = models.CharField(max_length=36)
    acknowledged_by = models.CharField(max_length=160, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=160, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-raised_at"]

    def __str__(self) -> str:
        return f"{self.kind} on {self.subject} ({self.status})"


class ClientSession(models.Model):
    """A client (browser, script) that was flagged or marked suspect, with its token lineage then.

    Lineages of every client live in Redis and expire (verification.clients); a row is made only
    for a session an anomaly or an operator names, so anonymous readers cannot grow this table.
    """

    id = models.CharField(primary_key=True, max_length=64)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    tokens = models.JSONField(default=list, help_text="checkpoint ids used, oldest first (last 50)")
    suspect = models.BooleanField(default=False)
    suspect_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return self.id
