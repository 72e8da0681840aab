"""Adopting a local world's log (DESIGN §10): verified first, then one transaction or nothing."""

import copy
import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError

from agents import exports
from agents.exports import export_log
from agents.imports import TransferRefused, import_log
from agents.models import Agent, PendingCommand, Region
from agents.services import NewAgent, spawn_agents, tick_region
from events.models import Event, Projection, Stream
from events.projections import load_state
from selfplay.local import logfile
from tests.local.test_logfile import rechain
from tests.local.worlds import REGION, local_run
from tests.support.databases import flush_past_append_only_triggers

from .test_planning import in_another_thread
from .worlds import at, events_of, make_region, run_command

pytestmark = pytest.mark.django_db

WORLD = f"world:{REGION}"
ADA = f"{REGION}-builder-1"


@pytest.fixture
def alice():
    return User.objects.create_user("alice", password="pw-alice-123")


@pytest.fixture
def played():
    """A local world at tick 12 with an override typed in for tick 13."""
    run = local_run(per_brain=2, plan_every=5)
    run.run_to(12)
    run.take(run.engine.command(kind="override", agent_id=ADA, action={"type": "rest"}, reason="tired"))
    return run


def counts() -> dict:
    return {"events": Event.objects.count(), "streams": Stream.objects.count(), "regions": Region.objects.count(),
            "agents": Agent.objects.count(), "pending": PendingCommand.objects.count(),
            "projections": Projection.objects.count()}


def file_of(events: list[dict]) -> bytes:
    return logfile.dumps(REGION, events).encode()


def refused(raw: bytes, owner) -> TransferRefused:
    before = counts()
    with pytest.raises(TransferRefused) as refusal:
        import_log(owner=owner, raw=raw)
    assert counts() == before, "a refused import wrote something"
    return refusal.value


def test_a_clean_log_becomes_a_region_of_the_importer_that_ticks_on_from_its_last_tick(played, alice, settings):
    settings.SELFPLAY_SIM_TICK_SECONDS = 2
    now = played.clock.now + timedelta(days=3)
    report = import_log(owner=alice, raw=file_of(played.events), now=now)

    assert (report.region, report.owner, report.events, report.ticks, report.last_tick) == (
        REGION, "alice", len(played.events), 12, 12)
    region = Region.objects.get(id=REGION)
    assert (region.seed, region.width, region.height, region.tick_seconds) == (7, 16, 12, 2)
    assert region.epoch == now - timedelta(seconds=24)  # tick 13 is due one interval after the import
    agents = {a.id: (a.brain, a.owner.username, a.status) for a in Agent.objects.filter(region=region)}
    assert agents == {aid: (entry["brain"], "alice", "active")
                      for aid, entry in played.engine.state["world"]["agents"].items()}

    # Re-recorded as they were: same ids, positions, content and therefore the same hashes.
    for stream_id in {e["streamId"] for e in played.events}:
        stored = [e.to_wire() for e in events_of(stream_id)]
        local = [e for e in played.events if e["streamId"] == stream_id]
        keys = ("id", "position", "type", "data", "metadata", "prevHash", "hash")
        assert [{k: e[k] for k in keys} for e in stored[:len(local)]] == [{k: e[k] for k in keys} for e in local]
    [imported] = events_of(region.stream_id, "world.imported")
    assert imported.data == {"region": REGION, "owner": "alice", "events": len(played.events), "ticks": 12,
                             "lastTick": 12, "epoch": region.epoch.isoformat(), "tickSeconds": 2}
    assert imported.metadata == {"actor": "player:alice"}
    [pending] = PendingCommand.objects.all()
    assert (pending.agent_id, pending.applies_at_tick, pending.action, pending.actor) == (
        ADA, 13, {"type": "rest"}, "player:local")
    assert Projection.objects.get(name="world", key=REGION).state == played.engine.state["world"]

    assert run_command("verify_chain")[0] == 0
    code, out, err = run_command("verify_replay", "--no-progress")
    assert (code, err) == (0, ""), err
    assert "12 ticks re-evaluated" in out

    # The daemon goes on exactly as the tab would have: same decisions, same world.
    tick_region(region_id=REGION, now=at(region, 15))
    local = [b for b in played.run_to(15) if b.events[-1]["type"] == "world.tick.completed"]
    server = events_of(region.stream_id, "world.tick.completed")[-3:]
    assert [e.data["tick"] for e in server] == [13, 14, 15]
    assert [e.data["checksum"] for e in server] == [b.events[-1]["data"]["checksum"] for b in local]
    for tick in (13, 14, 15):
        daemon = {e.stream_id: (e.data["action"], e.data["source"]) for e in Event.objects.filter(
            type="agent.action.submitted", stream__id__startswith=f"agent:{REGION}-") if e.data["tick"] == tick}
        tab = {e["streamId"]: (e["data"]["action"], e["data"]["source"]) for e in played.events
               if e["type"] == "agent.action.submitted" and e["data"]["tick"] == tick}
        assert daemon == tab
    assert [e.data["source"] for e in events_of(f"agent:{ADA}", "agent.action.submitted")
            if e.data["tick"] == 13] == ["override"]
    assert not PendingCommand.objects.exists()


