"""/local/ in real Chromium (DESIGN §10): the daemon's Python under Pyodide, the log in IndexedDB.

The world ticks with the network cut and survives a reload; its log verifies in CPython; moved
to the daemon it goes on from its last tick; a tampered log is refused naming its position with
nothing written; an exported region opens in the tab; and 500 ticks give the same checksums in
CPython and in Pyodide.
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from events.compact import unpack_hash, unpack_json
from selfplay import world as world_rules
from selfplay.local import logfile
from selfplay.local.simulate import run as simulate_in_cpython
from selfplay.web.local_pages import PYODIDE_FILES
from tests.e2e.processes import wait_for
from tests.support.databases import REPO

from .conftest import PLAYER, REGION, LiveWorld, Tab, log_in, screenshot

pytestmark = pytest.mark.e2e

# Pyodide's start, then a tick of 1 s: a local world needs a little longer than a live page.
BOOT_MS = 60_000


@pytest.fixture(scope="module", autouse=True)
def pyodide_installed():
    missing = [name for name in PYODIDE_FILES if not (REPO / "static/vendor/pyodide" / name).exists()]
    assert not missing, f"static/vendor/pyodide lacks {missing}: run `make pyodide` (make install does)"


def tick_of(page: Page) -> int:
    return page.evaluate("window.selfplay.snapshot().state?.tick ?? -1")


def wait_ticking(page: Page, *, at_least: int) -> int:
    page.wait_for_function(f"(window.selfplay.snapshot().state?.tick ?? -1) >= {at_least}", timeout=BOOT_MS)
    return tick_of(page)


def exported(page: Page) -> str:
    """Return the open world's log file, as its Download button gives it."""
    return page.evaluate("window.selfplayLocal.worker.request('export').then((a) => a.text)")


def region_tick(live_world: LiveWorld, region: str) -> int:
    rows = live_world.query("SELECT data FROM events_event WHERE stream_id = %s AND type = %s "
                            "ORDER BY position DESC LIMIT 1", (f"world:{region}", "world.tick.completed"))
    return (json.loads(unpack_json(rows[0][0])) if isinstance(rows[0][0], str | bytes) else rows[0][0])["tick"] \
        if rows else 0


def world_stream(log: logfile.VerifiedLog, region: str, upto: int) -> list[dict]:
    return [e for e in log.events if e["streamId"] == f"world:{region}" and e["position"] <= upto]


def assert_state_is_the_logs_fold(page: Page) -> dict:
    """Hold ticking; the page's world is the fold of its stored log, which verifies in CPython."""
    page.evaluate("window.selfplayLocal.worker.request('hold')")
    meta = page.evaluate("window.selfplayLocal.meta()")
    log = logfile.load(exported(page))  # every chain, every seal, every tick re-evaluated here
    region = meta["region"]
    last = max(e["position"] for e in log.events if e["streamId"] == f"world:{region}")
    page.wait_for_function(f"window.selfplay.snapshot().position === {last}")
    snapshot = page.evaluate("window.selfplay.snapshot()")
    folded = world_rules.fold("world", world_rules.initial_state("world", region), world_stream(log, region, last))
    assert snapshot["state"] == folded
    page.wait_for_function(f"document.getElementById('tick').textContent === '{folded['tick']}'")
    page.evaluate("window.selfplayLocal.worker.request('unhold')")
    return {"log": log, "region": region, "position": last, "tick": folded["tick"]}


