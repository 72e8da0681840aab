// A local world's events for the world page, in place of the WebSocket (DESIGN §10).
//
// `LocalWorker` talks to the page's one worker (/local/worker.js), where Pyodide ticks the world
// and IndexedDB keeps its log. `LocalSource` has `StreamClient`'s interface (stream.js: start(),
// position, head, positions(), status, history and the onReset / onEvents / onStatus callbacks),
// so world-page.js draws a local world with the very code that draws a live one: it starts from
// the state at the world's newest checkpoint and folds the events after it, each once, in order.
// As there, an exception in a page callback is reported as the page's bug (page-errors.js).

import {reportError} from "./page-errors.js";

export class LocalWorker {
  constructor(url) {
    this.worker = new Worker(url, {type: "module"});
    this.listeners = new Map();
    this.replies = new Map();
    this.nextId = 1;
    this.worker.onmessage = ({data}) => {
      if (data.type === "reply") {
        const reply = this.replies.get(data.id);
        this.replies.delete(data.id);
        if (data.ok) reply?.resolve(data.value);
        else reply?.reject(Object.assign(new Error(data.error.message), data.error));
        return;
      }
      for (const listener of this.listeners.get(data.type) || []) listener(data);
    };
    this.worker.onerror = (event) => {
      for (const listener of this.listeners.get("status") || []) {
        listener({phase: "failed", text: `The worker failed: ${event.message}`});
      }
    };
  }

  on(type, listener) {
    if (!this.listeners.has(type)) this.listeners.set(type, []);
    this.listeners.get(type).push(listener);
  }

  /** Ask the worker to do `op`; resolve with its answer. */
  request(op, payload = {}) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.replies.set(id, {resolve, reject});
      this.worker.postMessage({...payload, op, id});
    });
  }
}

let shared = null;

/** Return the page's one worker, started on first use. */
export function localWorker(url) {
  shared ??= new LocalWorker(url);
  return shared;
}

export class LocalSource {
  /** urls {worker}, tickSeconds; callbacks onReset(state, position), onEvents(events), onStatus(status). */
  constructor(options) {
    Object.assign(this, {onReset() {}, onEvents() {}, onStatus() {}, onHeartbeat() {}}, options);
    this.streamId = null; // world:<region>, known once the worker has opened the world
    this.position = null; // the last applied position of the world stream
    this.head = null;
    this.runs = [];
    this.lastSeen = null;
    this.status = {phase: "connecting", text: "Starting Python…"};
    this.history = [];
  }

  start() {
    const worker = localWorker(this.urls.worker);
    worker.on("reset", ({meta, base, tail}) => {
      this.streamId = `world:${meta.region}`;
      this.position = base.position;
      this.runs = [];
      this.notify("onReset", base.world, base.position);
      this.apply(tail);
    });
    worker.on("events", ({events}) => this.apply(events));
    worker.on("status", (status) => this.setStatus(status));
    this.setStatus(this.status);
    return this;
  }

  notify(name, ...args) {
    try {
      this[name](...args);
    } catch (error) {
      reportError(error, `drawing the local world (${name})`);
    }
  }

  positions() {
    return this.runs.flatMap(([first, last]) => Array.from({length: last - first + 1}, (_, i) => first + i));
  }

  apply(events) {
    const fresh = [];
    for (const event of events) {
      if (event.streamId !== this.streamId || event.position <= this.position) continue;
      if (event.position !== this.position + 1) {
        // Not expected: the worker writes and posts every batch in order.
        this.setStatus({phase: "failed", text: `Position ${this.position + 1} is missing; reload the page`});
        break;
      }
      fresh.push(event);
      this.position = event.position;
      const run = this.runs[this.runs.length - 1];
      if (run && run[1] + 1 === event.position) run[1] = event.position;
      else this.runs.push([event.position, event.position]);
    }
    this.head = this.position;
    if (fresh.length) this.notify("onEvents", fresh);
  }

  setStatus(status) {
    this.status = status;
    this.history.push({...status, at: Date.now()});
    if (this.history.length > 500) this.history.splice(0, 100);
    this.notify("onStatus", status);
  }
}
