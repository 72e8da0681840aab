// The world page: live map, agent list, event feed, tick and cadence of one region.

import {sparkline} from "./chart.js";
import {Feed, outcomeText} from "./feed.js";
import {BRAIN_COLOURS, WorldMap} from "./map.js";
import {applyWorld, initialWorld, isOutcome} from "./reducers.js";
import {frameScheduler} from "./frame.js";
import {StreamClient} from "./stream.js";
import {renderStatus} from "./status.js";

const config = JSON.parse(document.getElementById("page-config").textContent);
const $ = (id) => document.getElementById(id);
const agentUrl = (id) => config.urls.agentPage.replace("AGENT_ID", encodeURIComponent(id));

let world = null;
const names = {};
const lastAction = {}; // agent id -> {text, tone}
const ticks = []; // {tick, at (ms), durationMs}, the latest completed ticks
const feed = new Feed($("feed"), {limit: 200, names});
const map = new WorldMap($("map"), {rules: config.rules, owned: config.ownedAgents, onPick: pick});
const queueRender = frameScheduler(() => render());
let markedSeen = false;

function pick(agentId) {
  map.select(agentId);
  const row = document.querySelector(`#agents tr[data-agent="${CSS.escape(agentId)}"]`);
  if (row) {
    row.scrollIntoView({block: "nearest"});
    row.querySelector("a")?.focus();
  }
}

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
      lastAction[d.agentId] = {text: outcomeText(event, names), tick: d.tick,
                               tone: event.type === "agent.action.failed" ? "fail" : "ok"};
    }
    if (event.type === "world.tick.completed") {
      ticks.push({tick: d.tick, at: Date.parse(event.recordedAt), durationMs: d.durationMs});
      if (ticks.length > 61) ticks.shift();
    }
  }
  feed.add(events);
  queueRender();
}

function render() {
  if (!world) return;
  $("tick").textContent = world.tick;
  $("head").textContent = Math.max(client.head ?? 0, client.position ?? 0);
  map.setState(world);
  $("map").setAttribute("aria-label", `Map of ${config.region}, ${world.width} by ${world.height} tiles, ` +
                        `${Object.keys(world.agents).length} agents, tick ${world.tick}`);
  renderAgents();
  renderCadence();
}

const rows = new Map(); // agent id -> the row's live parts

/** Build an agent's row once; later renders only change its text, so focus stays put. */
function agentRow(id, agent) {
  const element = (name, className = "", text = "") => {
    const node = document.createElement(name);
    node.className = className;
    node.textContent = text;
    return node;
  };
  const tr = document.createElement("tr");
  tr.dataset.agent = id;
  if (config.ownedAgents.includes(id)) tr.classList.add("owned");
  const swatch = element("span", "swatch round");
  swatch.style.background = BRAIN_COLOURS[agent.brain] || "#444";
  const link = element("a", "", agent.name);
  link.href = agentUrl(id);
  const badge = element("span", "badge", "paused");
  const name = element("td");
  name.append(swatch, link, element("small", "muted", ` ${agent.brain} `), badge);
  const meter = element("meter");
  Object.assign(meter, {min: 0, max: config.rules.maxEnergy, low: 25, high: 60, optimum: config.rules.maxEnergy});
  meter.setAttribute("aria-label", `${agent.name}'s energy`);
  const energy = element("td");
  const energyText = element("span");
  energy.append(meter, " ", energyText);
  const parts = {tr, badge, meter, energyText, score: element("td", "num"), carries: element("td", "small"),
                 last: element("td", "small")};
  tr.append(name, energy, parts.score, parts.carries, parts.last);
  tr.addEventListener("mouseenter", () => map.select(id));
  tr.addEventListener("focusin", () => map.select(id));
  return parts;
}

function renderAgents() {
  const order = Object.entries(world.agents).sort(([a, x], [b, y]) => y.score - x.score || a.localeCompare(b));
  $("agent-count").textContent = order.length;
  for (const [id, agent] of order) {
    if (!rows.has(id)) rows.set(id, agentRow(id, agent));
    const row = rows.get(id);
    row.badge.hidden = agent.status !== "paused";
    row.meter.value = agent.energy;
    row.energyText.textContent = agent.energy;
    row.score.textContent = agent.score;
    row.carries.textContent = Object.entries(agent.inventory).filter(([, n]) => n).map(([r, n]) => `${n} ${r}`).join(", ") || "–";
    const last = lastAction[id];
    row.last.textContent = last ? `t${last.tick} ${last.text}` : "–";
    row.last.className = `small ${last ? `tone-${last.tone}` : ""}`;
  }
  const table = $("agents");
  const shown = [...table.children].map((tr) => tr.dataset.agent);
  if (shown.join() !== order.map(([id]) => id).join()) table.replaceChildren(...order.map(([id]) => rows.get(id).tr));
}

function renderCadence() {
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

const client = new StreamClient({
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

// For people poking around in the console, and for the browser tests.
window.selfplay = {
  client, map,
  positions: () => client.positions(),
  snapshot: () => ({position: client.position, state: structuredClone(world)}),
  status: () => client.status,
  history: () => client.history,
};
client.start();