def test_500_ticks_give_the_same_checksums_in_cpython_and_in_pyodide(tab: Tab):
    page = tab.page
    page.goto("/local/")  # a fresh browser: no world to open, Python alone
    booted = page.evaluate("window.selfplayLocal.started")
    assert booted["key"] is None and booted["version"] == "0.25.1"
    spec = {"region": "loc-determin", "seed": 20261126, "width": 48, "height": 32, "perBrain": 5, "ticks": 500}
    in_pyodide = page.evaluate("(spec) => window.selfplayLocal.simulate(spec)", spec)
    in_cpython = simulate_in_cpython(region=spec["region"], seed=spec["seed"], width=48, height=32, per_brain=5,
                                     ticks=500)
    assert len(in_cpython["checksums"]) == 500 and len(set(in_cpython["checksums"])) > 400
    for tick, (ours, theirs) in enumerate(zip(in_cpython["checksums"], in_pyodide["checksums"], strict=True), 1):
        assert ours == theirs, f"tick {tick}: CPython {ours}, Pyodide {theirs}"
    assert in_pyodide["decisions"] == in_cpython["decisions"]
    assert in_pyodide["checkpoints"] == in_cpython["checkpoints"] and len(in_cpython["checkpoints"]) >= 30
    assert in_pyodide["heads"] == in_cpython["heads"]  # every stream's chain, hash for hash
    assert in_pyodide["events"] == in_cpython["events"]
    print(f"BENCH local.pyodide_start ms={booted['pyodideMs']} core_ms={booted['coreMs']}; "
          f"local.simulate_500_ticks_20_agents ms={in_pyodide['elapsedMs']}")
    tab.assert_no_errors()


def test_a_local_world_ticks_with_the_network_cut_and_a_reload_resumes_it(tab: Tab):
    page = tab.page
    page.goto("/local/?seed=4242")
    first = wait_ticking(page, at_least=2)
    expect(page.locator("#conn")).to_contain_text("Ticking in this tab")
    expect(page.locator("#seed")).to_have_text("4242")
    page.wait_for_function("document.body.dataset.offlineReady === 'true'", timeout=BOOT_MS)
    key = page.evaluate("window.selfplayLocal.key()")

    tab.context.set_offline(True)
    cut_at = wait_ticking(page, at_least=first + 2)  # ticking with the network gone
    position = page.evaluate("window.selfplay.client.position")

    page.reload()  # offline: the service worker serves the page, the worker, Pyodide and the core
    resumed = wait_ticking(page, at_least=cut_at + 1)
    assert page.evaluate("window.selfplayLocal.key()") == key  # the same world, not a new one
    positions = page.evaluate("window.selfplay.positions()")
    assert positions == list(range(positions[0], positions[-1] + 1)), "a position is missing or repeated"
    assert positions[-1] > position and resumed > cut_at

    checked = assert_state_is_the_logs_fold(page)
    completed = [e["data"]["tick"] for e in world_stream(checked["log"], checked["region"], checked["position"])
                 if e["type"] == "world.tick.completed"]
    assert completed == list(range(1, checked["tick"] + 1)), "a tick was skipped or repeated across the reload"
    tab.context.set_offline(False)
    screenshot(page, "local-world.png")
    tab.assert_no_errors()


def test_a_world_moved_to_the_daemon_goes_on_there_from_its_last_local_tick(tab: Tab, live_world: LiveWorld):
    page = tab.page
    log_in(page)
    page.goto("/local/?seed=99")
    wait_ticking(page, at_least=3)
    region = page.evaluate("window.selfplayLocal.meta().region")
    assert re.fullmatch(r"loc-[0-9a-f]{8}", region)
    page.get_by_role("button", name="Move it to the daemon").click()
    link = page.locator("#pushed-link")
    expect(link).to_have_attribute("href", f"/world/{region}/", timeout=BOOT_MS)
    expect(page.locator("#conn")).to_contain_text("Moved to the daemon")
    local = logfile.load(exported(page))
    last_local_tick = local.last_tick
    owners = live_world.query("SELECT DISTINCT u.username FROM agents_agent a JOIN auth_user u ON u.id = a.owner_id "
                              "WHERE a.region_id = %s", (region,))
    assert owners == [(PLAYER,)]

    # Every local event is on the daemon with its very hash; the daemon's first tick is the next one.
    stored = {(e["streamId"], e["position"]): e for e in local.events}
    for stream_id in {s for s, _ in stored}:
        rows = live_world.query("SELECT position, hash FROM events_event WHERE stream_id = %s ORDER BY position",
                                (stream_id,))
        assert [(p, unpack_hash(h)) for p, h in rows if (stream_id, p) in stored] == [
            (e["position"], e["hash"]) for (s, _), e in sorted(stored.items()) if s == stream_id]
    wait_for(lambda: region_tick(live_world, region) >= last_local_tick + 2, timeout=30,
             message=f"{region} to tick on the daemon")
    ticks = [json.loads(unpack_json(d))["tick"] if isinstance(d, str | bytes) else d["tick"] for (d,) in live_world.query(
        "SELECT data FROM events_event WHERE stream_id = %s AND type = %s ORDER BY position",
        (f"world:{region}", "world.tick.completed"))]
    assert ticks[:last_local_tick + 2] == list(range(1, last_local_tick + 3))

    link.click()
    page.wait_for_url(f"**/world/{region}/")
    expect(page.locator("#conn")).to_have_attribute("data-phase", "live")
    page.wait_for_function(f"Number(document.getElementById('tick').textContent) > {last_local_tick}")
    snapshot = page.evaluate("window.selfplay.snapshot()")
    assert snapshot["state"] == world_rules.fold("world", world_rules.initial_state("world", region),
                                                 live_world.events(f"world:{region}", upto=snapshot["position"]))
    [(imported,)] = live_world.query("SELECT metadata FROM events_event WHERE stream_id = %s AND type = %s",
                                     (f"world:{region}", "world.imported"))
    assert (json.loads(unpack_json(imported)) if isinstance(imported, str | bytes) else imported) == {
        "actor": f"player:{PLAYER}"}
    screenshot(page, "local-world-moved.png")
    tab.assert_no_errors()
    live_world.assert_healthy()


