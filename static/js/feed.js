// Event feeds: one line per event, newest first, each tagged with its stream position.

const STEP_NAMES = {"-1,-1": "up-left", "0,-1": "up", "1,-1": "up-right", "-1,0": "left", "1,0": "right",
                    "-1,1": "down-left", "0,1": "down", "1,1": "down-right", "0,0": "here"};

export function describeAction(action) {
  if (!action) return "nothing";
  const step = (a) => STEP_NAMES[`${a.dx ?? 0},${a.dy ?? 0}`];
  switch (action.type) {
    case "move": return `move ${step(action)}`;
    case "gather": return `gather ${step(action)}`;
    case "eat": return `eat ${action.resource}`;
    case "build": return `build a ${action.structure}`;
    case "give": return `give ${amountOf(action.amount, action.resource)} to ${action.to}`;
    case "say": return `say “${action.text}”`;
    case "use": return `use ${action.capability}`;
    default: return action.type;
  }
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** Say why an action failed in words (`reasons`: the page config's rules.failureReasons). */
export function reasonText(reason, reasons = {}) {
  return reasons[reason] ?? String(reason ?? "no reason given").replaceAll("_", " ");
}

/**
 * Return {tick, text, tone} for a world or agent stream event. `names` maps agent ids to names,
 * `reasons` failure codes to words.
 */
export function describe(event, names = {}, reasons = {}) {
  const d = event.data || {};
  const who = (id) => names[id] || id;
  const tick = d.tick ?? event.metadata?.tick ?? d.appliesAtTick ?? null;
  const actor = event.metadata?.actor;
  const by = actor && actor !== "system" && !actor.startsWith("agent:") ? ` by ${actor}` : "";
  switch (event.type) {
    case "world.created":
      return {tick, text: `World ${d.region} created (${d.width} × ${d.height})`, tone: "system"};
    case "world.tick.completed":
      return {tick, text: `Tick ${d.tick} completed: ${plural(d.agents, "agent")} in ${d.durationMs} ms`, tone: "tick"};
    case "world.imported":
      return {tick: d.lastTick, text: `World moved here from a browser by ${d.owner}: ${d.ticks} ticks, ${d.events} events verified`,
              tone: "system"};
    case "world.ticks.skipped":
      return {tick: d.toTick, text: `Ticks ${d.fromTick}–${d.toTick} skipped (${d.reason})`, tone: "warn"};
    case "agent.spawned":
      return {tick, text: `${who(d.agentId)} arrived at (${d.x}, ${d.y}) as a ${d.brain}`, tone: "system"};
    case "agent.action.succeeded":
    case "agent.action.failed":
      return {tick, text: `${who(d.agentId)} ${outcomeText(event, names, reasons)}`,
              tone: event.type === "agent.action.succeeded" ? "ok" : "fail"};
    case "agent.paused":
      return {tick, text: `${who(d.agentId)} paused${by}${d.reason ? ` — ${d.reason}` : ""}`, tone: "warn"};
    case "agent.resumed":
      return {tick, text: `${who(d.agentId)} resumed${by}${d.reason ? ` — ${d.reason}` : ""}`, tone: "ok"};
    case "agent.action.submitted":
      return {tick, text: `Decided to ${describeAction(d.action)} (${d.source})`, tone: d.source === "override" ? "override" : "plain"};
    case "agent.plan.updated":
      return {tick, text: `New plan: ${describePlan(d.plan)}`, tone: "plan"};
    case "player.override.submitted":
      return {tick: d.appliesAtTick, text: `Override${by}: ${describeAction(d.action)} at tick ${d.appliesAtTick}` +
              (d.reason ? ` — ${d.reason}` : ""), tone: "override"};
    case "agent.decision.submitted":
      return {tick: d.appliesAtTick, text: `External decision: ${describeAction(d.action)}`, tone: "plain"};
    case "agent.capabilities.granted":
      return {tick, text: `Granted ${d.grants?.join(", ") || "no capabilities"}${by}`, tone: "system"};
    case "capability.requested":
      return {tick, text: `Asked ${d.capability} (cost ${d.cost}, budget left ${d.budget})`, tone: "plan"};
    case "capability.completed":
      return {tick, text: `${d.capability} done${d.blobHash ? ` (blob ${d.blobHash.slice(0, 12)}…)` : ""}`, tone: "ok"};
    case "capability.failed":
      return {tick, text: `${d.capability} failed: ${String(d.code).replaceAll("_", " ")}`, tone: "fail"};
    default:
      return {tick, text: event.type, tone: "plain"};
  }
}

function amountOf(n, resource) {
  return n === 1 && resource === "berries" ? "1 berry" : `${n} ${resource}`;
}

/** What an agent did, without its name: "moved to (3, 4)", "could not gather up: nothing is left there to gather". */
export function outcomeText(event, names = {}, reasons = {}) {
  const d = event.data || {};
  const e = d.effects || {};
  if (event.type === "agent.action.failed") return `could not ${describeAction(d.action)}: ${reasonText(d.reason, reasons)}`;
  if (d.action?.type === "move") return `moved to (${e.x}, ${e.y})`;
  if (e.tile) return `gathered ${amountOf(-e.tile.delta, e.tile.resource)}`;
  if (e.said) return `said “${e.said}”`;
  if (e.structure) return `built a ${e.structure.type} at (${e.structure.x}, ${e.structure.y})`;
  if (e.transfer) return `gave ${amountOf(e.transfer.amount, e.transfer.resource)} to ${names[e.transfer.to] || e.transfer.to}`;
  if (d.action?.type === "eat") return `ate ${d.action.resource}`;
  if (d.action?.type === "rest") return "rested";
  return describeAction(d.action);
}

export function describePlan(plan) {
  if (plan === null || plan === undefined) return "none";
  if (typeof plan !== "object") return String(plan);
  return Object.entries(plan).map(([key, value]) => {
    if (value && typeof value === "object") {
      return `${key} ${Object.entries(value).map(([k, v]) => `${k} ${v}`).join(", ")}`;
    }
    return `${key} ${value}`;
  }).join("; ");
}

/** The agents an event is about: the one acting (or the stream's agent) and one it gave something to. */
export function agentsOf(event) {
  const d = event.data || {};
  const ids = [];
  if (d.agentId) ids.push(d.agentId);
  else if (event.streamId?.startsWith("agent:")) ids.push(event.streamId.slice(6));
  if (d.effects?.transfer?.to) ids.push(d.effects.transfer.to);
  return ids;
}

/**
 * A list of the latest `limit` events, newest first; older lines drop off the end. `decorate(li,
 * event)` may add to each line as it is made (a mark, an annotation); `keep(event)` filters.
 */
export class Feed {
  constructor(list, {limit = 150, names = {}, reasons = {}, keep = () => true, decorate = () => {}} = {}) {
    Object.assign(this, {list, limit, names, reasons, keep, decorate});
  }

  /** Replace the lines with `events` (oldest first), as if added to an empty list. */
  show(events) {
    this.list.replaceChildren();
    this.add(events);
  }

  add(events) {
    const shown = events.filter(this.keep).slice(-this.limit);
    if (!shown.length) return;
    const fragment = document.createDocumentFragment();
    for (const event of shown.reverse()) fragment.append(this.line(event));
    this.list.prepend(fragment);
    while (this.list.children.length > this.limit) this.list.lastElementChild.remove();
  }

  /** Mark the oldest event new since the last visit, the one after `position`. */
  markNewSince(position) {
    this.list.querySelector(`li[data-position="${position + 1}"]`)?.classList.add("first-new");
  }

  line(event) {
    const {tick, text, tone} = describe(event, this.names, this.reasons);
    const li = document.createElement("li");
    li.dataset.position = event.position;
    li.dataset.type = event.type;
    const about = agentsOf(event);
    if (about.length) li.dataset.agents = about.join(" ");
    li.className = `tone-${tone}`;
    const at = document.createElement("span");
    at.className = "feed-tick";
    at.textContent = tick === null ? "" : `t${tick}`;
    const what = document.createElement("span");
    what.className = "feed-text";
    what.textContent = text;
    const pos = document.createElement("span");
    pos.className = "feed-pos";
    pos.textContent = `#${event.position}`;
    li.append(at, what, pos);
    this.decorate(li, event);
    return li;
  }
}
