// Is the world ticking? Asks the server (GET /worlds/<region>/health) every few seconds and says
// why not in a banner: a stalled region or an unreachable broker. The connection indicator only
// knows about this page's socket; a world can be stalled while the socket is fine, and the socket
// can be down while the world ticks on.

import {element} from "./dom.js";

const EVERY_MS = 10_000;

export class HealthWatch {
  /** `url`: the region's health URL; `banner`: the element that shows warnings; `onHealth(health)`. */
  constructor({url, banner, onHealth = () => {}, everyMs = EVERY_MS}) {
    this.url = url;
    this.banner = banner;
    this.onHealth = onHealth;
    this.everyMs = everyMs;
    this.latest = null;
    this.timer = null;
  }

  start() {
    this.check();
    return this;
  }

  async check() {
    clearTimeout(this.timer);
    try {
      const response = await fetch(this.url, {headers: {Accept: "application/json"}});
      if (response.ok) this.show(await response.json());
      else if (response.status !== 429) this.show({warnings: [`The server answers ${response.status}: the world's state is unknown.`]});
    } catch {
      // The server itself is unreachable: the connection indicator already says so.
    } finally {
      this.timer = setTimeout(() => this.check(), this.everyMs);
    }
  }

  show(health) {
    this.latest = health;
    const warnings = health.warnings ?? [];
    this.banner.hidden = warnings.length === 0;
    this.banner.replaceChildren(...warnings.map((text) => element("p", {}, text)));
    this.onHealth(health);
  }
}
