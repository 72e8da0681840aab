// The world page: live map, agent list, event feed, tick and cadence of one region, and a
// time-travel bar that shows any past tick (rebuilt by history.js with the live page's reducers).

import {checksum} from "./canonical.js";
import {sparkline} from "./chart.js";
import {element} from "./dom.js";
import {Feed, outcomeText} from "./feed.js";
import {frameScheduler} from "./frame.js";
import {HealthWatch} from "./health.js";
import {WorldHistory} from "./history.js";
import {LocalSource} from "./local-source.js";
import {BRAIN_COLOURS, WorldMap, renderLegend} from "./map.js";
import {pageErrors, reportError} from "./page-errors.js";
import {applyWorld, initialWorld, isOutcome} from "./reducers.js";
import {renderStatus} from "./status.js";
import {StreamClient} from "./stream.js";
import {Timeline} from "./timeline.js";

const config = JSON.parse(document.getElementById("page-config").textContent);
const $ = (id) => document.getElementById(id);
const agentUrl = (id) => config.urls.agentPage.replace("AGENT_ID", encodeURIComponent(id));
const reasons = config.rules.failureReasons ?? {};

let world = null;
const names = {};
const lastAction = {}; // agent id -> {text, tone, tick}
const ticks = []; // {tick, at (ms), durationMs}, the latest completed ticks
let firstTick = config.firstTick ?? null;
let following = null;
let past = null; // the past tick on display: {tick, mark, state, position, checkpoint, replayed, events, lastAction, verified}
const recorded = []; // with window.selfplay.recordTicks(): the live state at each tick completion
let recording = 0;

const followStyle = document.head.appendChild(element("style", {id: "follow-style"}));
const decorate = (li) => li.classList.toggle("followed", Boolean(following && li.dataset.agents?.split(" ").includes(following)));
const feed = new Feed($("feed"), {limit: 200, names, reasons, decorate});
const pastFeed = $("past-feed") ? new Feed($("past-feed"), {limit: 500, names, reasons, decorate}) : null;
const map = new WorldMap($("map"), {rules: config.rules, owned: config.ownedAgents, names, onPick: (id) => follow(following === id ? null : id)});
const queueRender = frameScheduler(() => render());
let markedSeen = false;
let health = null; // the server's word on whether the world ticks (a live world only)
if ($("map-legend")) renderLegend($("map-legend"), config.rules, {owned: config.ownedAgents});

// --- following one agent -------------------------------------------------------------------------

/** Follow an agent (null: stop): the map highlights it, its row is marked, the feeds show only its lines. */
function follow(agentId) {
  following = agentId;
  map.follow(agentId);
  const selector = agentId ? `[data-agents~="${CSS.escape(agentId)}"]` : null;
  followStyle.textContent = selector ? `.feed.filtered li:not(${selector}) { display: none; }` : "";
  for (const list of [$("feed"), $("past-feed")].filter(Boolean)) {
    list.classList.toggle("filtered", Boolean(agentId));
    for (const li of list.children) decorate(li);
  }
  for (const [id, row] of rows) row.tr.classList.toggle("followed", id === agentId);
  const banner = $("following");
  if (banner) {
    banner.hidden = !agentId;
    if (agentId) $("following-name").textContent = shownState()?.agents[agentId]?.name ?? names[agentId] ?? agentId;
  }
  if (agentId) {
    const row = rows.get(agentId)?.tr;
    row?.scrollIntoView({block: "nearest"});
  }
}

$("stop-following")?.addEventListener("click", () => follow(null));
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && following) follow(null);
});

// --- the live world ---------------------------------------------------------------------------------

function onReset(state) {
  world = state ?? initialWorld(config.region);
  for (const [id, agent] of Object.entries(world.agents)) names[id] = agent.name;
  queueRender();
}

function onEvents(events) {
  for (const event of events) {
    applyWorld(world, event, config.rules);
    const d = event.data || {};
    if (event.type === "agent.spawned") names[d.agentId] = d.name;
    if (isOutcome(event)) {
      lastAction[d.agentId] = {text: outcomeText(event, names, reasons), tick: d.tick,
                               tone: event.type === "agent.action.failed" ? "fail" : "ok"};
    }
    if (event.type === "world.tick.completed") {
      firstTick ??= d.tick;
      ticks.push({tick: d.tick, at: Date.parse(event.recordedAt), durationMs: d.durationMs});
      if (ticks.length > 61) ticks.shift();
      if (recording) {
        recorded.push({tick: d.tick, position: event.position, checksum: d.checksum, state: structuredClone(world)});
        if (recorded.length > recording) recorded.shift();
      }
    }
  }
  feed.add(events);
  queueRender();
}

// --- a past tick -----------------------------------------------------------------------------------

