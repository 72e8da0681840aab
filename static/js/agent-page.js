// The agent page: history (its own stream), plan, energy and inventory over time (from the
// world stream), and for its owner the override panel.

import {legend, lineChart} from "./chart.js";
import {Feed, describeAction, describePlan, outcomeText} from "./feed.js";
import {OverridePanel} from "./override.js";
import {applyAgentStream, applyWorld, initialAgentStream, initialWorld, isOutcome} from "./reducers.js";
import {frameScheduler} from "./frame.js";
import {StreamClient} from "./stream.js";
import {renderStatus, worst} from "./status.js";

const config = JSON.parse(document.getElementById("page-config").textContent);
const $ = (id) => document.getElementById(id);
const me = config.agentId;
const RESOURCE_COLOURS = {berries: "#b8324a", stone: "#7d7a73", wood: "#8a5a2b"};
const MAX_POINTS = 400;

let world = null;
let stream = null; // the agent stream's state
const names = {};
const series = [{name: "energy", colour: "#2e8b57", width: 2.5, points: []},
                ...config.rules.resources.map((r) => ({name: r, colour: RESOURCE_COLOURS[r] || "#555", points: []}))];
const outcomes = new Map(); // tick -> {text, tone} of this agent's outcomes, to annotate its decisions
const queueRender = frameScheduler(() => render());

const history = new Feed($("history"), {limit: 200, names});
const originalLine = history.line.bind(history);
history.line = (event) => {
  const li = originalLine(event);
  if (event.type === "agent.action.submitted") {
    li.dataset.tick = event.data.tick;
    const known = outcomes.get(event.data.tick);
    if (known) annotate(li, known);
  }
  return li;
};

function annotate(li, outcome) {
  if (li.querySelector(".feed-outcome")) return;
  const span = document.createElement("span");
  span.className = `feed-outcome tone-${outcome.tone}`;
  span.textContent = outcome.tone === "fail" ? `✗ ${outcome.reason}` : "✓";
  span.title = outcome.text;
  li.querySelector(".feed-text").after(span);
}

const panel = config.canCommand
  ? new OverridePanel($("override"), {
      config,
      agents: () => Object.entries(world?.agents ?? {}).filter(([id]) => id !== me).map(([id, a]) => [id, a.name]),
    })
  : null;

// --- the world stream: energy, inventory, outcomes -------------------------------------------

function point(tick) {
  const agent = world.agents[me];
  if (!agent) return;
  const values = [agent.energy, ...config.rules.resources.map((r) => agent.inventory[r] ?? 0)];
  series.forEach((s, i) => {
    const last = s.points[s.points.length - 1];
    if (last && last[0] === tick) last[1] = values[i];
    else s.points.push([tick, values[i]]);
    if (s.points.length > MAX_POINTS) s.points.shift();
  });
}

function onWorldReset(state) {
  world = state ?? initialWorld(config.region);
  for (const [id, agent] of Object.entries(world.agents)) names[id] = agent.name;
  point(world.tick);
  $("chart-since").textContent = world.tick;
  queueRender();
}

function onWorldEvents(events) {
  for (const event of events) {
    applyWorld(world, event, config.rules);
    const d = event.data || {};
    if (event.type === "agent.spawned") names[d.agentId] = d.name;
    if (isOutcome(event) && d.agentId === me) {
      const ok = event.type === "agent.action.succeeded";
      const outcome = {text: outcomeText(event, names), tone: ok ? "ok" : "fail", reason: d.reason};
      outcomes.set(d.tick, outcome);
      if (outcomes.size > MAX_POINTS) outcomes.delete(outcomes.keys().next().value);
      const line = $("history").querySelector(`li[data-tick="${d.tick}"]`);
      if (line) annotate(line, outcome);
      $("last-outcome").textContent = `t${d.tick}: ${outcome.text}`;
      panel?.happened("override", d.tick, {text: outcome.text, ok, cause: event.metadata?.causationId});
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
  for (const event of events) applyAgentStream(stream, event);
  history.add(events);
  queueRender();
}

// --- rendering ------------------------------------------------------------------------------

function render() {
  const agent = world?.agents[me];
  if (agent) {
    $("tick").textContent = world.tick;
    $("energy").value = agent.energy;
    $("energy-text").textContent = `${agent.energy} / ${config.rules.maxEnergy}`;
    $("score").textContent = agent.score;
    $("where").textContent = `(${agent.x}, ${agent.y})`;
    $("inventory").replaceChildren(...config.rules.resources.flatMap((r) => {
      const dt = document.createElement("dt");
      const dd = document.createElement("dd");
      dt.textContent = r;
      dd.textContent = agent.inventory[r] ?? 0;
      return [dt, dd];
    }));
    lineChart($("chart"), series.slice(0, 1), {yMax: config.rules.maxEnergy, xLabel: "t", height: 170});
    lineChart($("chart-inventory"), series.slice(1), {yMax: 5, xLabel: "t", height: 130});
    legend($("chart-legend"), series);
  }
  if (stream) {
    const status = stream.status;
    $("status").textContent = status;
    $("status").dataset.status = status;
    panel?.showStatus(status);
    $("plan").textContent = describePlan(stream.plan);
    $("last-decision").textContent = stream.lastAction
      ? `t${stream.lastTick}: ${describeAction(stream.lastAction)} (${stream.lastSource})` : "–";
    $("overrides").textContent = stream.overrides;
  }
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
  agentClient, worldClient, panel,
  positions: () => agentClient.positions(),
  worldPositions: () => worldClient.positions(),
  snapshot: () => ({position: agentClient.position, state: structuredClone(stream),
                    worldPosition: worldClient.position, world: structuredClone(world)}),
  status: () => worst(Object.values(statuses)),
};
agentClient.start();
worldClient.start();
