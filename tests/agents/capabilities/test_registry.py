"""Installing plugins by dotted path; a missing or broken one is unavailable, never a halted world."""

import pytest

from agents.capabilities import registry, services
from agents.capabilities.checks import check_capabilities
from agents.capabilities.services import grant_capabilities
from agents.services import tick_region

from ..worlds import at, run_command
from .helpers import capability_events, perform_pending

pytestmark = pytest.mark.django_db

HERE = "tests.agents.capabilities.helpers"


def test_the_built_ins_are_installed_and_available():
    assert [(s["name"], s["status"], s["cost"]) for s in registry.statuses()] == [
        ("hash", "available", 1), ("notify", "available", 3), ("post", "available", 8),
        ("read_authenticated", "available", 5), ("read_public", "available", 5), ("store", "available", 2)]


def test_a_plugin_that_fails_to_import_or_start_is_unavailable_with_its_reason(settings):
    settings.SELFPLAY_CAPABILITIES = {
        "hash": "agents.capabilities.builtin.Sha256Hash",
        "store": "agents.capabilities.builtin.NoSuchStore",
        "notify": f"{HERE}.BrokenAtStart",
        "post": "agents.models.Agent",  # not a Capability
    }
    found = {s["name"]: (s["status"], s["reason"]) for s in registry.statuses()}
    assert found == {
        "hash": ("available", ""),
        "store": ("unavailable", "ImportError: Module \"agents.capabilities.builtin\" does not define a "
                                 "\"NoSuchStore\" attribute/class"),
        "notify": ("unavailable", "RuntimeError: no configuration for this plugin"),
        "post": ("unavailable", "TypeError: agents.models.Agent is not a subclass of "
                                "agents.capabilities.base.Capability"),
        "read_authenticated": ("unavailable", "not installed (not in SELFPLAY_CAPABILITIES)"),
        "read_public": ("unavailable", "not installed (not in SELFPLAY_CAPABILITIES)"),
    }


def test_an_uninstalled_or_broken_plugin_fails_its_requests_unavailable_and_the_world_ticks_on(
        hall, settings):
    grant_capabilities(agent_id="ada", grants=["hash"], actor="system")
    grant_capabilities(agent_id="bo", grants=["notify"], actor="system")
    settings.SELFPLAY_CAPABILITIES = {"notify": f"{HERE}.BrokenAtStart"}  # hash uninstalled, notify broken
    report = tick_region(region_id="hall", now=at(hall, 3))
    assert report.ticks == [1, 2, 3]
    assert [(e.data["agentId"], e.data["tick"], e.type, e.data.get("code")) for e in capability_events()] == [
        ("ada", 1, "capability.failed", "unavailable"), ("bo", 1, "capability.failed", "unavailable"),
        ("ada", 2, "capability.failed", "unavailable"), ("bo", 2, "capability.failed", "unavailable"),
        ("ada", 3, "capability.failed", "unavailable"), ("bo", 3, "capability.failed", "unavailable")]


def test_a_plugin_uninstalled_after_the_request_fails_it_unavailable_in_the_worker(hall, settings):
    grant_capabilities(agent_id="ada", grants=["hash"], actor="system")
    tick_region(region_id="hall", now=at(hall, 1))
    settings.SELFPLAY_CAPABILITIES = {}
    assert perform_pending() == ["failed:unavailable"]
    [failed] = [e for e in capability_events("capability.failed") if e.data["agentId"] == "ada"]
    assert failed.data["code"] == "unavailable" and "budget" not in failed.data


def test_a_plugin_that_raises_fails_error_without_its_message_in_the_log(hall, settings, caplog):
    settings.SELFPLAY_CAPABILITIES = {"hash": f"{HERE}.Leaky"}
    grant_capabilities(agent_id="ada", grants=["hash"], actor="system")
    tick_region(region_id="hall", now=at(hall, 1))
    assert perform_pending() == ["failed:error"]
    assert "s3cr3t" not in caplog.text and "ValueError" in caplog.text
    assert all("s3cr3t" not in str(e.data) for e in capability_events())


def test_replay_rebuild_and_verify_never_call_a_plugin(hall, settings):
    grant_capabilities(agent_id="ada", grants=["hash"], actor="system")
    grant_capabilities(agent_id="bo", grants=["notify"], actor="system")
    for tick in range(1, 5):
        tick_region(region_id="hall", now=at(hall, tick))
        perform_pending()
    assert len(capability_events("capability.completed")) >= 4
    settings.SELFPLAY_CAPABILITIES = {name: f"{HERE}.CalledInReplay" for name in registry.KNOWN}
    code, out, _ = run_command("verify_replay", "--no-progress")
    assert code == 0 and "4 ticks re-evaluated" in out, out
    code, out, _ = run_command("rebuild_projections", "--verify", "--no-progress")
    assert code == 0 and out.startswith("ok: "), out
    assert services.sweep(older_than_ticks=0) == 0  # nothing pending, nothing performed


def test_the_system_check_warns_of_an_unavailable_plugin_without_failing(settings):
    assert check_capabilities(None) == []
    settings.SELFPLAY_CAPABILITIES = {"hash": "agents.capabilities.builtin.Sha256Hash", "notify": f"{HERE}.BrokenAtStart"}
    settings.SELFPLAY_CAPABILITY_COSTS = {"hash": -1}
    found = [(w.id, w.level, w.msg) for w in check_capabilities(None)]
    assert found == [
        ("agents.W001", 30, f"capability notify ({HERE}.BrokenAtStart) is unavailable: "
                            "RuntimeError: no configuration for this plugin"),
        ("agents.W002", 30, "SELFPLAY_CAPABILITY_COSTS['hash'] must be a whole number >= 0, not -1")]