const worldHistory = config.source === "local" ? null : new WorldHistory({
  region: config.region, urls: config.urls, initial: () => initialWorld(config.region),
  apply: (state, event) => applyWorld(state, event, config.rules),
});

/** Rebuild tick `tick` and check it against the checksum the tick recorded. */
async function rebuild(tick) {
  const rebuilt = await worldHistory.atTick(tick, {firstTick});
  const state = structuredClone(rebuilt.state);
  const actions = {};
  for (const event of rebuilt.events) {
    if (!isOutcome(event)) continue;
    actions[event.data.agentId] = {text: outcomeText(event, names, reasons), tick: event.data.tick,
                                   tone: event.type === "agent.action.failed" ? "fail" : "ok"};
  }
  for (const [id, agent] of Object.entries(state.agents)) names[id] ??= agent.name;
  const sum = rebuilt.mark.checksum ? await checksum(state) : null;
  const verified = sum === null ? null : sum === rebuilt.mark.checksum;
  if (verified === false) {
    reportError(new Error(`tick ${tick} rebuilt here has checksum ${sum}, the daemon recorded ${rebuilt.mark.checksum}`),
                `checking tick ${tick}`);
  }
  return {...rebuilt, state, lastAction: actions, verified, checksum: sum};
}

function showPast(rebuilt) {
  past = rebuilt;
  $("feed").hidden = true;
  if (pastFeed) {
    pastFeed.show(rebuilt.events);
    pastFeed.list.hidden = false;
  }
  $("feed-title-text").textContent = `Events of tick ${rebuilt.tick}`;
  render();
  const {mark, checkpoint, replayed, verified} = rebuilt;
  const source = checkpoint ? `checkpoint #${checkpoint.position} + ${replayed} events`
    : `${rebuilt.position} events replayed from the start (no checkpoint kept that old)`;
  const check = mark.skipped ? `ticks ${mark.skipped.fromTick}–${mark.skipped.toTick} were skipped: the daemon was down`
    : verified === true ? "✓ same checksum as the daemon recorded"
    : verified === false ? "✗ differs from the checksum the daemon recorded" : "checksum not checked (needs a secure context)";
  return `World after tick ${rebuilt.tick} (position #${rebuilt.position}), from ${source} · ${check}`;
}

function showLive() {
  past = null;
  $("feed").hidden = false;
  if (pastFeed) pastFeed.list.hidden = true;
  $("feed-title-text").textContent = "Events";
  render();
}

const timeline = worldHistory && $("timeline")
  ? new Timeline($("timeline"), {tickSeconds: config.tickSeconds, seek: rebuild, show: showPast, live: showLive})
  : null;

// --- drawing ---------------------------------------------------------------------------------------

function shownState() {
  return past?.state ?? world;
}

function render() {
  const state = shownState();
  if (!state) return;
  document.body.dataset.mode = past ? "past" : "live";
  $("tick").textContent = state.tick;
  $("head").textContent = past ? past.position : Math.max(client.head ?? 0, client.position ?? 0);
  map.setState(state);
  $("map").setAttribute("aria-label", `Map of ${state.region}, ${state.width} by ${state.height} tiles, ` +
                        `${Object.keys(state.agents).length} agents, tick ${state.tick}${past ? " (past)" : ""}`);
  renderAgents(state, past ? past.lastAction : lastAction);
  renderCadence();
  if (world) timeline?.setBounds(firstTick, world.tick);
}

const rows = new Map(); // agent id -> the row's live parts

/** Build an agent's row once; later renders only change its text, so focus stays put. */
function agentRow(id, agent) {
  const tr = element("tr", {"data-agent": id, class: config.ownedAgents.includes(id) ? "owned" : null});
  const swatch = element("span", {class: "swatch round"});
  swatch.style.background = BRAIN_COLOURS[agent.brain] || "#444";
  const link = element("a", {href: agentUrl(id)}, agent.name);
  const badge = element("span", {class: "badge"}, "paused");
  const name = element("td");
  name.append(swatch, link, element("small", {class: "muted"}, ` ${agent.brain} `), badge);
  const meter = element("meter", {min: 0, max: config.rules.maxEnergy, low: 25, high: 60, optimum: config.rules.maxEnergy,
                                  "aria-label": `${agent.name}'s energy`});
  const energy = element("td");
  const energyText = element("span");
  energy.append(meter, " ", energyText);
  const parts = {tr, badge, meter, energyText, score: element("td", {class: "num"}), carries: element("td", {class: "small"}),
                 last: element("td", {class: "small"})};
  tr.append(name, energy, parts.score, parts.carries, parts.last);
  tr.addEventListener("mouseenter", () => map.select(id));
  tr.addEventListener("mouseleave", () => map.select(null));
  tr.addEventListener("focusin", () => map.select(id));
  tr.addEventListener("click", (event) => {
    if (event.target.closest("a")) return;
    follow(following === id ? null : id);
  });
  return parts;
}

