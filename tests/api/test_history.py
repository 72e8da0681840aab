"""The reads behind time travel: `GET /worlds/<region>/ticks/<n>`, `GET /checkpoint/at` and
`GET /worlds/<region>/agents/<id>/outcomes` — answers, every error, anonymous callers, rate limits."""

from datetime import timedelta
from urllib.parse import quote

import pytest
from rest_framework.test import APIClient

from agents import selectors
from agents.services import tick_region
from checkpoints.models import Checkpoint
from checkpoints.services import create_checkpoint
from checkpoints.tokens import decode_token
from events.store import ANY, NewEvent, read_stream, record
from selfplay import world as rules
from selfplay.canonical import checksum

pytestmark = pytest.mark.django_db

WORLD = "world:meadow"
MAX = 2**53 - 1


def error_of(response) -> tuple[int, str]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["message"]
    return response.status_code, body["error"]["code"]


def tick_until(region, tick: int, **kwargs) -> None:
    tick_region(region_id=region.id, now=region.epoch + timedelta(seconds=region.tick_seconds * tick), **kwargs)


def fold_upto(position: int) -> dict:
    return rules.fold("world", rules.initial_state("world", "meadow"),
                      [e.to_wire() for e in read_stream(WORLD, limit=10_000) if e.position <= position])


@pytest.fixture
def ticked(world):
    """meadow at tick 8: ticks 1..8 completed one by one."""
    tick_until(world, 8)
    return world


# --- GET /worlds/<region>/ticks/<n> -----------------------------------------------------------


def test_each_tick_is_found_at_its_completion_with_the_checksum_recorded_there(ticked):
    client = APIClient()
    completions = {e.data["tick"]: e for e in read_stream(WORLD) if e.type == "world.tick.completed"}
    assert sorted(completions) == list(range(1, 9))
    for tick, event in completions.items():
        response = client.get(f"/worlds/meadow/ticks/{tick}")
        assert response.status_code == 200
        assert response.json() == {
            "region": "meadow", "streamId": WORLD, "tick": tick, "position": event.position,
            "globalPosition": event.global_position, "checksum": event.data["checksum"], "skipped": None,
            "firstTick": 1, "lastTick": 8}
        # The checksum is the world's at that position: a rebuild there can be checked against it.
        assert checksum(fold_upto(event.position)) == event.data["checksum"]


def test_a_skipped_tick_is_found_in_the_range_that_skipped_it(ticked, settings):
    tick_until(ticked, 60)  # 52 ticks due: the oldest 22 are recorded as skipped, 30 simulated
    (skip,) = [e for e in read_stream(WORLD) if e.type == "world.ticks.skipped"]
    assert (skip.data["fromTick"], skip.data["toTick"]) == (9, 30)
    client = APIClient()
    for tick in (9, 20, 30):
        body = client.get(f"/worlds/meadow/ticks/{tick}").json()
        assert (body["position"], body["checksum"], body["skipped"]) == (
            skip.position, None, {"fromTick": 9, "toTick": 30})
    body = client.get("/worlds/meadow/ticks/31").json()
    assert (body["skipped"], body["lastTick"], body["position"]) == (
        None, 60, next(e.position for e in read_stream(WORLD) if e.data.get("tick") == 31
                       and e.type == "world.tick.completed"))


def test_the_search_takes_a_few_reads_however_long_the_stream(ticked, django_assert_max_num_queries):
    tick_until(ticked, 100, max_catchup=100)
    head = read_stream(WORLD, limit=10_000)[-1].position
    assert head > 250
    # Region, head, first and last markers, then about log2(head) probes.
    with django_assert_max_num_queries(5 + head.bit_length() + 1):
        mark = selectors.tick_mark(region_id="meadow", tick=17)
    assert mark.position == next(e.position for e in read_stream(WORLD, limit=10_000)
                                 if e.type == "world.tick.completed" and e.data["tick"] == 17)