POST_LOG = """async (text) => {
  const csrf = document.cookie.split("; ").find((c) => c.startsWith("csrftoken=")).split("=")[1];
  const response = await fetch("/worlds/import", {method: "POST", body: text, credentials: "same-origin",
                                                 headers: {"Content-Type": "application/json", "X-CSRFToken": csrf}});
  return {status: response.status, body: await response.json()};
}"""


def test_a_log_with_one_flipped_byte_is_refused_naming_its_position_and_nothing_is_written(
        tab: Tab, live_world: LiveWorld):
    page = tab.page
    log_in(page)
    page.goto("/local/?seed=31337")
    wait_ticking(page, at_least=2)
    text = exported(page)
    events = logfile.parse(text)[1]
    index = next(i for i, e in enumerate(events) if e["type"] == "agent.action.succeeded")
    line = logfile.canonical_json(events[index])
    digit = line.index('"energy":') + len('"energy":')
    flipped = line[:digit] + chr(ord(line[digit]) ^ 0x01) + line[digit + 1:]
    tampered = text.replace(line, flipped)
    assert len(tampered) == len(text) and sum(a != b for a, b in zip(tampered, text, strict=True)) == 1

    region = page.evaluate("window.selfplayLocal.meta().region")
    streams = sorted({e["streamId"] for e in events})
    answer = page.evaluate(POST_LOG, tampered)
    assert answer["status"] == 400
    error = answer["body"]["error"]
    assert error["code"] == "invalid"
    assert error["details"] == {"reason": "hash_mismatch", "index": index, "streamId": f"world:{region}",
                                "position": events[index]["position"],
                                "globalPosition": events[index]["globalPosition"]}
    assert f"event #{index + 1} of the file" in error["message"]
    # Nothing was written: no region, no agent, no stream, no event of the log.
    marks = ", ".join(["%s"] * len(streams))
    assert live_world.query("SELECT COUNT(*) FROM agents_region WHERE id = %s", (region,)) == [(0,)]
    assert live_world.query("SELECT COUNT(*) FROM agents_agent WHERE region_id = %s", (region,)) == [(0,)]
    assert live_world.query(f"SELECT COUNT(*) FROM events_stream WHERE id IN ({marks})", tuple(streams)) == [(0,)]
    assert live_world.query(f"SELECT COUNT(*) FROM events_event WHERE stream_id IN ({marks})",
                            tuple(streams)) == [(0,)]

    # The same log, untouched, is accepted: the refusal was the flipped byte's doing.
    assert page.evaluate(POST_LOG, text)["status"] == 201
    tab.assert_no_errors()


