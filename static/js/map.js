// The region's map on a canvas: terrain shaded by what is left on each tile, structures, and
// agents gliding to their new tiles after every tick. Names show on hover; a click follows an
// agent (the page decides what following means beyond the map's highlight).
//
// What each terrain code means comes from the server's rules (page config `rules.terrain`:
// code, name, label, resource); only the colours live here, keyed by terrain name.

import {element} from "./dom.js";

export const TERRAIN_COLOURS = {grass: "#d7eabf", water: "#8ec3e6", bush: "#a8d68f", forest: "#5e9c5b", rocks: "#b8b2a7"};
export const BRAIN_COLOURS = {builder: "#b5472f", forager: "#7a4fa3", trader: "#c98a12", wanderer: "#2e6fa8"};
const UNKNOWN_COLOUR = "#cccccc";
const OWNED_RING = "#e8b400";
const FOLLOW_RING = "#111111";
const GLIDE_MS = 350;
const BERRY_SPOTS = [[0.3, 0.35], [0.68, 0.45], [0.42, 0.72]];

function mix(hex, other, amount) {
  const parse = (h) => [1, 3, 5].map((i) => Number.parseInt(h.slice(i, i + 2), 16));
  const [a, b] = [parse(hex), parse(other)];
  return `rgb(${a.map((v, i) => Math.round(v + (b[i] - v) * amount)).join(",")})`;
}

/** Return code -> {name, label, resource, colour} from the rules' terrain table. */
export function terrainTable(rules) {
  return Object.fromEntries((rules.terrain ?? []).map((t) => [t.code, {...t, colour: TERRAIN_COLOURS[t.name] ?? UNKNOWN_COLOUR}]));
}

/** Fill a legend list: terrain from the rules, brains, and what each ring around an agent means. */
export function renderLegend(list, rules, {owned = []} = {}) {
  const item = (colour, text, className = "swatch") => {
    const swatch = element("span", {class: className});
    if (colour) swatch.style.background = colour;
    const li = element("li");
    li.append(swatch, text);
    return li;
  };
  const ring = (colour, text) => {
    const swatch = element("span", {class: "swatch round ring"});
    swatch.style.borderColor = colour;
    const li = element("li");
    li.append(swatch, text);
    return li;
  };
  list.replaceChildren(
    ...Object.values(terrainTable(rules)).map((t) => item(t.colour, t.label)),
    ...Object.entries(BRAIN_COLOURS).map(([brain, colour]) => item(colour, brain, "swatch round")),
    item(null, "paused", "swatch round hollow"),
    ...(owned.length ? [ring(OWNED_RING, owned.length === 1 ? "your agent" : "your agents")] : []),
    ring(FOLLOW_RING, "followed (click an agent; click again or Esc to stop)"),
  );
}

export class WorldMap {
  constructor(canvas, {rules, owned = [], names = {}, onPick = () => {}}) {
    Object.assign(this, {canvas, rules, names, owned: new Set(owned), onPick});
    this.terrain = terrainTable(rules);
    this.ground = TERRAIN_COLOURS.grass;
    this.context = canvas.getContext("2d");
    this.state = null;
    this.shown = new Map(); // agent id -> {from: [x, y], to: [x, y], since}
    this.selected = null; // hovered in the agent list
    this.following = null;
    this.frames = 0;
    this.pending = false;
    this.tip = element("div", {class: "map-tip", role: "tooltip", hidden: true});
    canvas.parentElement.append(this.tip);
    canvas.addEventListener("click", (event) => this.pick(event));
    canvas.addEventListener("mousemove", (event) => this.hover(event));
    canvas.addEventListener("mouseleave", () => this.hideTip());
    new ResizeObserver(() => this.resize()).observe(canvas.parentElement);
  }

  setState(state) {
    this.state = state;
    const now = performance.now();
    for (const [id, agent] of Object.entries(state.agents)) {
      const shown = this.shown.get(id);
      if (!shown) this.shown.set(id, {from: [agent.x, agent.y], to: [agent.x, agent.y], since: now});
      else if (shown.to[0] !== agent.x || shown.to[1] !== agent.y) {
        this.shown.set(id, {from: this.position(shown, now), to: [agent.x, agent.y], since: now});
      }
    }
    if (this.canvas.width === 0 || this.cells !== `${state.width}x${state.height}`) this.resize();
    if (this.following) this.centre(this.following);
    if (this.tipAt) this.showTip(...this.tipAt);
    this.requestDraw();
  }

