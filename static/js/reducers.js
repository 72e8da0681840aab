// The browser's copies of two server reducers, so a page can fold live events into a state it
// got from a checkpoint: `world` (selfplay/world/projections.py) and the agent stream's state
// (agents/agent_stream.py). They must agree with the server exactly: the browser tests compare
// a page's state with the server's fold at the same position. Unlike the server's, these
// change the state in place: the page owns its copy. `rules` comes from the page config.

const OUTCOMES = new Set(["agent.action.succeeded", "agent.action.failed"]);

export function initialWorld(region) {
  return {region, seed: null, rulesVersion: null, tick: 0, width: 0, height: 0,
          tiles: {terrain: "", amounts: []}, agents: {}, structures: {}};
}

const regrowthCache = new Map();

/** Per resource, the tile indexes of its terrain grouped by index modulo its regrowth period. */
function regrowthSchedule(terrain, rules) {
  if (!regrowthCache.has(terrain)) {
    const schedule = {};
    for (const resource of rules.resources) {
      const period = rules.regrowEvery[resource];
      const code = rules.terrainOfResource[resource];
      const groups = Array.from({length: period}, () => []);
      for (let i = 0; i < terrain.length; i++) if (terrain[i] === code) groups[i % period].push(i);
      schedule[resource] = groups;
    }
    regrowthCache.clear();
    regrowthCache.set(terrain, schedule);
  }
  return regrowthCache.get(terrain);
}

function regrow(state, tick, rules) {
  const amounts = state.tiles.amounts;
  for (const [resource, groups] of Object.entries(regrowthSchedule(state.tiles.terrain, rules))) {
    const period = rules.regrowEvery[resource];
    const cap = rules.capacity[resource];
    for (const i of groups[((-tick % period) + period) % period]) if (amounts[i] < cap) amounts[i] += 1;
  }
}

function applyOutcome(state, data) {
  const agent = state.agents[data.agentId];
  if (!agent) return;
  const effects = data.effects;
  if ("energy" in effects) agent.energy = effects.energy;
  if ("x" in effects) [agent.x, agent.y] = [effects.x, effects.y];
  if ("inventory" in effects) {
    for (const [resource, delta] of Object.entries(effects.inventory)) {
      agent.inventory[resource] = (agent.inventory[resource] ?? 0) + delta;
    }
  }
  if ("score" in effects) agent.score += effects.score;
  if ("tile" in effects) {
    const tile = effects.tile;
    state.tiles.amounts[tile.y * state.width + tile.x] += tile.delta;
  }
  if ("structure" in effects) {
    const built = effects.structure;
    state.structures[`${built.x},${built.y}`] = {type: built.type, owner: data.agentId, tick: data.tick};
  }
  if ("transfer" in effects) {
    const transfer = effects.transfer;
    const recipient = state.agents[transfer.to];
    if (recipient) {
      recipient.inventory[transfer.resource] = (recipient.inventory[transfer.resource] ?? 0) + transfer.amount;
    }
  }
}

/** Fold one world-stream event into `state` (in place) and return it. */
export function applyWorld(state, event, rules) {
  const data = event.data || {};
  switch (event.type) {
    case "agent.action.succeeded":
    case "agent.action.failed":
      applyOutcome(state, data);
      break;
    case "world.tick.completed":
      if (data.tick > state.tick) {
        regrow(state, data.tick, rules);
        state.tick = data.tick;
      }
      break;
    case "world.ticks.skipped":
      state.tick = Math.max(state.tick, data.toTick);
      break;
    case "agent.spawned":
      if (data.region === state.region && !(data.agentId in state.agents)) {
        state.agents[data.agentId] = {
          name: data.name, brain: data.brain, owner: data.owner ?? null, x: data.x, y: data.y,
          energy: rules.startEnergy, inventory: Object.fromEntries(rules.resources.map((r) => [r, 0])),
          score: 0, status: "active",
        };
      }
      break;
    case "agent.paused":
    case "agent.resumed":
      if (state.agents[data.agentId]) state.agents[data.agentId].status = event.type === "agent.paused" ? "paused" : "active";
      break;
    case "agent.owner.changed":
      if (state.agents[data.agentId]) state.agents[data.agentId].owner = data.owner;
      break;
    case "agent.brain.changed":
      if (state.agents[data.agentId]) state.agents[data.agentId].brain = data.brain;
      break;
    case "world.created":
      if (state.seed === null && data.region === state.region) {
        Object.assign(state, {seed: data.seed, width: data.width, height: data.height, rulesVersion: data.rulesVersion,
                              tiles: {terrain: data.tiles.terrain, amounts: [...data.tiles.amounts]}});
      }
      break;
  }
  return state;
}

export function isOutcome(event) {
  return OUTCOMES.has(event.type);
}

export function initialAgentStream(agentId) {
  return {agentId, events: 0, status: "active", lastTick: null, lastAction: null, lastSource: null,
          plan: null, decisions: 0, sources: {}, brainErrors: 0, externalDecisions: 0, overrides: 0,
          lastOverride: null};
}

/** Fold one `agent:<id>` event into `state` (in place) and return it. */
export function applyAgentStream(state, event) {
  const data = event.data || {};
  state.events += 1;
  switch (event.type) {
    case "agent.action.submitted": {
      const source = typeof data.source === "string" ? data.source : "unknown";
      state.decisions += 1;
      state.lastTick = data.tick ?? null;
      state.lastAction = data.action ?? null;
      state.lastSource = source;
      state.sources[source] = (state.sources[source] ?? 0) + 1;
      if (data.brainError) state.brainErrors += 1;
      break;
    }
    case "agent.plan.updated":
      state.plan = data.plan ?? null;
      break;
    case "agent.paused":
    case "agent.resumed":
      state.status = event.type === "agent.paused" ? "paused" : "active";
      break;
    case "player.override.submitted":
      state.overrides += 1;
      state.lastOverride = {action: data.action ?? null, reason: data.reason ?? null,
                            appliesAtTick: data.appliesAtTick ?? null, actor: event.metadata?.actor ?? null};
      break;
    case "agent.decision.submitted":
      state.externalDecisions += 1;
      break;
  }
  return state;
}