# A region's export starts at its first event's global position: 1 for the daemon's first region,
# further on for any other (the daemon's log interleaves them all).
@pytest.mark.parametrize("starts_later_by", [0, 45_000])
def test_a_region_exported_by_the_daemon_opens_in_a_tab_and_ticks_on(tab: Tab, live_world: LiveWorld,
                                                                     starts_later_by: int):
    page = tab.page
    log_in(page)
    response = page.request.get(f"/worlds/{REGION}/export")
    assert response.status == 200
    exported_log = logfile.load(response.body())
    if starts_later_by:
        moved = [{**e, "globalPosition": e["globalPosition"] + starts_later_by} for e in exported_log.events]
        exported_log = logfile.load(logfile.dumps(REGION, moved))
    text = logfile.dumps(REGION, exported_log.events).encode()
    page.goto("/local/")
    page.evaluate("window.selfplayLocal.started")
    page.locator("#open-file").set_input_files(
        files=[{"name": f"{REGION}.selfplay.json", "mimeType": "application/json", "buffer": text}])
    page.wait_for_url(re.compile(r".*/local/\?world=[0-9a-f]{8}$"), timeout=BOOT_MS)
    expect(page.locator("#region")).to_have_text(REGION)
    resumed = wait_ticking(page, at_least=exported_log.last_tick + 1)
    assert resumed > exported_log.last_tick
    checked = assert_state_is_the_logs_fold(page)
    assert checked["log"].events[:len(exported_log.events)] == exported_log.events
    tab.assert_no_errors()


MOVE_EPOCH_BACK = """async ([key, seconds]) => {
  const db = await new Promise((resolve, reject) => {
    const open = indexedDB.open(`selfplay-local-${key}`);
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  const tx = db.transaction("meta", "readwrite");
  const store = tx.objectStore("meta");
  await new Promise((resolve) => {
    store.get("meta").onsuccess = (event) => {
      const meta = event.target.result;
      store.put({...meta, epoch: new Date(Date.parse(meta.epoch) - seconds * 1000).toISOString()});
    };
    tx.oncomplete = resolve;
  });
  db.close();
}"""


def test_coming_back_after_a_long_absence_records_the_skipped_ticks(tab: Tab):
    page = tab.page
    page.goto("/local/?seed=2718")
    wait_ticking(page, at_least=2)
    key = page.evaluate("window.selfplayLocal.key()")
    # As if the tab had been closed for an hour: the schedule says 3,600 more ticks are due.
    page.evaluate(MOVE_EPOCH_BACK, [key, 3600])
    before = page.evaluate("window.selfplayLocal.meta().tick")
    page.reload()
    wait_ticking(page, at_least=3600)
    checked = assert_state_is_the_logs_fold(page)
    events = world_stream(checked["log"], checked["region"], checked["position"])
    [skipped] = [e for e in events if e["type"] == "world.ticks.skipped"]
    assert skipped["data"]["reason"] == "downtime" and before < skipped["data"]["fromTick"] <= before + 2
    after_skip = [e["data"]["tick"] for e in events if e["type"] == "world.tick.completed"
                  and e["globalPosition"] > skipped["globalPosition"]]
    # 30 ticks caught up (the daemon's SELFPLAY_MAX_CATCHUP_TICKS), then on as due.
    assert after_skip[:30] == list(range(skipped["data"]["toTick"] + 1, skipped["data"]["toTick"] + 31))
    tab.assert_no_errors()


def test_a_second_tab_on_the_same_world_waits_and_takes_over_when_the_first_closes(tab: Tab):
    first = tab.page
    first.goto("/local/?seed=1618")
    wait_ticking(first, at_least=1)
    key = first.evaluate("window.selfplayLocal.key()")
    second = tab.context.new_page()
    second.goto(f"/local/?world={key}")
    expect(second.locator("#conn")).to_contain_text("Ticking in another tab: waiting for it to close", timeout=BOOT_MS)
    ticked = wait_ticking(first, at_least=first.evaluate("window.selfplayLocal.meta().tick") + 2)
    assert second.evaluate("window.selfplay.snapshot().state") is None  # it neither ticks nor writes
    first.close()
    expect(second.locator("#conn")).to_contain_text("Ticking in this tab", timeout=BOOT_MS)
    wait_ticking(second, at_least=ticked + 1)
    checked = assert_state_is_the_logs_fold(second)
    completed = [e["data"]["tick"] for e in world_stream(checked["log"], checked["region"], checked["position"])
                 if e["type"] == "world.tick.completed"]
    assert completed == list(range(1, checked["tick"] + 1))
