"""State reconstruction by equivalence, once for every kind of stream, after real ticks:

checkpoint state + the tail served by /sync == the live projection == a full replay of the stream.
"""

from datetime import timedelta

import pytest

from agents.services import NewAgent, create_region, plan_region, spawn_agents, tick_region
from checkpoints.models import Checkpoint
from checkpoints.services import CHECKPOINT_STREAM, create_checkpoint
from checkpoints.streams import initial_state, projection_of, replay_stream
from events.models import Projection
from events.store import read_stream, stream_version
from selfplay.canonical import checksum

from .conftest import EPOCH

pytestmark = pytest.mark.django_db

AGENTS = {"ada": "builder", "bob": "forager", "cy": "trader", "dee": "wanderer"}


def tick(region, k: int) -> None:
    report = tick_region(region_id=region.id, now=region.epoch + timedelta(seconds=k * 2))
    assert report.ticks == [k]


def resync(client, stream_id: str, *, limit: int) -> tuple[dict, list[dict], dict]:
    """Do what a reconnecting client does: latest checkpoint, then /sync pages until complete."""
    latest = client.get("/checkpoint/latest", {"streamId": stream_id}).json()
    page = client.get("/sync", {"token": latest["token"], "limit": limit}).json()
    state, events = page["state"], list(page["events"])
    while not page["complete"]:
        page = client.get("/sync", {"token": latest["token"], "limit": limit,
                                    "after": page["lastPosition"]}).json()
        events += page["events"]
    return state, events, latest["checkpoint"]


@pytest.mark.parametrize("stream_id", ["world:vale", "agent:ada", CHECKPOINT_STREAM])
def test_checkpoint_plus_tail_equals_live_projection_equals_full_replay(client, stream_id):
    region = create_region(region_id="vale", seed=11, epoch=EPOCH, width=16, height=16)
    spawn_agents(region_id="vale", rng_seed=11, agents=[
        NewAgent(id=agent_id, name=agent_id.title(), brain=brain) for agent_id, brain in AGENTS.items()])
    for k in (1, 2, 3):
        tick(region, k)
    plan_region(region_id="vale")
    at_checkpoint = stream_version(stream_id)
    middle = create_checkpoint(stream_id)
    for k in (4, 5, 6):
        tick(region, k)
    plan_region(region_id="vale")
    create_checkpoint("agent:bob")  # one more announcement in the checkpoint stream's tail

    head = stream_version(stream_id)
    state, tail, checkpoint = resync(client, stream_id, limit=4)

    assert checkpoint["id"] == str(middle.pk)
    assert middle.position == at_checkpoint
    assert [e["position"] for e in tail] == list(range(middle.position + 1, head + 1))
    name, key = projection_of(stream_id)
    live = Projection.objects.get(name=name, key=key)
    full = replay_stream(stream_id, initial_state(stream_id), read_stream(stream_id, limit=10_000))
    assert checksum(state) == middle.checksum
    assert checksum(replay_stream(stream_id, state, tail)) == live.checksum == checksum(full)
    assert checksum(state) != live.checksum  # the tail did change something
    assert Checkpoint.objects.filter(stream_id=stream_id).count() >= 2
