"""`WS /stream` (DESIGN §6): catch-up, live relay, gap filling, heartbeats, origin, commands, and
the bounds on what a client may send."""

import pytest
from asgiref.sync import async_to_sync
from channels.layers import channel_layers, get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from agents.streams import region_group
from events.flow import SCOPE_KEY as FLOW_KEY
from events.flow import TransportFlow
from events.publish import stream_group
from events.store import NewEvent
from selfplay.routing import websocket_urlpatterns
from tests.support.log import record_to

pytestmark = pytest.mark.django_db
STREAM = "world:test"


@pytest.fixture(autouse=True)
def keep_test_connection(monkeypatch):
    """database_sync_to_async closes "old" connections around each call; in a test that would
    close the connection holding the test's transaction (the real server is unaffected)."""
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)


@pytest.fixture(autouse=True)
def memory_layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def append_n(n: int, stream: str = STREAM):
    return record_to(stream, [NewEvent("test.happened", {"n": i}) for i in range(n)])


def wire(events):
    return [e.to_wire() for e in events]


async def receive_until(communicator, kind: str, limit: int = 50) -> list[dict]:
    """Collect messages up to and including the first of type `kind`."""
    got = []
    for _ in range(limit):
        message = await communicator.receive_json_from(timeout=3)
        got.append(message)
        if message["type"] == kind:
            return got
    raise AssertionError(f"no {kind} in {got}")


def positions(messages) -> list[int]:
    return [m["event"]["position"] for m in messages if m["type"] == "event"]


def connect(path: str):
    return WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)


def run(coroutine_function):
    async_to_sync(coroutine_function)()


def test_catches_up_from_a_position_then_reports_caught_up():
    append_n(5)

    async def scenario():
        communicator = connect(f"/stream?streamId={STREAM}&from=2")
        connected, _ = await communicator.connect()
        assert connected
        messages = await receive_until(communicator, "caught_up")
        assert positions(messages) == [3, 4, 5]
        assert messages[-1] == {"type": "caught_up", "position": 5}
        await communicator.disconnect()

    run(scenario)


def test_live_events_fill_gaps_and_drop_duplicates():
    append_n(2)

    async def scenario():
        communicator = connect(f"/stream?streamId={STREAM}&from=0")
        await communicator.connect()
        await receive_until(communicator, "caught_up")
        more = await _append(6)  # positions 3..8 are in the store
        layer = get_channel_layer()
        # The layer dropped 3..5: only 6..8 arrive live, then a duplicate of 7.
        await layer.group_send(stream_group(STREAM), {"type": "stream.events", "events": wire(more[3:])})
        await layer.group_send(stream_group(STREAM), {"type": "stream.events", "events": wire(more[4:5])})
        got = [await communicator.receive_json_from(timeout=3) for _ in range(6)]
        assert positions(got) == [3, 4, 5, 6, 7, 8]
        assert await communicator.receive_nothing(timeout=0.2)
        await communicator.disconnect()

    run(scenario)


def test_a_heartbeat_beyond_what_was_delivered_refills_from_the_store():
    append_n(1)

    async def scenario():
        communicator = connect(f"/stream?streamId={STREAM}&from=0")
        await communicator.connect()
        await receive_until(communicator, "caught_up")
        await _append(3)  # nothing published: every live message for 2..4 was lost
        await get_channel_layer().group_send(region_group("test"), {
            "type": "stream.heartbeat", "region": "test", "tick": 9, "heads": {STREAM: 4}})
        messages = await receive_until(communicator, "heartbeat")
        assert messages[0]["type"] == "error" and messages[0]["error"]["code"] == "lagging"
        assert positions(messages) == [2, 3, 4]
        assert messages[-1] == {"type": "heartbeat", "tick": 9, "headPosition": 4}
        await communicator.disconnect()

    run(scenario)


@pytest.mark.parametrize("query", ["streamId=nope&from=0", "streamId=world:test&from=-1",
                                   "streamId=world:test&from=x"])
def test_bad_queries_get_an_error_then_close(query):
    async def scenario():
        communicator = connect(f"/stream?{query}")
        await communicator.connect()
        message = await communicator.receive_json_from(timeout=3)
        assert message["type"] == "error" and message["error"]["code"] == "invalid"
        assert (await communicator.receive_output(timeout=3))["type"] == "websocket.close"

    run(scenario)


