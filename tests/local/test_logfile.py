"""The log file: every byte covered, every tick re-evaluated, the first bad event named."""

import copy
import json

import pytest

from events.hashing import event_hash
from selfplay.local import logfile
from selfplay.local.logfile import LogRefused

from .worlds import REGION, local_run

WORLD = f"world:{REGION}"
ADA = f"{REGION}-builder-1"


@pytest.fixture(scope="module")
def small():
    """One tick of four agents on a 6 × 5 region, with a pending override."""
    run = local_run(width=6, height=5, plan_every=1000)
    run.run_to(1)
    run.take(run.engine.command(kind="override", agent_id=ADA, action={"type": "rest"}, reason="sleepy"))
    return run


@pytest.fixture(scope="module")
def longer():
    run = local_run(per_brain=2)
    run.run_to(12)
    return run


def rechain(events: list[dict]) -> list[dict]:
    """Recompute every hash and link, as someone who edits a log and covers their tracks would."""
    heads: dict[str, tuple[int, str]] = {}
    out = []
    for event in events:
        position, prev = heads.get(event["streamId"], (0, ""))
        event = {**event, "position": position + 1, "prevHash": prev}
        event["hash"] = event_hash(prev_hash=prev, event_id=event["id"], stream_id=event["streamId"],
                                   position=event["position"], type=event["type"], data=event["data"],
                                   metadata=event["metadata"])
        heads[event["streamId"]] = (event["position"], event["hash"])
        out.append(event)
    return out


def refusal(events: list[dict], **kwargs) -> LogRefused:
    with pytest.raises(LogRefused) as refused:
        logfile.load(logfile.dumps(REGION, events), **kwargs)
    return refused.value


def where(events: list[dict], index: int) -> dict:
    event = events[index]
    return {"index": index, "streamId": event["streamId"], "position": event["position"],
            "globalPosition": event["globalPosition"]}


def test_a_log_round_trips_and_says_what_it_holds(small):
    text = logfile.dumps(REGION, small.events)
    lines = text.splitlines()
    assert lines[0] == '{"format":"selfplay-log","region":"' + REGION + '","version":1,"events":['
    assert len(lines) == 2 * len(small.events) + 3  # one line per event and per seal
    log = logfile.load(text.encode())
    assert (log.region, log.seed, log.width, log.height, log.last_tick, log.ticks) == (REGION, 7, 6, 5, 1, 1)
    assert log.events == small.events
    assert sorted(log.agents) == sorted(small.engine.state["world"]["agents"])
    assert log.agents[ADA] == {"name": "Builder 1", "brain": "builder", "status": "active", "spawnedAt": 1}
    assert log.world == small.engine.state["world"]
    [pending] = log.pending
    assert pending["agentId"] == ADA and pending["appliesAtTick"] == 2 and pending["source"] == "override"
    assert pending["actor"] == "player:local" and pending["action"] == {"type": "rest"}


def test_every_flipped_bit_anywhere_in_the_file_is_refused(small):
    raw = logfile.dumps(REGION, small.events).encode()
    accepted = []
    for offset in range(len(raw)):
        flipped = bytearray(raw)
        flipped[offset] ^= 0x01
        try:
            logfile.load(bytes(flipped))
        except LogRefused:
            continue
        accepted.append((offset, raw[max(0, offset - 30):offset + 10]))
    assert accepted == []


def test_a_changed_event_is_named_by_its_position(longer):
    events = copy.deepcopy(longer.events)
    index = next(i for i, e in enumerate(events) if e["type"] == "agent.action.succeeded" and e["data"]["tick"] == 5)
    events[index]["data"]["effects"]["energy"] += 1
    refused = refusal(events)
    assert refused.details == {"reason": "hash_mismatch", **where(events, index)}
    assert refused.message == (f"event #{index + 1} of the file ({WORLD} position {events[index]['position']}, "
                               f"global position {events[index]['globalPosition']}): the hash does not match "
                               "the event's content")


def test_a_removed_event_breaks_its_streams_chain(longer):
    events = copy.deepcopy(longer.events)
    gone = next(i for i, e in enumerate(events) if e["streamId"] == WORLD and e["type"] == "agent.action.succeeded")
    del events[gone]
    refused = refusal(events)
    assert refused.details == {"reason": "chain_broken", **where(events, gone)}
    assert f"position {longer.events[gone]['position']} of {WORLD} was expected" in refused.message


def test_moved_events_and_changed_times_are_refused(longer):
    events = copy.deepcopy(longer.events)
    events[20], events[21] = events[21], events[20]
    assert refusal(events).details == {"reason": "out_of_order", **where(events, 21)}

    # The hash chain leaves recordedAt out; the seal covers it.
    text = logfile.dumps(REGION, longer.events)
    line = logfile.canonical_json(longer.events[33])
    assert text.count(line) == 1
    tampered = text.replace(line, line.replace('"recordedAt":"2026-01-01', '"recordedAt":"2026-01-02'))
    with pytest.raises(LogRefused) as refused:
        logfile.load(tampered)
    assert refused.value.details == {"reason": "seal_mismatch", **where(longer.events, 33)}


