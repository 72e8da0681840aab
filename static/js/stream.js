// One stream kept in step with the log, gap-free, across any interruption (DESIGN §5, §6).
//
// Start, with no state: the checkpoint token stored in localStorage (else a fresh one from
// GET /checkpoint/latest) → GET /sync, whose first page holds the stream's state at the
// checkpoint, page after page until `complete` → WS /stream from the last position.
// Interrupted (socket closed, offline, heartbeats stopped, the machine slept): GET /sync pages
// after the last applied position, then the socket again. A stream without a checkpoint yet
// (404) starts from nothing and lets the socket replay it from the store.
//
// Events are applied strictly in position order, each exactly once: a position already applied
// is dropped, a jump closes the connection and resyncs from the last applied position.
//
// Two kinds of failure, kept apart: a protocol problem (a gap, a message that is not JSON, a
// refused /sync) reconnects; an exception thrown by one of the page's callbacks is the page's
// bug, reported (page-errors.js) without touching the connection, which goes on applying events.

import {randomId} from "./dom.js";
import {reportError} from "./page-errors.js";

const STORAGE_PREFIX = "selfplay.stream.";
const SESSION_KEY = "selfplay.session";
const TOKEN_REFUSALS = new Set(["token_invalid", "token_expired", "checkpoint_corrupt"]);
const BACKOFF_SECONDS = [0.5, 1, 2, 4, 8, 15, 30];
const OFFLINE_RETRY_SECONDS = 10;
const TOKEN_REFRESH_MS = 30_000;

export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message || `HTTP ${status}`);
    this.status = status;
    this.code = error?.code || "error";
    this.details = error?.details || {};
  }
}

class GapError extends Error {
  constructor(after, got) {
    super(`expected position ${after + 1}, got ${got}`);
  }
}

export async function fetchJSON(url, options = {}) {
  const response = await fetch(url, {credentials: "same-origin", ...options,
                                     headers: {Accept: "application/json", ...options.headers}});
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body?.error);
  return body;
}

function browserStorage() {
  try {
    return window.localStorage;
  } catch {
    return null; // storage disabled: the page still works, it just cannot resume after a reload
  }
}

export class StreamClient {
  /**
   * streamId, urls {sync, checkpointLatest, stream}, tickSeconds; callbacks:
   * onReset(state | null, position), onEvents(events), onStatus(status), onHeartbeat(message).
   */
  constructor(options) {
    Object.assign(this, {tickSeconds: 2, pageSize: 1000, storage: browserStorage(),
                         onReset() {}, onEvents() {}, onStatus() {}, onHeartbeat() {}}, options);
    this.key = STORAGE_PREFIX + this.streamId;
    this.position = null; // the last applied position; null until a state is loaded
    this.head = null; // the stream's head as last reported by the server
    this.runs = []; // [[first, last], …]: the positions applied since the page loaded
    this.duplicates = 0;
    this.status = {phase: "connecting"};
    this.history = [];
    this.lastSeen = this.loadPosition(); // the last position delivered before this page load
    this.generation = 0; // bumped by every (re)connection; callbacks of older ones do nothing
    this.attempt = 0;
    this.socket = null;
    this.lastMessageAt = Date.now();
    this.tokenCheckedAt = 0;
    this.callbackErrors = 0;
  }

  /** Call the page's callback `name`; an exception there is the page's bug, never the connection's. */
  notify(name, ...args) {
    try {
      this[name](...args);
    } catch (error) {
      this.callbackErrors++;
      reportError(error, `drawing ${this.streamId} (${name})`);
    }
  }

  start() {
    window.addEventListener("online", () => this.reconnect());
    window.addEventListener("offline", () => this.goOffline());
    document.addEventListener("visibilitychange", () => document.hidden || this.checkAlive());
    // Back from the back-forward cache: the socket was closed while the page was frozen.
    window.addEventListener("pageshow", (event) => event.persisted && this.reconnect());
    setInterval(() => this.checkAlive(), 1000);
    this.connect();
    return this;
  }

  positions() {
    return this.runs.flatMap(([first, last]) => Array.from({length: last - first + 1}, (_, i) => first + i));
  }

  // --- connecting ------------------------------------------------------------------------

  async connect() {
    const generation = ++this.generation;
    clearTimeout(this.retryTimer);
    try {
      this.setStatus({phase: "resyncing", progress: 0});
      if (this.position === null) await this.loadState(generation);
      else await this.syncAfter(this.position, generation);
      if (generation === this.generation) this.openSocket(generation);
    } catch (error) {
      if (generation === this.generation) this.retry(error);
    }
  }

