"""The checkpoint storage contract: one suite, run against the database and Redis backends."""

import json
import uuid
from datetime import timedelta

import pytest
import redis
from django.db import connection, transaction
from redis.cluster import RedisCluster

from checkpoints.exceptions import CheckpointCorrupt
from checkpoints.models import Checkpoint
from checkpoints.selectors import checkpoint_state
from checkpoints.services import create_checkpoint
from checkpoints.storage import (
    CheckpointStorage,
    DatabaseStorage,
    Entry,
    RedisStorage,
    StateMissing,
    StorageUnavailable,
    default_storage,
)
from events.store import ANY, read_stream, record
from selfplay.canonical import canonical_json, checksum, sha256_hex
from selfplay.redis_client import client_for as redis_client

from .conftest import EPOCH
from .helpers import noted, record_at

pytestmark = pytest.mark.django_db

STATE = {"streamId": "system:clock", "nested": {"b": [1, 2.5, None, True], "a": "café ✓"}, "n": 10**15}


def saved(storage: CheckpointStorage, state: dict = STATE, stream_id: str = "system:clock") -> Checkpoint:
    """Save a state with `storage` and insert its row, as the services do."""
    checkpoint = Checkpoint(id=uuid.uuid4(), stream_id=stream_id, position=1, global_position=1,
                            checksum=checksum(state), created_at=EPOCH)
    storage.save([Entry(checkpoint, state, canonical_json(state))])
    checkpoint.save(force_insert=True)
    return checkpoint


class StorageContract:
    """Behaviour every backend shows; subclasses provide `storage` and `alter` (tampering)."""

    name: str

    @pytest.fixture
    def storage(self) -> CheckpointStorage:
        raise NotImplementedError

    def alter(self, checkpoint: Checkpoint, text: str | None) -> None:
        """Replace (or with None remove) a checkpoint's stored state behind the manager's back."""
        raise NotImplementedError

    def test_a_saved_state_loads_back_equal(self, storage):
        checkpoint = saved(storage)
        assert checkpoint.storage == self.name
        loaded = storage.load(Checkpoint.objects.get(pk=checkpoint.pk))
        assert loaded == STATE
        assert checksum(loaded) == checkpoint.checksum

    def test_it_is_the_configured_backend_of_new_checkpoints(self, storage):
        assert default_storage().name == self.name
        record([("system:clock", noted(2), ANY)])
        [checkpoint] = Checkpoint.objects.filter(stream_id="system:clock")
        assert checkpoint.storage == self.name
        assert checkpoint_state(checkpoint) == {
            "streamId": "system:clock", "events": 2, "lastType": "test.noted", "types": {"test.noted": 2}}

    def test_a_state_never_saved_is_missing(self, storage):
        never = Checkpoint.objects.create(stream_id="system:clock", position=1, global_position=1,
                                          checksum="0" * 64, storage=self.name, created_at=EPOCH)
        with pytest.raises(StateMissing):
            storage.load(never)

    def test_a_deleted_state_is_gone_once_the_deletion_commits(self, storage, django_capture_on_commit_callbacks):
        checkpoint = saved(storage)
        with django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                storage.delete([checkpoint])
                assert storage.load(checkpoint) == STATE  # not before the commit
                Checkpoint.objects.filter(pk=checkpoint.pk).delete()
        with pytest.raises(StateMissing):
            storage.load(checkpoint)

    def test_a_rolled_back_deletion_keeps_the_state(self, storage, django_capture_on_commit_callbacks):
        checkpoint = saved(storage)
        with django_capture_on_commit_callbacks(execute=True):
            with pytest.raises(RuntimeError), transaction.atomic():
                storage.delete([checkpoint])
                Checkpoint.objects.filter(pk=checkpoint.pk).delete()
                raise RuntimeError("roll back")
        assert storage.load(Checkpoint.objects.get(pk=checkpoint.pk)) == STATE

    def test_an_altered_state_is_reported_corrupt(self, storage):
        checkpoint = saved(storage)
        self.alter(checkpoint, canonical_json({**STATE, "n": 1}))
        with pytest.raises(CheckpointCorrupt, match="no longer matches its checksum"):
            checkpoint_state(checkpoint)

    def test_a_vanished_state_is_reported_corrupt(self, storage):
        checkpoint = saved(storage)
        self.alter(checkpoint, None)
        with pytest.raises(CheckpointCorrupt, match="missing"):
            checkpoint_state(checkpoint)

    def test_retention_forgets_the_states_of_pruned_checkpoints(self, storage, settings,
                                                                  django_capture_on_commit_callbacks):
        settings.SELFPLAY_CHECKPOINT_RETENTION = 2
        with django_capture_on_commit_callbacks(execute=True):
            for minutes in range(4):
                record_at(EPOCH + timedelta(minutes=5 * minutes), [("system:clock", noted(1))])
        kept = list(Checkpoint.objects.filter(stream_id="system:clock").order_by("position"))
        assert [c.position for c in kept] == [3, 4]
        assert [checkpoint_state(c)["events"] for c in kept] == [3, 4]
        assert self.stored_count() == 2 + Checkpoint.objects.exclude(stream_id="system:clock").count()

    def stored_count(self) -> int:
        raise NotImplementedError