@pytest.mark.parametrize("origin,host,accepted", [
    (b"http://127.0.0.1:8000", b"127.0.0.1:8000", True),
    (b"http://localhost:8000", b"localhost:8000", True),
    (b"http://evil.example", b"127.0.0.1:8000", False),
    # Same host, another port or scheme: another origin (Django's CSRF check says the same).
    (b"http://localhost:3000", b"localhost:8000", False),
    (b"https://127.0.0.1:8000", b"127.0.0.1:8000", False),
    (b"http://127.0.0.1", b"127.0.0.1:8000", False),
    (b"null", b"127.0.0.1:8000", False),
    (None, b"127.0.0.1:8000", False),
    # A Host that is not an allowed host, even with a matching Origin.
    (b"http://evil.example", b"evil.example", False),
])
def test_origin_must_match_scheme_host_and_port(origin, host, accepted):
    from selfplay.asgi import application

    headers = [(b"host", host)] + ([(b"origin", origin)] if origin else [])

    async def scenario():
        communicator = WebsocketCommunicator(application, f"/stream?streamId={STREAM}&from=0", headers=headers)
        connected, _ = await communicator.connect()
        assert connected is accepted
        await communicator.disconnect()

    run(scenario)


@pytest.mark.parametrize("origin,accepted", [(b"https://app.example.com", True),
                                             (b"https://other.example.com", True),
                                             (b"http://other.example.com", False),
                                             (b"https://example.org", False)])
def test_csrf_trusted_origins_are_trusted_here_too(settings, origin, accepted):
    from selfplay.asgi import application

    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example.com", "https://*.example.com"]
    headers = [(b"host", b"127.0.0.1:8000"), (b"origin", origin)]

    async def scenario():
        communicator = WebsocketCommunicator(application, f"/stream?streamId={STREAM}&from=0", headers=headers)
        connected, _ = await communicator.connect()
        assert connected is accepted
        await communicator.disconnect()

    run(scenario)


def test_commands_need_a_logged_in_player():
    async def scenario():
        communicator = connect(f"/stream?streamId={STREAM}&from=0")
        await communicator.connect()
        await receive_until(communicator, "caught_up")
        await communicator.send_json_to({"type": "command", "kind": "pause", "streamId": "agent:ada"})
        result = await communicator.receive_json_from(timeout=3)
        assert result["type"] == "command.result" and result["status"] == 401
        assert result["error"]["code"] == "unauthenticated"
        assert "need a logged-in session" in result["error"]["message"]  # a key would not do here
        await communicator.send_to(text_data="not json")
        error = await communicator.receive_json_from(timeout=3)
        assert error["type"] == "error" and error["error"]["code"] == "invalid"
        await communicator.disconnect()

    run(scenario)


async def _append(n: int):
    from channels.db import database_sync_to_async

    return await database_sync_to_async(append_n)(n)



def test_a_full_client_queue_overflows_alone_and_the_client_resumes_from_the_store():
    from events.hub import QUEUE_LIMIT, Subscription

    slow, healthy = Subscription(), Subscription()
    for i in range(QUEUE_LIMIT + 5):
        slow.offer({"type": "stream.events", "events": [], "i": i})
    assert slow.overflowed and slow.queue.qsize() == 1
    assert slow.queue.get_nowait() == {"type": "hub.overflow"}
    healthy.offer({"type": "stream.events", "events": []})
    assert not healthy.overflowed and healthy.queue.qsize() == 1

    append_n(3)

    async def scenario():
        communicator = connect(f"/stream?streamId={STREAM}&from=0")
        await communicator.connect()
        await receive_until(communicator, "caught_up")
        more = await _append(2)
        # Simulate the hub marking this client overflowed: it is told, then refilled from the store.
        from events.hub import hub

        subscription = next(iter(hub().groups[stream_group(STREAM)].subscribers))
        subscription.overflowed = True
        subscription.queue.put_nowait({"type": "hub.overflow"})
        messages = [await communicator.receive_json_from(timeout=3) for _ in range(3)]
        assert messages[0]["type"] == "error" and messages[0]["error"]["code"] == "overflow"
        assert positions(messages) == [e.position for e in more] == [4, 5]
        assert subscription.overflowed is False
        await communicator.disconnect()

    run(scenario)


@pytest.mark.parametrize("frame", [
    {"bytes_data": b"\x00\x01binary"},
    {"text_data": "[" * 100_000 + "]" * 100_000},                      # too long
    {"text_data": "[" * 5000 + "]" * 5000},                            # nested too deeply to decode
    {"text_data": '{"type": "command", "kind": "override", "streamId": "agent:ada", '
                  '"action": {"type": "say", "text": "\\ud800"}}'},     # a lone surrogate
])
def test_hostile_frames_get_an_error_and_the_socket_stays_open(frame):
    append_n(1)

    async def scenario():
        communicator = connect(f"/stream?streamId={STREAM}&from=0")
        await communicator.connect()
        await receive_until(communicator, "caught_up")
        await communicator.send_to(**frame)
        answer = await communicator.receive_json_from(timeout=3)
        assert answer["type"] in ("error", "command.result")
        assert answer["error"]["code"] in ("invalid", "unauthenticated")
        # Still serving: a new event arrives live.
        more = await _append(1)
        await get_channel_layer().group_send(stream_group(STREAM), {"type": "stream.events", "events": wire(more)})
        assert positions([await communicator.receive_json_from(timeout=3)]) == [2]
        await communicator.disconnect()

    run(scenario)