def test_the_follower_measures_an_imported_regions_cadence_from_the_import_on(played, alice):
    from verification.models import Flag, FollowerCursor
    from verification.services import follow

    now = played.clock.now + timedelta(hours=5)
    import_log(owner=alice, raw=file_of(played.events), now=now)
    region = Region.objects.get(id=REGION)
    for tick in (13, 14):  # each run just after its due moment (the injected clock records it then)
        tick_region(region_id=REGION, now=at(region, tick + 0.1))
    follow()
    # Ticks recorded in the tab say nothing of the daemon's cadence; its own do, against its epoch.
    watched = FollowerCursor.objects.get(name="verification").state["regions"][REGION]
    assert (watched["epoch"], watched["tickSeconds"]) == (region.epoch.isoformat(), 2)
    assert len(watched["lateness"]) == 2
    assert list(Flag.objects.values_list("kind", flat=True)) == []


def test_a_changed_byte_is_refused_naming_its_event_and_nothing_is_written(played, alice):
    text = logfile.dumps(REGION, played.events)
    event = next(e for e in played.events if e["type"] == "agent.action.succeeded" and e["data"]["tick"] == 6)
    line = logfile.canonical_json(event)
    index = played.events.index(event)
    tampered = text.replace(line, line.replace('"tick":6', '"tick":7', 1)).encode()
    refusal = refused(tampered, alice)
    assert refusal.code == "invalid" and refusal.status == 400
    assert refusal.details == {"reason": "hash_mismatch", "index": index, "streamId": WORLD,
                               "position": event["position"], "globalPosition": event["globalPosition"]}
    assert refusal.message.startswith(f"The log does not verify: event #{index + 1} of the file ({WORLD} position ")


def test_a_broken_chain_and_a_divergent_tick_are_refused_and_nothing_is_written(played, alice):
    events = copy.deepcopy(played.events)
    gone = next(i for i, e in enumerate(events) if e["type"] == "agent.action.failed" or (
        e["type"] == "agent.action.succeeded" and e["data"]["tick"] == 3))
    del events[gone]
    assert refused(file_of(events), alice).details["reason"] == "chain_broken"

    events = copy.deepcopy(played.events)
    decision = next(i for i, e in enumerate(events) if e["type"] == "agent.action.submitted"
                    and e["streamId"] == f"agent:{ADA}" and e["data"]["tick"] == 8)
    events[decision]["data"]["action"] = {"type": "say", "text": "not what I chose"}
    refusal = refused(file_of(rechain(events)), alice)
    assert (refusal.details["reason"], refusal.details["tick"]) == ("replay_divergence", 8)
    assert refusal.details["streamId"] == WORLD


def test_a_log_speaking_for_someone_else_is_refused(played, alice):
    events = copy.deepcopy(played.events)
    override = next(i for i, e in enumerate(events) if e["type"] == "player.override.submitted")
    events[override]["metadata"]["actor"] = "operator:olga"
    refusal = refused(file_of(rechain(events)), alice)
    assert refusal.details["reason"] == "actor_not_allowed"
    assert refusal.details["index"] == override


def test_a_log_whose_ids_the_daemon_already_has_is_refused_with_409(played, alice, epoch):
    import_log(owner=alice, raw=file_of(played.events))
    refusal = refused(file_of(played.events), alice)
    assert (refusal.code, refusal.status) == ("conflict", 409)
    assert refusal.details == {"region": REGION, "streamId": WORLD}

    other = local_run(region="loc-other001", per_brain=1)
    other.run_to(2)
    make_region("hill", epoch=epoch, agents={})
    spawn_agents(region_id="hill", rng_seed=1, agents=[NewAgent(id="loc-other001-forager-1", name="F", brain="forager")])
    refusal = refused(logfile.dumps("loc-other001", other.events).encode(), alice)
    assert refusal.code == "conflict"
    assert (refusal.details["agentId"], refusal.details["index"], refusal.details["position"]) == (
        "loc-other001-forager-1", 2, 3)


def test_a_gzipped_log_imports_and_an_oversized_one_is_refused(played, alice, settings):
    import gzip

    report = import_log(owner=alice, raw=gzip.compress(file_of(played.events)))
    assert report.events == len(played.events)
    settings.SELFPLAY_IMPORT_MAX_BYTES = 1000
    other = local_run(region="loc-other002")
    raw = logfile.dumps("loc-other002", other.events).encode()
    assert refused(raw, alice).details == {"reason": "too_large", "limit": 1000}
    assert refused(gzip.compress(raw), alice).details == {"reason": "too_large", "limit": 1000}