@pytest.mark.parametrize("tick", ["0", "9", "123456789"])
def test_a_tick_the_region_has_not_recorded_is_404_naming_its_range(ticked, tick):
    response = APIClient().get(f"/worlds/meadow/ticks/{tick}")
    assert error_of(response) == (404, "not_found")
    assert response.json()["error"]["details"] == {"region": "meadow", "tick": int(tick), "firstTick": 1,
                                                   "lastTick": 8}


def test_a_region_without_ticks_or_without_existence_is_404(db):
    client = APIClient()
    assert error_of(client.get("/worlds/nowhere/ticks/1")) == (404, "not_found")
    assert client.get("/worlds/nowhere/ticks/1").json()["error"]["details"] == {"region": "nowhere"}


@pytest.mark.parametrize("tick", ["x", "-1", "1e3", "1.5", "٣", str(MAX + 1), "9" * 40, " 1"])
def test_a_tick_that_is_not_a_whole_number_in_range_is_400(ticked, tick):
    response = APIClient().get(f"/worlds/meadow/ticks/{quote(tick)}")
    assert error_of(response) == (400, "invalid")


# --- GET /checkpoint/at -----------------------------------------------------------------------


@pytest.fixture
def checkpointed(ticked):
    """Checkpoints of meadow's world stream at three positions."""
    positions = []
    for tick in (10, 12):
        tick_until(ticked, tick)
        positions.append(create_checkpoint(WORLD).position)
    return sorted(set(Checkpoint.objects.filter(stream_id=WORLD).values_list("position", flat=True)))


def at(client, **params):
    return client.get("/checkpoint/at", params)


def test_at_answers_the_newest_checkpoint_at_or_before_a_position(checkpointed):
    client = APIClient()
    assert len(checkpointed) >= 3
    for asked in range(1, checkpointed[-1] + 5):
        expected = max((p for p in checkpointed if p <= asked), default=None)
        response = at(client, streamId=WORLD, position=asked)
        if expected is None:
            assert error_of(response) == (404, "no_checkpoint")
            assert response.json()["error"]["details"] == {"streamId": WORLD, "position": asked}
            continue
        assert response.status_code == 200
        body = response.json()
        checkpoint = Checkpoint.objects.get(stream_id=WORLD, position=expected)
        assert body["checkpoint"] == {
            "id": str(checkpoint.pk), "streamId": WORLD, "position": expected,
            "globalPosition": checkpoint.global_position, "checksum": checkpoint.checksum,
            "createdAt": checkpoint.created_at.isoformat().replace("+00:00", "Z")}
        payload = decode_token(body["token"])
        assert (payload.stream_id, payload.checkpoint_id, payload.position) == (WORLD, str(checkpoint.pk), expected)


def test_at_by_global_position_lines_a_stream_up_with_another(checkpointed):
    client = APIClient()
    marks = sorted(Checkpoint.objects.filter(stream_id=WORLD).values_list("global_position", "position"))
    for event in read_stream(WORLD, limit=10_000):
        asked = event.global_position
        expected = max((p for g, p in marks if g <= asked), default=None)
        body = at(client, streamId=WORLD, globalPosition=asked).json()
        assert body["checkpoint"]["position"] == expected
    response = at(client, streamId=WORLD, globalPosition=0)
    assert error_of(response) == (404, "no_checkpoint")
    assert response.json()["error"]["details"] == {"streamId": WORLD, "globalPosition": 0}


def test_a_token_from_at_reads_the_events_after_its_checkpoint(checkpointed):
    client = APIClient()
    middle = checkpointed[-2]
    body = at(client, streamId=WORLD, position=middle + 3).json()
    page = client.get("/sync", {"token": body["token"], "limit": 3}).json()
    assert page["checkpoint"]["position"] == middle
    assert [e["position"] for e in page["events"]] == [middle + 1, middle + 2, middle + 3]
    # The rebuild: the checkpoint's state and those events are the world at middle + 3.
    rebuilt = rules.fold("world", page["state"], page["events"])
    assert rebuilt == fold_upto(middle + 3)


