"""Committed ticks reach the channel layer, one message per stream per transaction, and
nothing is published before the commit or for a tick that failed (DESIGN §4 step 7)."""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import channel_layers, get_channel_layer

from agents.services import tick_region
from events.store import read_stream, stream_version

from .worlds import at

pytestmark = pytest.mark.django_db


@pytest.fixture
def layer(settings):
    settings.SELFPLAY_PUBLISH_EVENTS = True
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
    yield get_channel_layer()
    channel_layers.backends.clear()


def listen(layer, group: str) -> str:
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group, channel)
    return channel


def drain(layer, channel: str) -> list[dict]:
    """Return every message waiting on a channel."""

    async def receive_all():
        messages = []
        while True:
            try:
                messages.append(await asyncio.wait_for(layer.receive(channel), timeout=0.05))
            except TimeoutError:
                return messages

    return async_to_sync(receive_all)()


def test_each_committed_tick_publishes_the_world_streams_new_events(region, layer,
                                                                     django_capture_on_commit_callbacks):
    world_channel = listen(layer, "stream.world.vale")
    ada_channel = listen(layer, "stream.agent.ada")
    head = stream_version("world:vale")

    with django_capture_on_commit_callbacks(execute=True):
        tick_region(region_id="vale", now=at(region, 2))
        assert drain(layer, world_channel) == []  # nothing before the commit

    messages = drain(layer, world_channel)
    assert len(messages) == 2  # one transaction per tick
    assert all(set(m) == {"type", "events"} and m["type"] == "stream.events" for m in messages)
    published = [event for m in messages for event in m["events"]]
    assert published == [e.to_wire() for e in read_stream("world:vale", after=head)]
    assert [e["position"] for e in published] == list(range(head + 1, head + 11))
    assert [e["type"] for e in messages[0]["events"]][-1] == "world.tick.completed"
    assert [e["data"]["tick"] for m in messages for e in m["events"]
            if e["type"] == "world.tick.completed"] == [1, 2]

    ada = drain(layer, ada_channel)
    assert [[e["position"] for e in m["events"]] for m in ada] == [[1], [2]]
    assert [m["events"][0] for m in ada] == [e.to_wire() for e in read_stream("agent:ada")]


def test_nothing_is_published_for_a_failed_tick(region, layer, monkeypatch,
                                               django_capture_on_commit_callbacks):
    channel = listen(layer, "stream.world.vale")
    agent_channel = listen(layer, "stream.agent.ada")

    def explode(*args, **kwargs):
        raise RuntimeError("the rules exploded")

    monkeypatch.setattr("selfplay.world.evaluate_tick", explode)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        tick_region(region_id="vale", now=at(region, 1))

    assert callbacks == []
    assert drain(layer, channel) == []
    assert drain(layer, agent_channel) == []


def test_nothing_is_published_when_publishing_is_off(region, layer, settings,
                                                     django_capture_on_commit_callbacks):
    settings.SELFPLAY_PUBLISH_EVENTS = False
    channel = listen(layer, "stream.world.vale")
    with django_capture_on_commit_callbacks(execute=True):
        tick_region(region_id="vale", now=at(region, 1))
    assert drain(layer, channel) == []
