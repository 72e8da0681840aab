// The agent page: history (its own stream), plan, energy and inventory over its whole life (from
// the world stream: live, and paged backwards from GET /worlds/<region>/agents/<id>/outcomes),
// a time-travel bar that shows the agent at any past tick, and for its owner the override panel.

import {CapabilityCard} from "./capabilities.js";
import {checksum} from "./canonical.js";
import {legend, lineChart} from "./chart.js";
import {element} from "./dom.js";
import {Feed, describeAction, describePlan, outcomeText} from "./feed.js";
import {frameScheduler} from "./frame.js";
import {StreamHistory, WorldHistory} from "./history.js";
import {OverridePanel} from "./override.js";
import {pageErrors, reportError} from "./page-errors.js";
import {applyAgentStream, applyWorld, initialAgentStream, initialWorld, isOutcome} from "./reducers.js";
import {renderStatus, worst} from "./status.js";
import {StreamClient, fetchJSON} from "./stream.js";
import {Timeline} from "./timeline.js";

const config = JSON.parse(document.getElementById("page-config").textContent);
const $ = (id) => document.getElementById(id);
const me = config.agentId;
const reasons = config.rules.failureReasons ?? {};
const RESOURCE_COLOURS = {berries: "#b8324a", stone: "#7d7a73", wood: "#8a5a2b"};
const OUTCOMES_KEPT = 2000; // the latest outcomes kept to annotate decisions in the history list
const PAGES_BY_ITSELF = 10; // pages of older outcomes the chart reads without being asked

let world = null;
let stream = null; // the agent stream's state
let firstTick = config.firstTick ?? null;
let past = null; // the past tick on display: {tick, world, stream, events, verified, …}
const names = {};
const outcomes = new Map(); // tick -> {text, tone, reason, override} of this agent's outcomes
const pastOutcomes = new Map(); // the same, read from the past for a past tick's history
const overrideCommands = new Set(); // ids of player.override.submitted events seen
const queueRender = frameScheduler(() => render());
const capabilityCard = new CapabilityCard($("capabilities"), config.urls.agentCapabilities
  .replace("REGION", config.region).replace("AGENT_ID", me));

// --- the chart's data: the agent's energy and inventory at the end of each tick ---------------------

const points = new Map(); // tick -> {energy (undefined: unchanged that tick), inventory}
let chartTicks = []; // the ticks of `points`, ascending
let series = null; // built from `points` when drawn
const older = {before: null, complete: false, pages: 0, loading: false, anchored: false};

/** Set the values at the end of a tick seen live (the newest so far, or one already known). */
function setPoint(tick, values) {
  if (!points.has(tick)) {
    if (!chartTicks.length || tick > chartTicks[chartTicks.length - 1]) chartTicks.push(tick);
    else chartTicks = [...points.keys(), tick].sort((a, b) => a - b); // not expected: ticks arrive in order
  }
  points.set(tick, values);
  series = null;
}

function point(tick) {
  const agent = world.agents[me];
  if (agent) setPoint(tick, {energy: agent.energy, inventory: {...agent.inventory}});
}

function buildSeries() {
  const built = [{name: "energy", colour: "#2e8b57", width: 2.5, points: []},
                 ...config.rules.resources.map((r) => ({name: r, colour: RESOURCE_COLOURS[r] || "#555", points: []}))];
  let energy = config.rules.startEnergy;
  for (const tick of chartTicks) {
    const p = points.get(tick);
    energy = p.energy ?? energy;
    built[0].points.push([tick, energy]);
    config.rules.resources.forEach((r, i) => built[i + 1].points.push([tick, p.inventory[r] ?? 0]));
  }
  return built;
}

/**
 * Read the agent's older outcomes, newest first, and walk back from the world state the page
 * started from: each outcome's energy is absolute, inventories are undone delta by delta.
 */
async function loadOlder({pages = PAGES_BY_ITSELF} = {}) {
  if (older.loading || older.complete || !older.anchored) return;
  older.loading = true;
  renderChartStatus();
  const url = config.urls.agentOutcomes.replace("REGION", encodeURIComponent(config.region))
    .replace("AGENT_ID", encodeURIComponent(me));
  try {
    for (let read = 0; read < pages && !older.complete; read++) {
      const page = await fetchJSON(`${url}?${new URLSearchParams({before: older.before, limit: 2000})}`);
      const earlier = []; // ticks older than any known, newest first
      for (const event of [...page.events].reverse()) undo(event, earlier);
      chartTicks = earlier.reverse().concat(chartTicks);
      series = null;
      older.before = page.nextBefore;
      older.complete = page.complete;
      older.pages++;
      queueRender();
    }
  } catch (error) {
    older.error = error.message;
  } finally {
    older.loading = false;
    renderChartStatus();
  }
}