@pytest.mark.parametrize("params", [
    {"streamId": WORLD},  # neither
    {"streamId": WORLD, "position": 3, "globalPosition": 3},  # both
    {"position": 3},
    {"streamId": "meadow", "position": 3},
    {"streamId": "world:Meadow", "position": 3},
    {"streamId": WORLD, "position": -1},
    {"streamId": WORLD, "position": "x"},
    {"streamId": WORLD, "position": "1.5"},
    {"streamId": WORLD, "position": MAX + 1},
    {"streamId": WORLD, "globalPosition": "9" * 30},
    {"streamId": WORLD, "position": ""},
])
def test_at_refuses_bad_input_with_400(checkpointed, params):
    response = at(APIClient(), **params)
    assert error_of(response) == (400, "invalid")


def test_at_of_an_unknown_stream_is_404(db):
    assert error_of(at(APIClient(), streamId="agent:nobody", position=5)) == (404, "no_checkpoint")


# --- GET /worlds/<region>/agents/<id>/outcomes -------------------------------------------------


def expected_outcomes(agent_id: str, before: int) -> list[int]:
    return [e.position for e in read_stream(WORLD, limit=10_000) if e.position < before and (
        (e.type in ("agent.action.succeeded", "agent.action.failed", "agent.spawned")
         and e.data.get("agentId") == agent_id)
        or (e.type in ("agent.action.succeeded", "agent.action.failed")
            and e.data.get("effects", {}).get("transfer", {}).get("to") == agent_id))]


def outcomes(client, agent="ada", **params):
    return client.get(f"/worlds/meadow/agents/{agent}/outcomes", params)


@pytest.fixture
def with_gift(ticked):
    """Bob gives Ada a berry (recorded as the tick would), then ticks 9..12."""
    record([(WORLD, [NewEvent("agent.action.succeeded", {
        "agentId": "bob", "tick": 8, "action": {"type": "give", "to": "ada", "resource": "berries", "amount": 1},
        "reason": None, "effects": {"energy": 70, "inventory": {"berries": -1}, "score": 1,
                                     "transfer": {"to": "ada", "resource": "berries", "amount": 1}}},
        {"actor": "system", "tick": 8})], ANY)])
    tick_until(ticked, 12)
    return ticked


def test_outcomes_are_the_agents_own_its_gifts_and_its_arrival_oldest_first(with_gift):
    response = outcomes(APIClient())
    assert response.status_code == 200
    body = response.json()
    head = read_stream(WORLD, limit=10_000)[-1].position
    assert [e["position"] for e in body["events"]] == expected_outcomes("ada", head + 1)
    assert body["events"][0]["type"] == "agent.spawned"
    assert [e["data"]["tick"] for e in body["events"] if e["data"].get("agentId") == "ada"
            and e["type"] != "agent.spawned"] == list(range(1, 13))
    assert sum(1 for e in body["events"] if e["data"]["agentId"] == "bob") == 1
    assert {k: body[k] for k in ("agentId", "region", "streamId", "headPosition", "complete")} == {
        "agentId": "ada", "region": "meadow", "streamId": WORLD, "headPosition": head, "complete": True}
    assert body["events"][-1] == read_stream(WORLD, after=body["events"][-1]["position"] - 1, limit=1)[0].to_wire()


