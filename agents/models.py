"""Regions, agents and pending commands.

The log is the source of truth: `Region` and `Agent` hold configuration (seed, cadence, brain,
owner) and a status that services change in the same transaction as the event that records it.
"""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

slug_validator = RegexValidator(r"^[a-z0-9][a-z0-9-]{0,63}\Z", "lowercase letters, digits and -, at most 64")


class Region(models.Model):
    """A world region, ticked by one Celery task per tick; its stream is `world:<id>`."""

    id = models.CharField(primary_key=True, max_length=64, validators=[slug_validator])
    seed = models.BigIntegerField()
    width = models.PositiveIntegerField(default=48)
    height = models.PositiveIntegerField(default=32)
    epoch = models.DateTimeField(help_text="Tick n is due at epoch + n × tick seconds.")
    tick_seconds = models.PositiveIntegerField(default=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.id

    @property
    def stream_id(self) -> str:
        return f"world:{self.id}"


class Agent(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        PAUSED = "paused"

    id = models.CharField(primary_key=True, max_length=64, validators=[slug_validator])
    name = models.CharField(max_length=100)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="agents")
    brain = models.CharField(max_length=64, help_text="A name from settings.SELFPLAY_BRAINS.")
    # PROTECT: ownership changes only through `agent.owner.changed`; deleting the owner would
    # change it silently.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.PROTECT, related_name="agents")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    capability_grants = models.JSONField(
        default=list, blank=True,
        help_text="Capabilities the agent may use, e.g. [\"hash\", \"notify\"]; each change is recorded "
                  "(agent.capabilities.granted) and the tick reads the recorded grants.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.id

    @property
    def stream_id(self) -> str:
        return f"agent:{self.id}"


class PendingCommand(models.Model):
    """An accepted override or external decision waiting for its tick.

    The command itself is already an event in the agent's stream; this row is the queue the
    tick drains, in the same transaction that records the decision it became.
    """

    class Source(models.TextChoices):
        OVERRIDE = "override"
        EXTERNAL = "external"

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="pending_commands")
    applies_at_tick = models.PositiveBigIntegerField()
    source = models.CharField(max_length=16, choices=Source.choices)
    action = models.JSONField()
    event_id = models.CharField(max_length=36, help_text="The event that recorded the command.")
    actor = models.CharField(max_length=160)
    reason = models.CharField(max_length=500, blank=True, default="", help_text="An override's reason.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["applies_at_tick", "id"]
        constraints = [
            models.UniqueConstraint(fields=["agent", "applies_at_tick", "source"],
                                    name="agents_one_pending_command_per_tick"),
        ]

    def __str__(self) -> str:
        return f"{self.source} for {self.agent_id} at tick {self.applies_at_tick}"


class AgentKey(models.Model):
    """An API key with which an external agent submits its own decisions.

    Only a SHA-256 digest is stored; the key itself is shown once, when it is created.
    """

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="keys")
    prefix = models.CharField(max_length=12, help_text="The key's first characters, to tell keys apart.")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["agent_id", "-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… for {self.agent_id}"


class PlayerToken(models.Model):
    """A player's API token (`Authorization: Token <token>`). Only its SHA-256 digest is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    prefix = models.CharField(max_length=12, help_text="The token's first characters, to tell tokens apart.")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["user_id", "-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… for {self.user}"


class CommandReceipt(models.Model):
    """The first answer to an accepted command, replayed for a retry with the same key."""

    actor = models.CharField(max_length=160)
    idempotency_key = models.CharField(max_length=64)
    fingerprint = models.CharField(max_length=64, blank=True, default="",
                                   help_text="Digest of the command's body: a key reused for another body is refused.")
    response = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["actor", "idempotency_key"],
                                               name="agents_one_receipt_per_actor_key")]

    def __str__(self) -> str:
        return f"{self.actor} {self.idempotency_key}"


class Blob(models.Model):
    """Content-addressed bytes: what the `store` capability keeps and large results are kept as."""

    digest = models.CharField(primary_key=True, max_length=64, help_text="sha256 of the bytes, hex.")
    data = models.BinaryField()
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.digest[:12]}… ({self.size} bytes)"


class Notification(models.Model):
    """A message an agent sent with `notify`: shown to its owner and in the admin's inbox.

    One per request: a request performed again after a worker died finds its notification.
    """

    request_id = models.CharField(max_length=36, unique=True)
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="notifications")
    message = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.agent_id}: {self.message[:60]}"
