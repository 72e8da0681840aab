// A stream's past, rebuilt in the browser: the newest checkpoint at or before a position
// (GET /checkpoint/at), then the stream's events after it (GET /sync pages), folded with the very
// reducers the live page uses (reducers.js). So a past state equals what a live page showed at
// that position by construction; world pages also check it against the checksum the tick recorded.
//
// The events read are kept (at most KEEP after the base), so scrubbing back and forth near a
// position or playing forward costs no new request until the buffer runs out. When no checkpoint
// is at or before a position (retention keeps few old ones), the stream is replayed from its
// start, read through /sync with any token of the stream (a token's `after` may be 0).
//
// These reads name no client session: they are not a resync, and the continuity tracker follows
// only the tokens a page resyncs with.

import {ApiError, fetchJSON} from "./stream.js";

const PAGE = 5000; // /sync's largest page
const LOOKAHEAD = 1000; // events read beyond the target, for playing forward
const KEEP = 20000; // events kept after the base
const TOKEN_REFUSALS = new Set(["token_invalid", "token_expired", "checkpoint_corrupt"]);

export class StreamHistory {
  /** urls {checkpointAt, checkpointLatest, sync}; `initial()` the state before the first event, `apply(state, event)` folds in place. */
  constructor({streamId, urls, initial, apply}) {
    Object.assign(this, {streamId, urls, initial, apply});
    this.base = null; // {position, globalPosition, state, checkpoint}: the state events[0] follows
    this.events = []; // the events after base.position, contiguous
    this.cursor = null; // {position, state}: the last state handed out, to go on from
    this.token = null;
    this.head = null;
    this.requests = 0;
  }

  get end() {
    return this.base.position + this.events.length;
  }

  async get(url, params) {
    this.requests++;
    return fetchJSON(`${url}?${new URLSearchParams(params)}`);
  }

  /** Start again from the newest checkpoint at or before `bound` ({position} or {globalPosition}). */
  async rebase(bound, target = null) {
    let answer = null;
    try {
      answer = await this.get(this.urls.checkpointAt, {streamId: this.streamId, ...bound});
    } catch (error) {
      if (!(error instanceof ApiError && error.code === "no_checkpoint")) throw error;
    }
    let page = null;
    if (answer) {
      try {
        page = await this.sync(answer.token, answer.checkpoint.position, this.limitFor(answer.checkpoint.position, target));
      } catch (error) {
        // Pruned since it was named, or its state no longer matches its checksum: replay instead.
        if (!(error instanceof ApiError && TOKEN_REFUSALS.has(error.code))) throw error;
      }
    }
    if (page) {
      const from = answer.checkpoint.position;
      this.base = {position: from, globalPosition: answer.checkpoint.globalPosition, state: page.state,
                   checkpoint: answer.checkpoint};
      this.token = answer.token;
      this.events = page.events;
      this.added(page.events);
    } else {
      // Nothing kept that old: replay from the start, reading with the newest checkpoint's token.
      const latest = await this.get(this.urls.checkpointLatest, {streamId: this.streamId});
      this.token = latest.token;
      const first = await this.sync(latest.token, 0, this.limitFor(0, target));
      this.base = {position: 0, globalPosition: 0, state: this.initial(), checkpoint: null};
      this.events = first.events;
      this.added(first.events);
    }
    this.cursor = null;
  }

  limitFor(after, target) {
    return Math.max(1, Math.min(PAGE, (target ?? after) - after + LOOKAHEAD));
  }

  async sync(token, after, limit) {
    this.requests++;
    const page = await fetchJSON(`${this.urls.sync}?${new URLSearchParams({token, after, limit})}`);
    this.head = page.headPosition;
    return page;
  }

  /** Read the next page after what is kept; false when the stream has nothing more now. */
  async more(target = null) {
    let page;
    try {
      page = await this.sync(this.token, this.end, this.limitFor(this.end, target));
    } catch (error) {
      if (!(error instanceof ApiError && TOKEN_REFUSALS.has(error.code))) throw error;
      // The token's checkpoint was pruned or the token expired: any fresh token of the stream reads as well.
      this.token = (await this.get(this.urls.checkpointLatest, {streamId: this.streamId})).token;
      page = await this.sync(this.token, this.end, this.limitFor(this.end, target));
    }
    const fresh = page.events.filter((e) => e.position > this.end);
    if (fresh.length && fresh[0].position !== this.end + 1) throw new Error(`position ${this.end + 1} is missing from /sync`);
    this.events.push(...fresh);
    this.added(fresh);
    this.trim(target ?? this.end);
    return fresh.length > 0;
  }

  /** Called with each batch of events read, in order (a subclass may index them). */
  added(events) {}

  /** Keep at most KEEP events, folding older ones into the base, and half of them before `keep`. */
  trim(keep) {
    const excess = Math.min(this.events.length - KEEP, keep - this.base.position - KEEP / 2);
    if (excess <= 0) return;
    const dropped = this.events.splice(0, excess);
    for (const event of dropped) this.base.state = this.apply(this.base.state, event);
    this.base.position += dropped.length;
    this.base.globalPosition = dropped[dropped.length - 1].globalPosition;
    this.base.checkpoint = null;
    if (this.cursor && this.cursor.position < this.base.position) this.cursor = null;
  }