  reconnect() {
    this.attempt = 0;
    this.closeSocket();
    this.connect();
  }

  /**
   * The browser says the network is gone: stop now rather than wait for the socket to notice.
   * The "online" event reconnects; a slow retry covers a browser that never sends it.
   */
  goOffline() {
    this.generation++;
    this.closeSocket();
    this.setStatus({phase: "offline"});
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), OFFLINE_RETRY_SECONDS * 1000);
  }

  retry(error) {
    this.generation++;
    this.closeSocket();
    if (!navigator.onLine) return this.goOffline();
    if (error instanceof ApiError && error.code === "invalid" && "after" in error.details) {
      this.position = null; // the stream is shorter than what this page holds: start over
    }
    const seconds = BACKOFF_SECONDS[Math.min(this.attempt, BACKOFF_SECONDS.length - 1)];
    this.attempt++;
    this.setStatus({phase: "reconnecting", retryIn: seconds, reason: error.message});
    this.retryTimer = setTimeout(() => this.connect(), seconds * 1000);
  }

  /** Load the state from a checkpoint, then the events after it. */
  async loadState(generation) {
    const stored = this.loadToken().token;
    if (stored) {
      try {
        return await this.syncPages(stored, null, generation);
      } catch (error) {
        if (!(error instanceof ApiError && TOKEN_REFUSALS.has(error.code))) throw error;
        this.saveToken(null, null);
      }
    }
    const fresh = await this.latestToken();
    if (fresh) {
      try {
        return await this.syncPages(fresh, null, generation);
      } catch (error) {
        if (!(error instanceof ApiError && TOKEN_REFUSALS.has(error.code))) throw error;
      }
    }
    this.reset(null, 0); // no usable checkpoint: the socket replays the stream from position 1
  }

  /** Fetch the events after `after` through /sync; without a usable token leave it to the socket. */
  async syncAfter(after, generation) {
    for (const token of [this.loadToken().token, "fresh"]) {
      const usable = token === "fresh" ? await this.latestToken() : token;
      if (!usable) continue;
      try {
        return await this.syncPages(usable, after, generation);
      } catch (error) {
        if (!(error instanceof ApiError && TOKEN_REFUSALS.has(error.code))) throw error;
        this.saveToken(null, null);
      }
    }
  }

  async syncPages(token, after, generation) {
    let cursor = after;
    let start = after;
    for (;;) {
      const query = new URLSearchParams({token, limit: this.pageSize});
      if (cursor !== null) query.set("after", cursor);
      const page = await fetchJSON(`${this.urls.sync}?${query}`, {headers: this.sessionHeader()});
      if (generation !== this.generation) return;
      if (cursor === null) {
        start = page.checkpoint.position;
        this.reset(page.state, start);
      }
      this.saveToken(token, page.checkpoint.position);
      this.head = page.headPosition;
      this.apply(page.events);
      cursor = page.lastPosition;
      const total = page.headPosition - start;
      this.setStatus({phase: "resyncing", progress: total > 0 ? (cursor - start) / total : 1});
      if (page.complete) return;
    }
  }

  async latestToken() {
    const query = new URLSearchParams({streamId: this.streamId});
    try {
      const answer = await fetchJSON(`${this.urls.checkpointLatest}?${query}`);
      this.saveToken(answer.token, answer.checkpoint.position);
      return answer.token;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return null;
      throw error;
    }
  }

  openSocket(generation) {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const query = new URLSearchParams({streamId: this.streamId, from: this.position});
    const socket = new WebSocket(`${scheme}//${location.host}${this.urls.stream}?${query}`);
    const start = this.position;
    this.socket = socket;
    this.lastMessageAt = Date.now();
    socket.onmessage = (message) => {
      if (generation !== this.generation) return;
      this.lastMessageAt = Date.now();
      try {
        this.receive(JSON.parse(message.data), start);
      } catch (error) {
        this.retry(error);
      }
    };
    socket.onclose = (event) => {
      if (generation === this.generation) this.retry(new Error(`the connection closed (${event.code})`));
    };
  }

  receive(message, start) {
    if (message.type === "event") {
      this.apply([message.event]);
      if (this.status.phase === "resyncing" && this.head > start) {
        this.setStatus({phase: "resyncing", progress: Math.min(1, (this.position - start) / (this.head - start))});
      }
    } else if (message.type === "caught_up") {
      this.attempt = 0;
      this.setStatus({phase: "live"});
      this.refreshToken();
    } else if (message.type === "heartbeat") {
      this.head = message.headPosition;
      if (this.status.phase === "live" && this.status.quiet) this.setStatus({phase: "live"});
      this.notify("onHeartbeat", message);
      this.refreshToken();
    } else if (message.type === "error") {
      // "lagging", "overflow": the server refills from the store by itself. A fatal error is
      // followed by the server closing the socket, which retries.
      this.lastServerError = message.error;
    }
  }

  closeSocket() {
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onmessage = socket.onclose = null;
      socket.close();
    }
  }

  /**
   * Notice a connection that died without closing (network gone, machine asleep, a server that
   * lost its channel layer): when no heartbeat or event came for three tick intervals, ask /sync
   * for the head; events the socket never brought mean it is dead, and the page reconnects.
   */
  async checkAlive() {
    const stallMs = Math.max(6000, 3000 * this.tickSeconds);
    if (this.status.phase !== "live" || this.probing || Date.now() - this.lastMessageAt < stallMs) return;
    const generation = this.generation;
    const token = this.loadToken().token;
    this.probing = true;
    try {
      if (!token) throw new Error("no heartbeat");
      const query = new URLSearchParams({token, after: this.position, limit: 1});
      const page = await fetchJSON(`${this.urls.sync}?${query}`, {headers: this.sessionHeader()});
      if (generation !== this.generation) return;
      if (page.headPosition > this.position) throw new Error("the connection stopped delivering");
      this.lastMessageAt = Date.now(); // the world is quiet, the socket may well be fine
      this.setStatus({phase: "live", quiet: true});
    } catch (error) {
      if (generation === this.generation) this.retry(error);
    } finally {
      this.probing = false;
    }
  }

  // --- applying ----------------------------------------------------------------------------

  reset(state, position) {
    this.position = position;
    this.notify("onReset", state, position);
  }

  apply(events) {
    const fresh = [];
    try {
      for (const event of events) {
        if (event.position <= this.position) {
          this.duplicates++;
          continue;
        }
        if (event.position !== this.position + 1) throw new GapError(this.position, event.position);
        fresh.push(event);
        this.position = event.position;
        const run = this.runs[this.runs.length - 1];
        if (run && run[1] + 1 === event.position) run[1] = event.position;
        else this.runs.push([event.position, event.position]);
      }
    } finally {
      if (fresh.length) {
        this.savePosition();
        this.notify("onEvents", fresh);
      }
    }
  }

  setStatus(status) {
    this.status = status;
    this.history.push({...status, at: Date.now()});
    if (this.history.length > 500) this.history.splice(0, 100);
    this.notify("onStatus", status);
  }

  // --- the token and the position, kept across reloads --------------------------------------

  async refreshToken() {
    if (Date.now() - this.tokenCheckedAt < TOKEN_REFRESH_MS) return;
    this.tokenCheckedAt = Date.now();
    const known = this.loadToken().position ?? -1;
    try {
      const query = new URLSearchParams({streamId: this.streamId});
      const answer = await fetchJSON(`${this.urls.checkpointLatest}?${query}`);
      // Never past what this page has applied: a later visit then resumes from a checkpoint
      // at or before its last seen position, and can show everything new since.
      const position = answer.checkpoint.position;
      if (position > known && position <= this.position) this.saveToken(answer.token, position);
      else if (position > this.position) this.tokenCheckedAt = 0; // try again at the next heartbeat
    } catch {
      // a newer token is a convenience; the stored one still resumes
    }
  }

  /**
   * Name this browser to /sync, so the continuity tracker can follow its tokens. The id is as
   * wide as the token store (localStorage, shared by the browser's tabs): tabs that share a
   * token are one client, and the same token seen from another browser stands out.
   */
  sessionHeader() {
    let id = this.storage?.getItem(SESSION_KEY);
    if (!id) {
      id = `web-${randomId()}`;
      this.write(SESSION_KEY, id);
    }
    return {"X-Selfplay-Session": id};
  }

  loadToken() {
    try {
      return JSON.parse(this.storage?.getItem(`${this.key}.token`)) || {};
    } catch {
      return {};
    }
  }

  saveToken(token, position) {
    this.write(`${this.key}.token`, token ? JSON.stringify({token, position}) : null);
  }

  loadPosition() {
    const value = Number.parseInt(this.storage?.getItem(`${this.key}.position`) ?? "", 10);
    return Number.isNaN(value) ? null : value;
  }

  savePosition() {
    this.write(`${this.key}.position`, String(this.position));
  }

  write(key, value) {
    try {
      if (value === null) this.storage?.removeItem(key);
      else this.storage?.setItem(key, value);
    } catch {
      // full or disabled storage: resuming after a reload falls back to a fresh checkpoint
    }
  }
}
