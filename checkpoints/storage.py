"""Where checkpoint states live: pluggable backends chosen by dotted path in settings.

`settings.SELFPLAY_CHECKPOINT_STORAGE` names the backend new checkpoints are written to; each row
records its backend's `name`, so rows written under another setting stay readable.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Sequence
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils.module_loading import import_string

from selfplay.redis_client import ERRORS as REDIS_ERRORS
from selfplay.redis_client import client_for, state_url

from .models import Checkpoint

DEFAULT_STORAGE = "checkpoints.storage.DatabaseStorage"
logger = logging.getLogger(__name__)
BUILTIN = {"database": DEFAULT_STORAGE, "redis": "checkpoints.storage.RedisStorage"}


class StorageError(Exception):
    """Base class of storage errors."""


class StateMissing(StorageError):
    """A checkpoint's stored state is gone or unreadable."""


class StorageUnavailable(StorageError):
    """The backend could not be reached."""


class Entry(NamedTuple):
    """A checkpoint about to be saved, with its state and that state's canonical JSON text."""

    checkpoint: Checkpoint
    state: dict
    text: str


class CheckpointStorage:
    """A place to keep checkpoint states. Subclasses set `name` and implement every method."""

    name = ""

    def save(self, entries: Sequence[Entry]) -> None:
        """Store each entry's state; called before the checkpoint rows are inserted."""
        raise NotImplementedError("subclasses must implement save()")

    def load(self, checkpoint: Checkpoint) -> dict:
        """Return a checkpoint's state; raise StateMissing when it is gone or unreadable."""
        raise NotImplementedError("subclasses must implement load()")

    def delete(self, checkpoints: Sequence[Checkpoint]) -> None:
        """Forget the states of checkpoints whose rows are being deleted in this transaction."""
        raise NotImplementedError("subclasses must implement delete()")


class DatabaseStorage(CheckpointStorage):
    """Keep the state in the checkpoint row's JSON column (the default)."""

    name = "database"

    def save(self, entries: Sequence[Entry]) -> None:
        for entry in entries:
            entry.checkpoint.storage = self.name
            entry.checkpoint.state = entry.state

    def load(self, checkpoint: Checkpoint) -> dict:
        state = Checkpoint.objects.filter(pk=checkpoint.pk).values_list("state", flat=True).first()
        if not isinstance(state, dict):
            raise StateMissing(f"checkpoint {checkpoint.pk} has no state in the database")
        return state

    def delete(self, checkpoints: Sequence[Checkpoint]) -> None:
        """Nothing to do: the state goes with its row."""


class RedisStorage(CheckpointStorage):
    """Keep the state as canonical JSON text under `<prefix>:checkpoint:<id>` in Redis.

    States are written before the row is inserted (a rolled-back transaction leaves at most an
    orphan key) and deleted only after the transaction that deletes their rows commits. The Redis
    is settings.SELFPLAY_REDIS_STATE_URL's, a Redis Cluster too: one key per checkpoint, so states
    spread over the masters (redis-py pipelines a save per master and splits a deletion per slot).
    """

    name = "redis"

    def __init__(self, *, url: str | None = None, prefix: str | None = None) -> None:
        self.url = url or state_url()
        base = prefix or getattr(settings, "SELFPLAY_REDIS_PREFIX", "selfplay")
        self.prefix = f"{base}:checkpoint:"

    def key(self, checkpoint: Checkpoint) -> str:
        return f"{self.prefix}{checkpoint.pk}"

    def save(self, entries: Sequence[Entry]) -> None:
        with self._errors("write"):
            pipe = client_for(self.url).pipeline(transaction=False)
            for entry in entries:
                pipe.set(self.key(entry.checkpoint), entry.text.encode("utf-8"))
            pipe.execute()
        for entry in entries:
            entry.checkpoint.storage = self.name
            entry.checkpoint.state = None

    def load(self, checkpoint: Checkpoint) -> dict:
        with self._errors("read"):
            raw = client_for(self.url).get(self.key(checkpoint))
        if raw is None:
            raise StateMissing(f"checkpoint {checkpoint.pk} has no state in Redis ({self.key(checkpoint)})")
        try:
            state = json.loads(raw)
        except ValueError as exc:
            raise StateMissing(f"checkpoint {checkpoint.pk}'s state in Redis is not JSON: {exc}") from exc
        if not isinstance(state, dict):
            raise StateMissing(f"checkpoint {checkpoint.pk}'s state in Redis is not an object")
        return state

    def delete(self, checkpoints: Sequence[Checkpoint]) -> None:
        keys = [self.key(c) for c in checkpoints]
        if keys:
            transaction.on_commit(lambda: self._delete_keys(keys))

    def _delete_keys(self, keys: list[str]) -> None:
        # The rows are gone already; a key left behind is unreachable garbage, not an error.
        try:
            with self._errors("delete"):
                client_for(self.url).delete(*keys)
        except StorageUnavailable:
            logger.warning("left %d checkpoint states in Redis", len(keys), exc_info=True)

    def _errors(self, what: str):
        return _redis_errors(self.url, what)


@contextlib.contextmanager
def _redis_errors(url: str, what: str):
    """Map redis-py errors to StorageUnavailable."""
    try:
        yield
    except REDIS_ERRORS as exc:
        raise StorageUnavailable(f"could not {what} checkpoint state in Redis at {url}: {exc}") from exc


def default_storage() -> CheckpointStorage:
    """Return the backend new checkpoints are written to (settings.SELFPLAY_CHECKPOINT_STORAGE)."""
    path = getattr(settings, "SELFPLAY_CHECKPOINT_STORAGE", DEFAULT_STORAGE)
    try:
        storage = import_string(path)()
    except ImportError as exc:
        raise ImproperlyConfigured(f"SELFPLAY_CHECKPOINT_STORAGE {path!r} cannot be imported: {exc}") from exc
    if not isinstance(storage, CheckpointStorage):
        raise ImproperlyConfigured(f"SELFPLAY_CHECKPOINT_STORAGE {path!r} is not a CheckpointStorage")
    return storage


def storage_named(name: str) -> CheckpointStorage:
    """Return the backend that a checkpoint row names."""
    configured = default_storage()
    if configured.name == name:
        return configured
    if name in BUILTIN:
        return import_string(BUILTIN[name])()
    raise ImproperlyConfigured(f"no checkpoint storage named {name!r} (configured: {configured.name!r})")