/** Walk back over one event (events come newest first): the values at the end of its tick are
 * the ones before any of that tick's events is undone. */
function undo(event, earlier) {
  const d = event.data || {};
  if (event.type === "agent.spawned") return;
  let entry = points.get(d.tick);
  if (!entry) {
    entry = {energy: undefined, inventory: {...older.inventory}};
    points.set(d.tick, entry);
    earlier.push(d.tick);
  }
  const effects = d.effects || {};
  if (d.agentId === me) {
    if (!outcomes.has(d.tick) && outcomes.size < OUTCOMES_KEPT) {
      // Also the outcome of a decision listed in the history from before the page started.
      const outcome = outcomeOf(event);
      outcomes.set(d.tick, outcome);
      for (const line of document.querySelectorAll(`#history li[data-tick="${d.tick}"]`)) annotate(line, outcome);
    }
    if (entry.energy === undefined && "energy" in effects) entry.energy = effects.energy;
    for (const [resource, delta] of Object.entries(effects.inventory ?? {})) older.inventory[resource] -= delta;
  } else if (effects.transfer?.to === me) {
    older.inventory[effects.transfer.resource] -= effects.transfer.amount;
  }
}

function renderChartStatus() {
  const span = chartTicks.length ? `ticks ${chartTicks[0]}–${chartTicks[chartTicks.length - 1]}` : "no ticks yet";
  $("chart-range").textContent = span;
  $("chart-history-status").textContent = older.complete ? "its whole life"
    : older.loading ? "reading earlier ticks…" : older.error ? `earlier ticks could not be read (${older.error})`
    : older.anchored ? "earlier ticks not read yet" : "";
  $("chart-earlier").hidden = older.complete || older.loading || !older.anchored;
}

$("chart-earlier").addEventListener("click", () => loadOlder({pages: PAGES_BY_ITSELF}));

// --- the history list: decisions annotated with their outcomes, overrides marked -----------------

function outcomeOf(event) {
  const d = event.data || {};
  return {text: outcomeText(event, names, reasons), tone: event.type === "agent.action.succeeded" ? "ok" : "fail",
          reason: d.reason, tick: d.tick, override: overrideCommands.has(event.metadata?.causationId),
          cause: event.metadata?.causationId ?? null};
}

function annotate(li, outcome) {
  if (!outcome || li.querySelector(".feed-outcome")) return;
  const span = element("span", {class: `feed-outcome tone-${outcome.tone}`, title: outcome.text},
                       outcome.tone === "fail" ? `✗ ${outcome.text.replace(/^could not [^:]*: /, "")}` : `✓ ${outcome.text}`);
  li.querySelector(".feed-text").after(span);
}

function decorate(li, event) {
  const d = event.data || {};
  if (event.type === "agent.action.submitted") {
    li.dataset.tick = d.tick;
    if (d.source === "override") {
      li.classList.add("override");
      li.querySelector(".feed-text").append(" ", element("span", {class: "badge override"}, "override"));
    }
    annotate(li, outcomes.get(d.tick) ?? pastOutcomes.get(d.tick));
  } else if (event.type === "player.override.submitted") {
    li.dataset.command = event.id;
    const known = [...outcomes.values(), ...pastOutcomes.values()].find((o) => o.cause === event.id);
    annotate(li, known);
  }
}

const historyFeed = new Feed($("history"), {limit: 200, names, reasons, decorate});
const pastFeed = new Feed($("past-history"), {limit: 200, names, reasons, decorate});

const panel = config.canCommand
  ? new OverridePanel($("override"), {
      config,
      agents: () => Object.entries(world?.agents ?? {}).filter(([id]) => id !== me).map(([id, a]) => [id, a.name]),
    })
  : null;

// --- the world stream: energy, inventory, outcomes -------------------------------------------

function onWorldReset(state, position) {
  world = state ?? initialWorld(config.region);
  for (const [id, agent] of Object.entries(world.agents)) names[id] = agent.name;
  point(world.tick);
  if (!older.anchored && !older.complete) {
    if (world.agents[me]) {
      // The walk back through older outcomes starts from this state, at this position.
      Object.assign(older, {anchored: true, before: position + 1, inventory: {...world.agents[me].inventory}});
      loadOlder();
    } else {
      older.complete = true; // the agent arrives in the events still to come: its whole life comes live
    }
  }
  queueRender();
}