function renderAgents(state, actions) {
  const order = Object.entries(state.agents).sort(([a, x], [b, y]) => y.score - x.score || a.localeCompare(b));
  $("agent-count").textContent = order.length;
  for (const [id, agent] of order) {
    if (!rows.has(id)) rows.set(id, agentRow(id, agent));
    const row = rows.get(id);
    row.tr.classList.toggle("followed", id === following);
    row.badge.hidden = agent.status !== "paused";
    row.meter.value = agent.energy;
    row.energyText.textContent = agent.energy;
    row.score.textContent = agent.score;
    row.carries.textContent = Object.entries(agent.inventory).filter(([, n]) => n).map(([r, n]) => `${n} ${r}`).join(", ") || "–";
    const last = actions[id];
    row.last.textContent = last ? `t${last.tick} ${last.text}` : "–";
    row.last.className = `small ${last ? `tone-${last.tone}` : ""}`;
  }
  const table = $("agents");
  const shown = [...table.children].map((tr) => tr.dataset.agent);
  if (shown.join() !== order.map(([id]) => id).join()) table.replaceChildren(...order.map(([id]) => rows.get(id).tr));
}

function renderCadence() {
  if (health?.latest?.stalled || health?.latest?.brokerReachable === false) return; // renderHealth says why
  $("cadence-text").classList.remove("tone-fail");
  const intervals = ticks.slice(1).map((t, i) => (t.at - ticks[i].at) / 1000 / Math.max(1, t.tick - ticks[i].tick));
  sparkline($("cadence"), intervals, {min: 0, max: config.tickSeconds * 2, reference: config.tickSeconds});
  const last = ticks[ticks.length - 1];
  if (!intervals.length) {
    $("cadence-text").textContent = `target every ${config.tickSeconds} s`;
    return;
  }
  const mean = intervals.reduce((a, b) => a + b, 0) / intervals.length;
  $("cadence-text").textContent = `every ${mean.toFixed(2)} s over ${intervals.length} ticks ` +
    `(target ${config.tickSeconds} s) · last tick took ${last.durationMs} ms`;
}

/** When the server says the world is behind its schedule, the cadence card says so too. */
function renderHealth(status) {
  if (!status.stalled && status.brokerReachable !== false) {
    renderCadence();
    return;
  }
  const since = status.lastTickAt ? Math.round((Date.now() - Date.parse(status.lastTickAt)) / 1000) : null;
  const last = since === null ? " · no tick yet" : ` · last tick ${status.lastTick}, ${since} s ago`;
  $("cadence-text").textContent = status.stalled
    ? `stalled: ${status.lagTicks} ticks behind its schedule of every ${config.tickSeconds} s${last}`
    : `the broker does not answer: the next tick may not come${last}`;
  $("cadence-text").classList.add("tone-fail");
}

// --- start -----------------------------------------------------------------------------------------

// A local world (/local/, DESIGN §10) comes from the page's worker instead of the WebSocket.
const Source = config.source === "local" ? LocalSource : StreamClient;
const client = new Source({
  streamId: config.streamId, urls: config.urls, tickSeconds: config.tickSeconds, onReset, onEvents,
  onStatus(status) {
    renderStatus($("conn"), status);
    if (status.phase === "live" && !markedSeen) {
      markedSeen = true;
      if (client.lastSeen !== null) feed.markNewSince(client.lastSeen);
    }
  },
  onHeartbeat: queueRender,
});

// A local world has no server to ask; a live one is asked whether it ticks.
health = config.urls.health
  ? new HealthWatch({url: config.urls.health, banner: $("world-warnings"), onHealth: renderHealth}).start()
  : null;

// For people poking around in the console, and for the browser tests.
window.selfplay = {
  client, map, timeline, worldHistory, health,
  positions: () => client.positions(),
  snapshot: () => ({position: client.position, state: structuredClone(world)}),
  status: () => client.status,
  history: () => client.history,
  errors: pageErrors,
  following: () => following,
  past: () => (past ? {tick: past.tick, position: past.position, state: structuredClone(past.state), mark: past.mark,
                       checkpoint: past.checkpoint, replayed: past.replayed, verified: past.verified,
                       checksum: past.checksum, events: past.events.map((e) => e.position)} : null),
  /** Keep the live state at each of the next tick completions (the latest `limit`). */
  recordTicks(limit = 20) {
    recording = limit;
    return recorded;
  },
  recorded: () => recorded,
};
client.start();
timeline?.openAsked();