def test_outcomes_page_backwards_to_the_arrival(with_gift):
    client = APIClient()
    before, seen, pages = None, [], 0
    while True:
        params = {"limit": 5} if before is None else {"limit": 5, "before": before}
        body = outcomes(client, **params).json()
        pages += 1
        assert len(body["events"]) <= 5
        seen = [e["position"] for e in body["events"]] + seen
        if body["complete"]:
            break
        assert body["nextBefore"] == body["events"][0]["position"]
        before = body["nextBefore"]
    head = read_stream(WORLD, limit=10_000)[-1].position
    assert seen == expected_outcomes("ada", head + 1)
    assert pages == -(-len(seen) // 5)


def test_a_page_scans_a_bounded_window_and_says_where_to_go_on(with_gift, monkeypatch):
    monkeypatch.setattr(selectors, "OUTCOME_SCAN_POSITIONS", 7)
    client = APIClient()
    head = read_stream(WORLD, limit=10_000)[-1].position
    body = outcomes(client, before=head + 1).json()
    assert body["nextBefore"] == head + 1 - 7 and body["complete"] is False
    assert [e["position"] for e in body["events"]] == [
        p for p in expected_outcomes("ada", head + 1) if p >= head + 1 - 7]
    seen, before = [], head + 1
    while True:
        body = outcomes(client, before=before).json()
        seen = [e["position"] for e in body["events"]] + seen
        if body["complete"]:
            break
        before = body["nextBefore"]
    assert seen == expected_outcomes("ada", head + 1)


def test_outcomes_before_the_start_are_empty_and_complete(with_gift):
    body = outcomes(APIClient(), before=1).json()
    assert (body["events"], body["nextBefore"], body["complete"]) == ([], 1, True)


@pytest.mark.parametrize("url", ["/worlds/meadow/agents/zed/outcomes", "/worlds/elsewhere/agents/ada/outcomes"])
def test_an_agent_not_in_that_region_is_404(with_gift, url):
    assert error_of(APIClient().get(url)) == (404, "not_found")


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 2001}, {"limit": "x"}, {"before": 0},
                                    {"before": -4}, {"before": MAX + 1}, {"before": "1e9"}])
def test_outcomes_refuse_bad_input_with_400(with_gift, params):
    assert error_of(outcomes(APIClient(), **params)) == (400, "invalid")


# --- anonymous, and rate limited like every read ----------------------------------------------


@pytest.mark.parametrize("url", ["/worlds/meadow/ticks/3", f"/checkpoint/at?streamId={WORLD}&position=900",
                                 "/worlds/meadow/agents/ada/outcomes"])
def test_each_read_is_anonymous_and_rate_limited_per_client(checkpointed, settings, url):
    settings.SELFPLAY_READ_RATE_LIMIT = 3
    client = APIClient()
    for _ in range(3):
        assert client.get(url).status_code == 200
    response = client.get(url)
    assert error_of(response) == (429, "rate_limited")
    assert int(response["Retry-After"]) > 0
    # Another client (address) is not held back by the first one's use.
    assert APIClient(REMOTE_ADDR="10.1.2.3").get(url).status_code == 200


def test_the_schema_documents_each_new_read_with_its_parameters_and_errors(client):
    schema = client.get("/api/schema/?format=json").json()
    tick = schema["paths"]["/worlds/{region_id}/ticks/{tick}"]["get"]
    assert {p["name"]: (p["in"], p["schema"]["type"]) for p in tick["parameters"]} == {
        "region_id": ("path", "string"), "tick": ("path", "integer")}
    assert set(tick["responses"]) == {"200", "400", "404", "429"}
    checkpoint_at = schema["paths"]["/checkpoint/at"]["get"]
    params = {p["name"]: p for p in checkpoint_at["parameters"]}
    assert set(params) == {"streamId", "position", "globalPosition"}
    assert params["streamId"]["required"] is True
    assert params["position"]["schema"] == {"type": "integer", "format": "int64", "minimum": 0, "maximum": MAX}
    assert set(checkpoint_at["responses"]) == {"200", "400", "404", "429"}
    outcomes_op = schema["paths"]["/worlds/{region_id}/agents/{agent_id}/outcomes"]["get"]
    params = {p["name"]: p for p in outcomes_op["parameters"]}
    assert set(params) == {"region_id", "agent_id", "before", "limit"}
    assert params["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 2000, "default": 500}
    assert set(outcomes_op["responses"]) == {"200", "400", "404", "429"}
