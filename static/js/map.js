// The region's map on a canvas: terrain shaded by what is left on each tile, structures, and
// agents gliding to their new tiles after every tick.

const TERRAIN = {".": "#d7eabf", "~": "#8ec3e6", b: "#a8d68f", f: "#5e9c5b", r: "#b8b2a7"};
const RESOURCE_OF = {b: "berries", f: "wood", r: "stone"};
export const BRAIN_COLOURS = {builder: "#b5472f", forager: "#7a4fa3", trader: "#c98a12", wanderer: "#2e6fa8"};
const GLIDE_MS = 350;
const BERRY_SPOTS = [[0.3, 0.35], [0.68, 0.45], [0.42, 0.72]];

function mix(hex, other, amount) {
  const parse = (h) => [1, 3, 5].map((i) => Number.parseInt(h.slice(i, i + 2), 16));
  const [a, b] = [parse(hex), parse(other)];
  return `rgb(${a.map((v, i) => Math.round(v + (b[i] - v) * amount)).join(",")})`;
}

export class WorldMap {
  constructor(canvas, {rules, owned = [], onPick = () => {}}) {
    Object.assign(this, {canvas, rules, owned: new Set(owned), onPick});
    this.context = canvas.getContext("2d");
    this.state = null;
    this.shown = new Map(); // agent id -> {from: [x, y], to: [x, y], since}
    this.selected = null;
    this.frames = 0;
    this.pending = false;
    canvas.addEventListener("click", (event) => this.pick(event));
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
    this.requestDraw();
  }

  select(agentId) {
    this.selected = agentId;
    this.requestDraw();
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
      const code = terrain[i];
      const resource = RESOURCE_OF[code];
      const left = resource ? amounts[i] / this.rules.capacity[resource] : 1;
      g.fillStyle = resource ? mix(TERRAIN[code], TERRAIN["."], 1 - left) : TERRAIN[code] || "#ccc";
      g.fillRect((i % state.width) * s, Math.floor(i / state.width) * s, s, s);
      if (code === "b" && amounts[i] > 0 && s >= 8) {
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
      if (this.owned.has(id) || id === this.selected) {
        g.beginPath();
        g.arc((x + 0.5) * s, (y + 0.5) * s, s * 0.8, 0, 7);
        g.lineWidth = Math.max(1.5, s * 0.16);
        g.strokeStyle = id === this.selected ? "#111" : "#e8b400";
        g.stroke();
      }
    }
    this.frames++;
    if (moving) this.requestDraw();
  }

  pick(event) {
    if (!this.state || !this.tile) return;
    const box = this.canvas.getBoundingClientRect();
    const x = Math.floor((event.clientX - box.left) / this.tile);
    const y = Math.floor((event.clientY - box.top) / this.tile);
    const hit = Object.entries(this.state.agents).find(([, a]) => a.x === x && a.y === y);
    if (hit) this.onPick(hit[0]);
  }
}