  /** Make sure the kept events reach `target` (rebasing when it lies before them or far after). */
  async cover(target) {
    if (!this.base || target < this.base.position) await this.rebase({position: target}, target);
    else if (target > this.end + PAGE) await this.rebaseIfCloser({position: target}, target);
    while (this.end < target) {
      if (!(await this.more(target))) throw new Error(`${this.streamId} has no position ${target} yet`);
    }
  }

  /** Far ahead of what is kept: start again from a checkpoint if one is closer than reading on. */
  async rebaseIfCloser(bound, target = null) {
    const answer = await this.get(this.urls.checkpointAt, {streamId: this.streamId, ...bound})
      .catch((error) => { if (error instanceof ApiError && error.code === "no_checkpoint") return null; throw error; });
    if (answer && answer.checkpoint.position > this.end) await this.rebase(bound, target);
  }

  /** Return the events kept in (after, upto], oldest first. */
  between(after, upto) {
    const from = Math.max(after, this.base.position) - this.base.position;
    return this.events.slice(from, Math.max(from, upto - this.base.position));
  }

  /**
   * Resolve with {state, position, checkpoint} after events 1..target. The state belongs to this
   * history and changes with the next call: copy it to keep it.
   */
  async stateAt(target) {
    await this.cover(target);
    let state;
    let at;
    if (this.cursor && this.cursor.position <= target) {
      ({state, position: at} = this.cursor);
    } else {
      state = structuredClone(this.base.state);
      at = this.base.position;
    }
    for (const event of this.between(at, target)) state = this.apply(state, event);
    this.cursor = {position: target, state};
    return {state, position: target, checkpoint: this.base.checkpoint, replayed: target - this.base.position};
  }

  /** Resolve as stateAt, at the last position whose global position is at most `globalPosition`. */
  async stateAtGlobal(globalPosition) {
    const kept = this.base && (this.events[this.events.length - 1]?.globalPosition ?? this.base.globalPosition);
    if (!this.base || globalPosition < this.base.globalPosition) await this.rebase({globalPosition});
    else if (globalPosition > kept && this.head !== null && this.head > this.end + PAGE) {
      await this.rebaseIfCloser({globalPosition});
    }
    for (;;) {
      const last = this.events[this.events.length - 1];
      if ((last?.globalPosition ?? this.base.globalPosition) > globalPosition) break;
      if (!(await this.more())) break; // the stream's head: nothing after it yet
    }
    const within = this.events.filter((e) => e.globalPosition <= globalPosition).length;
    return this.stateAt(this.base.position + within);
  }
}

/** A world stream's past, with its ticks: where each ends, and the checksum recorded there. */
export class WorldHistory extends StreamHistory {
  constructor({region, urls, initial, apply}) {
    super({streamId: `world:${region}`, urls, initial, apply});
    this.region = region;
    this.marks = new Map(); // tick -> {tick, position, globalPosition, checksum, skipped}
  }

  /** Note the tick markers among the events read, so nearby ticks need no request. */
  added(events) {
    for (const event of events) {
      const d = event.data || {};
      if (event.type === "world.tick.completed") {
        this.marks.set(d.tick, {tick: d.tick, position: event.position, globalPosition: event.globalPosition,
                                checksum: d.checksum, skipped: null});
      } else if (event.type === "world.ticks.skipped" && d.toTick - d.fromTick < 100_000) {
        for (let t = d.fromTick; t <= d.toTick; t++) {
          this.marks.set(t, {tick: t, position: event.position, globalPosition: event.globalPosition, checksum: null,
                             skipped: {fromTick: d.fromTick, toTick: d.toTick}});
        }
      }
    }
  }

  /** Resolve with where tick n ends: {tick, position, globalPosition, checksum, skipped, firstTick?, lastTick?}. */
  async tick(n) {
    if (this.marks.has(n)) return this.marks.get(n);
    const url = this.urls.worldTick.replace("REGION", encodeURIComponent(this.region)).replace("TICK", String(n));
    this.requests++;
    const mark = await fetchJSON(url);
    this.marks.set(n, mark);
    return mark;
  }

  /**
   * Resolve with the world at tick n: {tick, mark, state, position, checkpoint, events} where
   * `events` are the ones of that tick (after the previous tick's end).
   */
  async atTick(n, {firstTick = null} = {}) {
    const mark = await this.tick(n);
    const previous = firstTick !== null && n > firstTick ? await this.tick(n - 1).catch(() => null) : null;
    // Start at or before the previous tick's end, so the tick's own events are all kept.
    if (previous && (!this.base || previous.position < this.base.position)) await this.cover(previous.position);
    const rebuilt = await this.stateAt(mark.position);
    const after = previous && previous.position >= this.base.position ? previous.position : this.base.position;
    return {tick: n, mark, ...rebuilt, events: this.between(after, mark.position)};
  }
}