function onWorldEvents(events) {
  for (const event of events) {
    applyWorld(world, event, config.rules);
    const d = event.data || {};
    if (event.type === "agent.spawned") names[d.agentId] = d.name;
    if (event.type === "world.tick.completed") firstTick ??= d.tick;
    if (isOutcome(event) && d.agentId === me) {
      const outcome = outcomeOf(event);
      outcomes.set(d.tick, outcome);
      if (outcomes.size > OUTCOMES_KEPT) outcomes.delete(outcomes.keys().next().value);
      for (const line of document.querySelectorAll(`#history li[data-tick="${d.tick}"], #history li[data-command="${CSS.escape(outcome.cause ?? "")}"]`)) {
        annotate(line, outcome);
      }
      $("last-outcome").textContent = `t${d.tick}: ${outcome.text}${outcome.override ? " (override)" : ""}`;
      panel?.happened("override", d.tick, {text: outcome.text, ok: outcome.tone === "ok", cause: outcome.cause});
      point(d.tick);
    } else if (isOutcome(event) && d.effects?.transfer?.to === me) {
      point(d.tick);
    } else if ((event.type === "agent.paused" || event.type === "agent.resumed") && d.agentId === me) {
      panel?.happened(event.type === "agent.paused" ? "pause" : "resume", d.tick);
    }
  }
  queueRender();
}

// --- the agent stream: decisions, plan, overrides, pauses ------------------------------------

function onAgentReset(state) {
  stream = state ?? initialAgentStream(me);
  queueRender();
}

function onAgentEvents(events) {
  for (const event of events) {
    applyAgentStream(stream, event);
    if (event.type === "player.override.submitted") overrideCommands.add(event.id);
    if (event.type.startsWith("capability.") || event.type === "agent.capabilities.granted") capabilityCard.refresh();
    if (event.type === "capability.failed") panel?.capabilityFailed(event.data.tick, `${event.data.capability} failed: ${event.data.code}`);
  }
  historyFeed.add(events);
  queueRender();
}

// --- a past tick -----------------------------------------------------------------------------------

const worldHistory = new WorldHistory({region: config.region, urls: config.urls, initial: () => initialWorld(config.region),
                                       apply: (state, event) => applyWorld(state, event, config.rules)});
const agentHistory = new StreamHistory({streamId: config.streamId, urls: config.urls, initial: () => initialAgentStream(me),
                                        apply: applyAgentStream});

/** Rebuild the world at tick `tick` and this agent's stream at the same moment (global position). */
async function rebuild(tick) {
  const rebuilt = await worldHistory.atTick(tick, {firstTick});
  const worldState = structuredClone(rebuilt.state);
  const sum = rebuilt.mark.checksum ? await checksum(worldState) : null;
  const verified = sum === null ? null : sum === rebuilt.mark.checksum;
  if (verified === false) reportError(new Error(`tick ${tick} rebuilt here differs from the daemon's checksum`), `checking tick ${tick}`);
  const agent = await agentHistory.stateAtGlobal(rebuilt.mark.globalPosition);
  const events = agentHistory.between(Math.max(0, agent.position - 200), agent.position);
  for (const event of events) if (event.type === "player.override.submitted") overrideCommands.add(event.id);
  const read = worldHistory.between(worldHistory.base.position, rebuilt.position);
  return {tick, mark: rebuilt.mark, world: worldState, worldPosition: rebuilt.position, stream: structuredClone(agent.state),
          position: agent.position, events, outcomes: read.filter((e) => isOutcome(e) && e.data.agentId === me), verified};
}

function showPast(rebuilt) {
  past = rebuilt;
  pastOutcomes.clear();
  for (const event of rebuilt.outcomes) pastOutcomes.set(event.data.tick, outcomeOf(event));
  pastFeed.show(rebuilt.events);
  $("history").hidden = true;
  $("past-history").hidden = false;
  render();
  const agent = rebuilt.world.agents[me];
  const check = rebuilt.mark.skipped ? "the daemon was down then"
    : rebuilt.verified === true ? "✓ same checksum as the daemon recorded"
    : rebuilt.verified === false ? "✗ differs from the daemon's checksum" : "checksum not checked";
  return agent ? `${config.name} after tick ${rebuilt.tick} · world #${rebuilt.worldPosition}, ${config.name}'s stream #${rebuilt.position} · ${check}`
    : `${config.name} had not arrived yet at tick ${rebuilt.tick} · ${check}`;
}

function showLive() {
  past = null;
  $("history").hidden = false;
  $("past-history").hidden = true;
  render();
}