class TestDatabaseStorage(StorageContract):
    name = "database"

    @pytest.fixture
    def storage(self, settings):
        settings.SELFPLAY_CHECKPOINT_STORAGE = "checkpoints.storage.DatabaseStorage"
        return DatabaseStorage()

    def alter(self, checkpoint, text):
        Checkpoint.objects.filter(pk=checkpoint.pk).update(state=None if text is None else json.loads(text))

    def stored_count(self):
        return Checkpoint.objects.filter(state__isnull=False).count()

    def test_the_stored_text_is_the_canonical_text_its_checksum_names(self, storage):
        if connection.vendor == "postgresql":
            pytest.skip("jsonb keeps a binary form of its own, not the text it was given")
        checkpoint = saved(storage)
        with connection.cursor() as cursor:
            cursor.execute("SELECT CAST(state AS TEXT) FROM checkpoints_checkpoint WHERE id = %s",
                           [Checkpoint._meta.pk.get_db_prep_value(checkpoint.pk, connection)])
            (text,) = cursor.fetchone()
        assert text == canonical_json(STATE)
        assert sha256_hex(text) == checkpoint.checksum


class TestRedisStorage(StorageContract):
    name = "redis"

    @pytest.fixture
    def storage(self, redis_storage):
        return redis_storage

    def alter(self, checkpoint, text):
        storage = RedisStorage()
        if text is None:
            redis_client(storage.url).delete(storage.key(checkpoint))
        else:
            redis_client(storage.url).set(storage.key(checkpoint), text)

    def stored_count(self):
        storage = RedisStorage()
        return len(list(redis_client(storage.url).scan_iter(match=f"{storage.prefix}*")))

    def test_keys_are_named_after_the_checkpoint(self, storage, redis_prefix):
        checkpoint = saved(storage)
        assert storage.key(checkpoint) == f"{redis_prefix}:checkpoint:{checkpoint.pk}"
        assert redis_client(storage.url).get(storage.key(checkpoint)).decode() == canonical_json(STATE)
        assert Checkpoint.objects.get(pk=checkpoint.pk).state is None

    def test_the_default_key_prefix_is_selfplay(self, settings):
        del settings.SELFPLAY_REDIS_PREFIX
        assert RedisStorage().key(Checkpoint(id=uuid.UUID(int=7))) == (
            "selfplay:checkpoint:00000000-0000-0000-0000-000000000007")

    def test_rows_stored_in_redis_stay_readable_after_switching_to_the_database(self, storage, settings):
        checkpoint = saved(storage)
        settings.SELFPLAY_CHECKPOINT_STORAGE = "checkpoints.storage.DatabaseStorage"
        assert checkpoint_state(Checkpoint.objects.get(pk=checkpoint.pk)) == STATE

    def test_an_unreachable_redis_is_reported_as_unavailable(self, settings):
        down = RedisStorage(url="redis://127.0.0.1:1/0")
        with pytest.raises(StorageUnavailable, match="127.0.0.1:1"):
            saved(down)

    def test_an_unreachable_redis_skips_checkpoints_and_never_stops_recording(self, settings, caplog):
        settings.SELFPLAY_CHECKPOINT_STORAGE = "checkpoints.storage.RedisStorage"
        settings.REDIS_URL = "redis://127.0.0.1:1/0"
        recorded = record([("system:clock", noted(2), ANY)])
        assert [e.position for e in read_stream("system:clock")] == [1, 2] == [e.position for e in recorded]
        assert not Checkpoint.objects.exists()
        assert read_stream("system:checkpoints") == []
        assert "checkpoints of 1 streams skipped" in caplog.text
        with pytest.raises(StorageUnavailable):
            create_checkpoint("system:clock")


