// The world page: live map, agent list, event feed, tick and cadence of one region.

import {sparkline} from "./chart.js";
import {Feed, outcomeText} from "./feed.js";
import {BRAIN_COLOURS, WorldMap} from "./map.js";
import {applyWorld, initialWorld, isOutcome} from "./reducers.js";
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
let renderQueued = false;
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

function queueRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
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

function cell(text, className = "") {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function renderAgents() {
  const rows = Object.entries(world.agents).sort(([a, x], [b, y]) => y.score - x.score || a.localeCompare(b));
  $("agent-count").textContent = rows.length;
  $("agents").replaceChildren(...rows.map(([id, agent]) => {
    const tr = document.createElement("tr");
    tr.dataset.agent = id;
    if (config.ownedAgents.includes(id)) tr.classList.add("owned");
    const name = document.createElement("td");
    const swatch = document.createElement("span");
    swatch.className = "swatch round";
    swatch.style.background = BRAIN_COLOURS[agent.brain] || "#444";
    const link = document.createElement("a");
    link.href = agentUrl(id);
    link.textContent = agent.name;
    const brain = document.createElement("small");
    brain.className = "muted";
    brain.textContent = ` ${agent.brain}`;
    name.append(swatch, link, brain);
    if (agent.status === "paused") {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = "paused";
      name.append(" ", badge);
    }
    const energy = document.createElement("td");
    const meter = document.createElement("meter");
    Object.assign(meter, {min: 0, max: config.rules.maxEnergy, low: 25, high: 60, optimum: 100, value: agent.energy});
    meter.setAttribute("aria-label", `${agent.name}'s energy`);
    energy.append(meter, ` ${agent.energy}`);
    const inventory = Object.entries(agent.inventory).filter(([, n]) => n).map(([r, n]) => `${n} ${r}`).join(", ");
    const last = lastAction[id];
    tr.append(name, energy, cell(agent.score, "num"), cell(inventory || "–", "small"),
              cell(last ? `t${last.tick} ${last.text}` : "–", `small ${last ? `tone-${last.tone}` : ""}`));
    tr.addEventListener("mouseenter", () => map.select(id));
    tr.addEventListener("focusin", () => map.select(id));
    return tr;
  }));
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
      if (client.lastSeen !== null) feed.markSeen(client.lastSeen);
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