const timeline = new Timeline($("timeline"), {tickSeconds: config.tickSeconds, seek: rebuild, show: showPast, live: showLive});

// --- rendering ------------------------------------------------------------------------------

function render() {
  const shownWorld = past?.world ?? world;
  const shownStream = past?.stream ?? stream;
  document.body.dataset.mode = past ? "past" : "live";
  $("now-title").textContent = past ? `At tick ${past.tick}` : "Now";
  const agent = shownWorld?.agents[me];
  if (shownWorld) $("tick").textContent = shownWorld.tick;
  if (agent) {
    $("energy").value = agent.energy;
    $("energy-text").textContent = `${agent.energy} / ${config.rules.maxEnergy}`;
    $("score").textContent = agent.score;
    $("where").textContent = `(${agent.x}, ${agent.y})`;
    $("inventory").replaceChildren(...config.rules.resources.flatMap((r) => [element("dt", {}, r), element("dd", {}, agent.inventory[r] ?? 0)]));
  } else if (past) {
    for (const id of ["energy-text", "score", "where"]) $(id).textContent = "–";
    $("energy").value = 0;
    $("inventory").replaceChildren();
  }
  if (past) {
    const outcome = pastOutcomes.get(past.tick);
    $("last-outcome").textContent = outcome ? `t${past.tick}: ${outcome.text}${outcome.override ? " (override)" : ""}` : "–";
  }
  series ??= buildSeries();
  const cursor = past ? past.tick : null;
  // Values hold until something changes them: draw the last ones on to the tick on display.
  const until = past ? null : world?.tick;
  const drawn = series.map((s) => {
    const last = s.points[s.points.length - 1];
    return last && until > last[0] ? {...s, points: [...s.points, [until, last[1]]]} : s;
  });
  lineChart($("chart"), drawn.slice(0, 1), {yMax: config.rules.maxEnergy, xTitle: "tick", yTitle: "energy", height: 190, cursor});
  lineChart($("chart-inventory"), drawn.slice(1), {yMax: 4, xTitle: "tick", yTitle: "carried", height: 150, cursor});
  legend($("chart-legend"), series, {at: cursor});
  renderChartStatus();
  if (shownStream) {
    const status = shownStream.status;
    $("status").textContent = status;
    $("status").dataset.status = status;
    if (!past) panel?.showStatus(status);
    $("plan").textContent = describePlan(shownStream.plan);
    $("last-decision").textContent = shownStream.lastAction
      ? `t${shownStream.lastTick}: ${describeAction(shownStream.lastAction)} (${shownStream.lastSource})` : "–";
    $("overrides").textContent = shownStream.overrides;
  }
  if (world) timeline.setBounds(firstTick, world.tick);
}

// --- the two streams ------------------------------------------------------------------------

const statuses = {agent: {phase: "connecting"}, world: {phase: "connecting"}};
const showStatus = (which) => (status) => {
  statuses[which] = status;
  renderStatus($("conn"), worst(Object.values(statuses)));
};
const common = {urls: config.urls, tickSeconds: config.tickSeconds};
const agentClient = new StreamClient({...common, streamId: config.streamId, onReset: onAgentReset,
                                      onEvents: onAgentEvents, onStatus: showStatus("agent")});
const worldClient = new StreamClient({...common, streamId: config.worldStreamId, onReset: onWorldReset,
                                      onEvents: onWorldEvents, onStatus: showStatus("world")});

window.selfplay = {
  agentClient, worldClient, panel, timeline, worldHistory, agentHistory,
  positions: () => agentClient.positions(),
  worldPositions: () => worldClient.positions(),
  snapshot: () => ({position: agentClient.position, state: structuredClone(stream),
                    worldPosition: worldClient.position, world: structuredClone(world)}),
  status: () => worst(Object.values(statuses)),
  errors: pageErrors,
  /** The chart's data: {ticks: [[tick, energy, {inventory}], …], complete, pages}. */
  chart: () => {
    series ??= buildSeries();
    return {points: series[0].points.map(([tick, energy], i) => [tick, energy, Object.fromEntries(
      config.rules.resources.map((r, k) => [r, series[k + 1].points[i][1]]))]), complete: older.complete, pages: older.pages};
  },
  loadOlder,
  past: () => (past ? {tick: past.tick, world: structuredClone(past.world), worldPosition: past.worldPosition,
                       stream: structuredClone(past.stream), position: past.position, mark: past.mark,
                       verified: past.verified, events: past.events.map((e) => e.position)} : null),
};
agentClient.start();
worldClient.start();
timeline.openAsked();