def test_an_exported_region_is_a_log_that_verifies_and_holds_its_streams(played, alice):
    import_log(owner=alice, raw=file_of(played.events))
    region = Region.objects.get(id=REGION)
    tick_region(region_id=REGION, now=at(region, 14))
    log = logfile.load(export_log(region))
    assert log.region == REGION and log.last_tick == 14 and log.ticks == 14
    assert log.events[:len(played.events)] == [
        {**e, "globalPosition": s["globalPosition"], "recordedAt": s["recordedAt"]}
        for e, s in zip(played.events, log.events, strict=False)]
    assert log.events[len(played.events)]["type"] == "world.imported"
    streams = {e["streamId"] for e in log.events}
    assert streams == {WORLD, *(f"agent:{a}" for a in played.engine.state["world"]["agents"])}


def test_a_log_with_capability_records_imports_and_its_grants_are_withdrawn(played, alice):
    """A daemon's export holds its agents' capability records (the demo's scribes are granted
    some): the log verifies and imports, but grants do not travel with a file anyone can write."""
    last = played.events[-1]
    granted = {**last, "id": "0b6f3c7e-8f7a-4a53-9a53-3e1e6b7c2d11", "streamId": f"agent:{ADA}",
               "type": "agent.capabilities.granted", "globalPosition": last["globalPosition"] + 1,
               "data": {"agentId": ADA, "region": REGION, "grants": ["hash"], "previous": []},
               "metadata": {"actor": "system"}}
    events = rechain([*played.events, granted])
    assert logfile.load(logfile.dumps(REGION, events)).last_tick == 12

    import_log(owner=alice, raw=file_of(events))
    [*_, kept, withdrawn] = events_of(f"agent:{ADA}")
    assert (kept.type, kept.data["grants"]) == ("agent.capabilities.granted", ["hash"])
    assert (withdrawn.type, withdrawn.data, withdrawn.metadata["actor"]) == (
        "agent.capabilities.granted", {"agentId": ADA, "region": REGION, "grants": [], "previous": ["hash"]}, "system")
    ledger = load_state("agents", REGION)[0]["agents"][ADA]["capabilities"]
    assert ledger["grants"] == []


def test_an_adopted_log_s_ticks_do_not_count_as_this_daemon_s_cadence(played, alice):
    from verification.selectors import recent_completions, region_continuity

    import_log(owner=alice, raw=file_of(played.events))
    region = Region.objects.get(id=REGION)
    assert recent_completions(region) == []  # 12 ticks, all recorded at the import
    tick_region(region_id=REGION, now=at(region, 13))
    assert [data["tick"] for data, _ in recent_completions(region)] == [13]
    continuity = region_continuity(region)
    assert (continuity["ticksMeasured"], continuity["caughtUpTicks"], continuity["latenessP50Ms"]) == (1, 0, 0)


def test_the_management_commands_import_and_export(played, alice, tmp_path):
    path = tmp_path / "log.json"
    path.write_bytes(file_of(played.events))
    code, out, err = run_command("import_world", str(path), "--owner", "alice")
    assert (code, err) == (0, "")
    assert out == (f"imported region {REGION} for alice: {len(played.events)} events, 12 ticks re-evaluated, "
                   "8 agents; ticking on from tick 13 every 2 s\n")
    code, out, err = run_command("import_world", str(path), "--owner", "alice")
    assert code == 1 and err.startswith(f"refused (conflict): The daemon already has a region {REGION}.")
    assert json.loads(err.splitlines()[1]) == {"region": REGION, "streamId": WORLD}

    code, out, _ = run_command("export_world", REGION)
    assert code == 0 and logfile.load(out).last_tick == 12
    with pytest.raises(CommandError, match="no such folder"):
        run_command("export_world", REGION, "-o", str(tmp_path / "missing" / "log.json"))


def test_a_region_ticking_while_it_is_exported_exports_one_moment_of_its_log(transactional_db, epoch, monkeypatch):
    region = make_region("busy", epoch=epoch, agents={"ann": "builder", "bob": "forager"})
    tick_region(region_id="busy", now=at(region, 1))
    read_stream, ticked = exports.read_stream, []

    def read_while_the_world_ticks(stream_id, **kwargs):
        if stream_id.startswith("agent:") and not ticked:
            # The world stream is read; tick 2 commits before the agents' streams are.
            in_another_thread(lambda: ticked.append(tick_region(region_id="busy", now=at(region, 2))))
        return read_stream(stream_id, **kwargs)

    monkeypatch.setattr(exports, "read_stream", read_while_the_world_ticks)
    try:
        log = logfile.load(export_log(region))
        assert ticked[0].ticks == [2]
        assert (log.last_tick, log.ticks) == (1, 1)
        assert {e["data"]["tick"] for e in log.events if e["type"] == "agent.action.submitted"} == {1}
    finally:
        flush_past_append_only_triggers()