def test_a_forged_decision_with_recomputed_hashes_fails_on_re_evaluation(longer):
    events = copy.deepcopy(longer.events)
    index = next(i for i, e in enumerate(events)
                 if e["streamId"] == f"agent:{ADA}" and e["type"] == "agent.action.submitted" and e["data"]["tick"] == 7)
    events[index]["data"]["action"] = {"type": "say", "text": "I was told to"}
    events = rechain(events)
    outcome = next(i for i, e in enumerate(events)
                   if e["type"].startswith("agent.action.") and e["streamId"] == WORLD
                   and e["data"]["agentId"] == ADA and e["data"]["tick"] == 7)
    refused = refusal(events)
    assert refused.details == {"reason": "replay_divergence", "tick": 7, **where(events, outcome)}
    assert f"tick 7 does not re-evaluate to what was recorded: agent {ADA}: recorded" in refused.message


def test_a_forged_checksum_is_named_at_its_tick(longer):
    events = copy.deepcopy(longer.events)
    index = next(i for i, e in enumerate(events) if e["type"] == "world.tick.completed" and e["data"]["tick"] == 9)
    events[index]["data"]["checksum"] = "0" * 64
    events = rechain(events)
    refused = refusal(events)
    assert refused.details == {"reason": "replay_divergence", "tick": 9, **where(events, index)}
    assert refused.message.endswith("world checksum after the tick differs from the recorded one")


def test_a_log_that_stops_inside_a_tick_is_refused(longer):
    events = longer.events[:-1]  # the last completion is missing
    first_orphan = next(i for i, e in enumerate(events) if e["type"].startswith("agent.action.s")
                        and e["streamId"] == WORLD and e["data"]["tick"] == 12)
    assert refusal(events).details == {"reason": "replay_divergence", **where(events, first_orphan)}


def test_actors_and_brains_the_importer_does_not_allow_are_refused(longer):
    events = copy.deepcopy(longer.events)
    index = 40
    events[index]["metadata"]["actor"] = "operator:mallory"
    events = rechain(events)
    refused = refusal(events, actors={"system", "player:local", "player:alice"})
    assert refused.details == {"reason": "actor_not_allowed", "actor": "operator:mallory", **where(events, index)}
    assert logfile.load(logfile.dumps(REGION, longer.events), actors={"system", "player:local"}).ticks == 12

    refused = refusal(longer.events, brains={"forager", "trader", "wanderer"})
    assert refused.details == {"reason": "unknown_brain", "brain": "builder", **where(longer.events, 1)}


def test_events_of_other_streams_are_refused(longer):
    events = copy.deepcopy(longer.events)
    events[30] = {**events[30], "streamId": "agent:somebody-else"}
    events = rechain(events)
    refused = refusal(events)
    assert refused.details == {"reason": "invalid_event", **where(events, 30)}
    assert "agent somebody-else was not spawned" in refused.message


@pytest.mark.parametrize("text,details", [
    (b'{"format":"selfplay-log",', {"reason": "not_json", "offset": 25, "line": 1, "column": 26}),
    (b"\xff{}", {"reason": "not_json", "offset": 0}),
    (b'{"format":"selfplay-log","version":2,"region":"r","events":[],"seals":[]}',
     {"reason": "format", "format": "selfplay-log", "version": "2"}),
    (b'{"format":"selfplay-log","version":1,"region":"r","events":[{}],"seals":[],"x":1}',
     {"reason": "format", "keys": ["events", "format", "region", "seals", "version", "x"]}),
    (b'{"format":"selfplay-log","version":1,"region":"r","events":[],"seals":[]}',
     {"reason": "format", "field": "events"}),
    (b'{"format":"selfplay-log","version":1,"version":1,"region":"r","events":[],"seals":[]}',
     {"reason": "not_json"}),
])
def test_what_is_not_a_log_file_is_refused_with_where(text, details):
    with pytest.raises(LogRefused) as refused:
        logfile.load(text)
    assert refused.value.details == details


def test_a_log_larger_than_the_limit_is_refused_before_it_is_verified(longer):
    with pytest.raises(LogRefused) as refused:
        logfile.load(logfile.dumps(REGION, longer.events), max_events=10)
    assert refused.value.details == {"reason": "too_large", "events": len(longer.events), "limit": 10}


def test_the_header_must_name_the_logs_world(longer):
    text = logfile.dumps(REGION, longer.events).replace(f'"region":"{REGION}"', '"region":"elsewhere"', 1)
    with pytest.raises(LogRefused) as refused:
        logfile.load(text)
    assert refused.value.details == {"reason": "invalid_event", **where(longer.events, 0)}
    assert json.loads(text)["region"] == "elsewhere"
