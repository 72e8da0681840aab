// The agent page's capability card: grants, the budget bucket, spend, latest requests and, for the
// owner, notifications. Read from GET /worlds/<region>/agents/<id>/capabilities; refreshed when the
// agent's stream records a capability event (the bucket refills per tick, so it is read, not folded).

import {element} from "./dom.js";
import {fetchJSON} from "./stream.js";

const REFRESH_AFTER_MS = 300; // capability events come in bursts: one read for a burst

export class CapabilityCard {
  constructor(root, url) {
    this.root = root;
    this.url = url;
    this.timer = null;
  }

  /** Read the ledger again soon (once for any number of calls in a burst). */
  refresh() {
    if (!this.root || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      fetchJSON(this.url).then((ledger) => this.render(ledger)).catch(() => {}); // the next event retries
    }, REFRESH_AFTER_MS);
  }

  render(ledger) {
    const $ = (id) => this.root.querySelector(`#${id}`);
    $("cap-grants").textContent = ledger.grants.length ? ledger.grants.join(", ") : "none";
    const meter = $("cap-budget-meter");
    meter.max = ledger.budgetCap;
    meter.value = ledger.budget;
    $("cap-budget").textContent = `${ledger.budget} of ${ledger.budgetCap} (+${ledger.refillPerTick} a tick)`;
    $("cap-spent").textContent = `${ledger.spent} over ${ledger.requests} requests`;
    $("cap-results").replaceChildren(...ledger.results.map((r) => element("li", {"data-status": r.status},
      `tick ${r.tick}: ${r.capability} ${resultText(r)}`)));
    const notes = $("cap-notifications");
    if (notes && ledger.notifications) {
      notes.replaceChildren(...ledger.notifications.map((n) => element("li", {}, n.message)));
    }
  }
}

function resultText(r) {
  if (r.status === "pending") return "pending";
  if (r.status === "failed") return `failed: ${String(r.code).replaceAll("_", " ")}`;
  if (r.blobHash) return `done (blob ${r.blobHash.slice(0, 12)}…, ${r.size} bytes)`;
  return `done: ${JSON.stringify(r.result).slice(0, 120)}`;
}