def test_the_abstract_storage_names_what_subclasses_must_implement():
    storage = CheckpointStorage()
    with pytest.raises(NotImplementedError, match=r"subclasses must implement save\(\)"):
        storage.save([])
    with pytest.raises(NotImplementedError, match=r"subclasses must implement load\(\)"):
        storage.load(Checkpoint())
    with pytest.raises(NotImplementedError, match=r"subclasses must implement delete\(\)"):
        storage.delete([])


class TestRedisClusterStorage(TestRedisStorage):
    """The Redis backend against a 3-master Redis Cluster (SELFPLAY_REDIS_STATE_URL=redis+cluster://…)."""

    @pytest.fixture
    def redis_prefix(self, redis_cluster, settings):
        settings.SELFPLAY_REDIS_STATE_URL = redis_cluster.url
        prefix = settings.SELFPLAY_REDIS_PREFIX = f"selfplay-test-{uuid.uuid4().hex[:12]}"
        yield prefix
        client = redis_client(redis_cluster.url)
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)

    def test_it_talks_to_the_cluster(self, storage, redis_cluster):
        assert storage.url == redis_cluster.url
        assert isinstance(redis_client(storage.url), RedisCluster)

    def test_states_spread_over_every_master(self, storage, redis_cluster):
        checkpoints = [saved(storage, {**STATE, "n": n}) for n in range(24)]
        client = redis_client(storage.url)
        owners = {client.get_node_from_key(storage.key(c)).port for c in checkpoints}
        assert owners == {node.port for node in redis_cluster.nodes}
        # Read back through the cluster, and directly from the master that owns each key.
        for n, checkpoint in enumerate(checkpoints):
            assert storage.load(checkpoint) == {**STATE, "n": n}
            node = client.get_node_from_key(storage.key(checkpoint))
            assert redis.Redis(port=node.port).get(storage.key(checkpoint)).decode() == canonical_json(
                {**STATE, "n": n})

    def test_one_deletion_removes_states_held_by_different_masters(self, storage,
                                                                     django_capture_on_commit_callbacks):
        checkpoints = [saved(storage, {**STATE, "n": n}) for n in range(12)]
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            storage.delete(checkpoints)
            Checkpoint.objects.filter(pk__in=[c.pk for c in checkpoints]).delete()
        for checkpoint in checkpoints:
            with pytest.raises(StateMissing):
                storage.load(checkpoint)

    def test_an_unreachable_cluster_is_reported_as_unavailable(self):
        down = RedisStorage(url="redis+cluster://127.0.0.1:1,127.0.0.1:2/")
        with pytest.raises(StorageUnavailable, match="127.0.0.1:1"):
            saved(down)