@pytest.mark.parametrize("start", ["9223372036854775808", "99999999999999999999999", "4"])
def test_from_beyond_the_head_is_an_error(start):
    append_n(3)

    async def scenario():
        communicator = connect(f"/stream?streamId={STREAM}&from={start}")
        await communicator.connect()
        message = await communicator.receive_json_from(timeout=3)
        assert message["type"] == "error" and message["error"]["code"] == "invalid"
        assert message["error"]["details"]["headPosition"] == 3
        assert (await communicator.receive_output(timeout=3))["type"] == "websocket.close"

    run(scenario)


def test_leaving_releases_the_hub_subscription():
    append_n(1)

    async def scenario():
        from events.hub import hub

        communicator = connect(f"/stream?streamId={STREAM}&from=0")
        await communicator.connect()
        await receive_until(communicator, "caught_up")
        assert stream_group(STREAM) in hub().groups
        await communicator.disconnect()
        assert stream_group(STREAM) not in hub().groups

    run(scenario)


def test_a_hub_told_the_layer_came_back_refills_its_clients_from_the_store():
    append_n(1)

    async def scenario():
        from events.hub import hub

        communicator = connect(f"/stream?streamId={STREAM}&from=0")
        await communicator.connect()
        await receive_until(communicator, "caught_up")
        await _append(2)  # published to nobody: the layer was away
        for subscription in hub().groups[stream_group(STREAM)].subscribers:
            subscription.resync()
        got = [await communicator.receive_json_from(timeout=3) for _ in range(2)]
        assert positions(got) == [2, 3]
        await communicator.disconnect()

    run(scenario)


async def close_code(communicator) -> int:
    """Skip to the close message; return its code."""
    for _ in range(50):
        output = await communicator.receive_output(timeout=3)
        if output["type"] == "websocket.close":
            return output["code"]
    raise AssertionError("the socket was not closed")


def test_a_socket_that_sends_past_its_budget_is_told_and_closed_and_read_no_further(settings):
    settings.SELFPLAY_WS_MESSAGES_PER_SECOND, settings.SELFPLAY_WS_MESSAGE_BURST = 0, 3
    append_n(1)

    async def scenario():
        communicator = connect(f"/stream?streamId={STREAM}&from=0")
        await communicator.connect()
        await receive_until(communicator, "caught_up")
        for _ in range(3):
            await communicator.send_to(text_data="{")
            assert (await communicator.receive_json_from(timeout=3))["error"]["code"] == "invalid"
        await communicator.send_to(text_data="{")
        told = await communicator.receive_json_from(timeout=3)
        assert told["error"]["code"] == "rate_limited"
        assert told["error"]["details"] == {"messagesPerSecond": 0, "burst": 3}
        assert await close_code(communicator) == 4429
        await communicator.send_to(text_data="{")  # already queued by the server when it closed
        assert await communicator.receive_nothing(timeout=0.3)
        await communicator.disconnect()

    run(scenario)


def test_a_socket_that_sends_while_leaving_its_messages_unread_is_closed_at_once():
    append_n(5)
    flow = TransportFlow()
    flow.pauseProducing()  # the transport's buffer is full: the client has stopped reading
    router = URLRouter(websocket_urlpatterns)

    async def with_full_transport(scope, receive, send):
        return await router({**scope, "extensions": {FLOW_KEY: flow}}, receive, send)

    async def scenario():
        communicator = WebsocketCommunicator(with_full_transport, f"/stream?streamId={STREAM}&from=0")
        connected, _ = await communicator.connect()
        assert connected
        assert await communicator.receive_nothing(timeout=0.3)  # the catch-up waits for room
        await communicator.send_to(text_data='{"type": "command"}')
        told = await communicator.receive_json_from(timeout=3)  # without waiting for room
        assert told["error"]["code"] == "rate_limited"
        assert "Read the messages already sent" in told["error"]["message"]
        assert await close_code(communicator) == 4429
        await communicator.disconnect()

    run(scenario)


def test_a_flow_that_stopped_reading_never_resumes_reading_when_the_transport_drains():
    class Recorder:
        def __init__(self):
            self.calls = []

        def pauseProducing(self):  # noqa: N802 - Twisted's interface
            self.calls.append("pause")

        def resumeProducing(self):  # noqa: N802
            self.calls.append("resume")

    channel, transport = Recorder(), Recorder()
    flow = TransportFlow(channel)
    flow.transport = transport
    flow.pauseProducing()
    flow.resumeProducing()
    assert channel.calls == ["pause", "resume"]  # the write side pauses and resumes as before
    flow.stop_reading()
    flow.pauseProducing()
    flow.resumeProducing()
    assert transport.calls == ["pause"]
    assert channel.calls == ["pause", "resume", "pause"]  # and never lets reading start again
    assert not flow.paused  # while sends may go on