  select(agentId) {
    this.selected = agentId;
    this.requestDraw();
  }

  /** Follow an agent (null: stop): a ring and cross-hairs on it, and the map scrolled to keep it in view. */
  follow(agentId) {
    this.following = agentId;
    if (agentId) this.centre(agentId);
    this.requestDraw();
  }

  centre(agentId) {
    const agent = this.state?.agents[agentId];
    const wrap = this.canvas.parentElement;
    if (!agent || !this.tile || wrap.scrollWidth <= wrap.clientWidth && wrap.scrollHeight <= wrap.clientHeight) return;
    wrap.scrollTo({left: (agent.x + 0.5) * this.tile - wrap.clientWidth / 2,
                   top: (agent.y + 0.5) * this.tile - wrap.clientHeight / 2, behavior: "smooth"});
  }

  resize() {
    if (!this.state || !this.state.width) return;
    const {width, height} = this.state;
    const tile = Math.max(6, Math.floor(this.canvas.parentElement.clientWidth / width));
    if (tile === this.tile && this.cells === `${width}x${height}`) return;
    this.tile = tile;
    const ratio = window.devicePixelRatio || 1;
    this.canvas.style.width = `${this.tile * width}px`;
    this.canvas.style.height = `${this.tile * height}px`;
    this.canvas.width = Math.round(this.tile * width * ratio);
    this.canvas.height = Math.round(this.tile * height * ratio);
    this.context.setTransform(ratio, 0, 0, ratio, 0, 0);
    this.cells = `${width}x${height}`;
    this.requestDraw();
  }

  requestDraw() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame((now) => {
      this.pending = false;
      this.draw(now);
    });
  }

  position(shown, now) {
    const t = Math.min(1, (now - shown.since) / GLIDE_MS);
    return [shown.from[0] + (shown.to[0] - shown.from[0]) * t, shown.from[1] + (shown.to[1] - shown.from[1]) * t];
  }

  draw(now) {
    const state = this.state;
    if (!state || !state.width || !this.tile) return;
    const {context: g, tile: s} = this;
    const {terrain, amounts} = state.tiles;
    for (let i = 0; i < terrain.length; i++) {
      const kind = this.terrain[terrain[i]];
      const resource = kind?.resource;
      const left = resource ? amounts[i] / this.rules.capacity[resource] : 1;
      g.fillStyle = !kind ? UNKNOWN_COLOUR : resource ? mix(kind.colour, this.ground, 1 - left) : kind.colour;
      g.fillRect((i % state.width) * s, Math.floor(i / state.width) * s, s, s);
      if (resource === "berries" && amounts[i] > 0 && s >= 8) {
        // Up to three small berries, fewer as the bush is picked.
        const x = (i % state.width) * s;
        const y = Math.floor(i / state.width) * s;
        g.fillStyle = "#a3283f";
        for (const [bx, by] of BERRY_SPOTS.slice(0, Math.ceil(3 * left))) {
          g.beginPath();
          g.arc(x + bx * s, y + by * s, Math.max(1, s * 0.1), 0, 7);
          g.fill();
        }
      }
    }
    for (const [key, built] of Object.entries(state.structures)) {
      const [x, y] = key.split(",").map(Number);
      if (built.type === "hut") {
        g.fillStyle = "#7b5431";
        g.fillRect(x * s + s * 0.15, y * s + s * 0.4, s * 0.7, s * 0.5);
        g.beginPath();
        g.moveTo(x * s + s * 0.05, y * s + s * 0.45);
        g.lineTo(x * s + s * 0.5, y * s + s * 0.08);
        g.lineTo(x * s + s * 0.95, y * s + s * 0.45);
        g.fill();
      } else {
        g.fillStyle = "#e0661b";
        g.beginPath();
        g.arc((x + 0.5) * s, (y + 0.5) * s, s * 0.28, 0, 7);
        g.fill();
      }
    }
    let moving = false;
    const followed = this.following && state.agents[this.following];
    if (followed) {
      // Cross-hairs through the followed agent, under every agent.
      const shown = this.shown.get(this.following);
      const [x, y] = shown ? this.position(shown, now) : [followed.x, followed.y];
      g.fillStyle = "rgba(17,17,17,.08)";
      g.fillRect(0, y * s, state.width * s, s);
      g.fillRect(x * s, 0, s, state.height * s);
    }
    for (const [id, agent] of Object.entries(state.agents)) {
      const shown = this.shown.get(id);
      const [x, y] = shown ? this.position(shown, now) : [agent.x, agent.y];
      moving ||= shown && now - shown.since < GLIDE_MS;
      const colour = BRAIN_COLOURS[agent.brain] || "#444";
      g.beginPath();
      g.arc((x + 0.5) * s, (y + 0.5) * s, s * 0.62, 0, 7);
      g.fillStyle = "rgba(255,255,255,.9)";
      g.fill();
      g.beginPath();
      g.arc((x + 0.5) * s, (y + 0.5) * s, s * 0.48, 0, 7);
      g.fillStyle = agent.status === "paused" ? "#fff" : colour;
      g.fill();
      g.lineWidth = Math.max(1, s * 0.12);
      g.strokeStyle = agent.status === "paused" ? colour : "rgba(0,0,0,.55)";
      g.stroke();
      const rings = [];
      if (this.owned.has(id)) rings.push([0.8, OWNED_RING]);
      if (id === this.following || id === this.selected) rings.push([this.owned.has(id) ? 1.0 : 0.8, FOLLOW_RING]);
      for (const [radius, colour] of rings) {
        g.beginPath();
        g.arc((x + 0.5) * s, (y + 0.5) * s, s * radius, 0, 7);
        g.lineWidth = Math.max(1.5, s * 0.16);
        g.strokeStyle = colour;
        g.stroke();
      }
    }
    this.frames++;
    if (moving) this.requestDraw();
  }

  tileAt(event) {
    const box = this.canvas.getBoundingClientRect();
    return [Math.floor((event.clientX - box.left) / this.tile), Math.floor((event.clientY - box.top) / this.tile)];
  }

  agentAt(x, y) {
    return Object.entries(this.state.agents).find(([, a]) => a.x === x && a.y === y)?.[0] ?? null;
  }

  pick(event) {
    if (!this.state || !this.tile) return;
    const hit = this.agentAt(...this.tileAt(event));
    if (hit) this.onPick(hit);
  }

  /** What is at tile (x, y), in words: the agent standing there, else the tile and what is built on it. */
  describeTile(x, y) {
    const state = this.state;
    if (!state || x < 0 || y < 0 || x >= state.width || y >= state.height) return null;
    const id = this.agentAt(x, y);
    if (id) {
      const agent = state.agents[id];
      const mine = this.owned.has(id) ? " · yours" : "";
      const paused = agent.status === "paused" ? " · paused" : "";
      return {agent: id, title: agent.name ?? this.names[id] ?? id,
              text: `${agent.brain} · energy ${agent.energy} · score ${agent.score}${paused}${mine}`};
    }
    const i = y * state.width + x;
    const kind = this.terrain[state.tiles.terrain[i]];
    const built = state.structures[`${x},${y}`];
    const parts = [];
    if (kind?.resource) parts.push(`${state.tiles.amounts[i]} of ${this.rules.capacity[kind.resource]} ${kind.resource} left`);
    if (built) parts.push(`a ${built.type} built by ${state.agents[built.owner]?.name ?? built.owner} at tick ${built.tick}`);
    return {agent: null, title: `${kind?.label ?? "unknown"} (${x}, ${y})`, text: parts.join(" · ")};
  }

  hover(event) {
    if (!this.state || !this.tile) return;
    const box = this.canvas.getBoundingClientRect();
    this.tipAt = [...this.tileAt(event), event.clientX - box.left, event.clientY - box.top];
    this.showTip(...this.tipAt);
  }

  showTip(x, y, left, top) {
    const about = this.describeTile(x, y);
    if (!about) return this.hideTip();
    this.canvas.style.cursor = about.agent ? "pointer" : "crosshair";
    this.tip.replaceChildren(element("strong", {}, about.title), about.text ? element("span", {}, about.text) : "");
    this.tip.dataset.agent = about.agent ?? "";
    this.tip.hidden = false;
    const wrap = this.canvas.parentElement;
    const offsetLeft = this.canvas.offsetLeft - wrap.scrollLeft;
    const offsetTop = this.canvas.offsetTop - wrap.scrollTop;
    const flip = left + offsetLeft + 240 > wrap.clientWidth;
    this.tip.style.left = `${offsetLeft + left + (flip ? -12 : 14)}px`;
    this.tip.style.top = `${offsetTop + top + 14}px`;
    this.tip.style.transform = flip ? "translateX(-100%)" : "";
  }

  hideTip() {
    this.tipAt = null;
    this.tip.hidden = true;
  }
}
