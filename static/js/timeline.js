// The time-travel bar of the world and agent pages: a scrubber over the region's recorded ticks,
// play / pause, a speed, a way back to live, and the tick in the page's URL (`?tick=N`), so a
// link opens the page at that tick.
//
// `seek(tick)` (the page's) rebuilds tick `tick` and resolves with what `show(rebuilt)` then
// draws; the bar runs one seek at a time and, while one runs, remembers only the latest tick
// asked for, so dragging the scrubber never queues a backlog, and a seek that finishes after the
// page went back to live is dropped. `live()` returns the page to the live world.

const SPEEDS = [1, 2, 4, 8, 16];
const DRAG_MS = 120;

function urlWithTick(tick) {
  const url = new URL(location.href);
  if (tick === null) url.searchParams.delete("tick");
  else url.searchParams.set("tick", String(tick));
  return url;
}

export class Timeline {
  constructor(root, {tickSeconds, seek, show, live}) {
    Object.assign(this, {root, tickSeconds, seekTo: seek, show, goLive: live});
    const $ = (id) => root.querySelector(`#${id}`);
    this.range = $("tt-range");
    this.playButton = $("tt-play");
    this.speedSelect = $("tt-speed");
    this.liveButton = $("tt-live");
    this.label = $("tt-tick");
    this.link = $("tt-link");
    this.statusText = $("tt-status");
    this.first = null;
    this.last = null;
    this.current = null; // the tick on display; null when live
    this.wanted = null; // the latest tick asked for while a seek runs
    this.running = null;
    this.playing = false;
    this.past = false;
    this.generation = 0; // bumped when the page goes back to live: seeks still running are dropped
    this.timer = null;
    for (const speed of SPEEDS) {
      const option = document.createElement("option");
      option.value = speed;
      option.textContent = `${speed}×`;
      this.speedSelect.append(option);
    }
    this.range.addEventListener("input", () => {
      this.stop();
      this.label.textContent = `tick ${this.range.value}`;
      clearTimeout(this.dragTimer);
      this.dragTimer = setTimeout(() => this.go(Number(this.range.value)), DRAG_MS);
    });
    this.range.addEventListener("change", () => {
      clearTimeout(this.dragTimer);
      this.go(Number(this.range.value));
    });
    this.playButton.addEventListener("click", () => (this.playing ? this.stop() : this.play()));
    this.liveButton.addEventListener("click", () => this.backToLive());
    this.speedSelect.addEventListener("change", () => this.playing && this.schedule());
    this.render();
  }

  get speed() {
    return Number(this.speedSelect.value);
  }

  /** The region's recorded ticks run from `first` to `last` (the live tick). */
  setBounds(first, last) {
    if (first === null || last === null) return;
    const changed = first !== this.first || last !== this.last;
    [this.first, this.last] = [first, Math.max(first, last)];
    if (changed) this.render();
  }

  /** Whether the page shows a past tick (or is about to): it should not draw the live world then. */
  isPast() {
    return this.past;
  }

  /** Open the tick the page's URL asks for (`?tick=N`); a value that is no tick leaves the URL. */
  openAsked(search = location.search) {
    const text = new URLSearchParams(search).get("tick");
    if (text === null) return;
    if (/^\d{1,15}$/.test(text)) this.go(Number(text));
    else history.replaceState(null, "", urlWithTick(null));
  }

  /** Show tick `tick` (clamped to the recorded ones). */
  go(tick) {
    if (this.first !== null) tick = Math.max(this.first, Math.min(this.last ?? tick, tick));
    this.past = true;
    this.wanted = tick;
    this.render();
    if (!this.running) this.running = this.drain();
    return this.running;
  }

  async drain() {
    try {
      while (this.wanted !== null) {
        const tick = this.wanted;
        const generation = this.generation;
        this.wanted = null;
        this.status(`Rebuilding tick ${tick}…`, "busy");
        try {
          const rebuilt = await this.seekTo(tick);
          if (generation !== this.generation) continue;
          this.current = tick;
          history.replaceState(null, "", urlWithTick(tick));
          this.status(this.show(rebuilt) ?? "", "done");
        } catch (error) {
          if (generation !== this.generation) continue;
          const message = `Tick ${tick} could not be rebuilt: ${error.message}`;
          // With no past tick on display (a link to a tick that does not exist), the page is live.
          if (this.current === null) this.backToLive();
          else this.stop();
          this.status(message, "error");
        }
        this.render();
      }
    } finally {
      this.running = null;
    }
    if (this.playing) this.schedule();
  }

  play() {
    if (this.current === null || this.last === null) return;
    this.playing = true;
    this.render();
    this.schedule();
  }

  schedule() {
    clearTimeout(this.timer);
    if (!this.playing) return;
    this.timer = setTimeout(() => {
      if (!this.playing || this.running) return;
      if (this.current >= this.last) {
        this.backToLive(); // caught up with the world
        return;
      }
      this.go(this.current + 1);
    }, (this.tickSeconds * 1000) / this.speed);
  }

  stop() {
    this.playing = false;
    clearTimeout(this.timer);
    this.render();
  }

  backToLive() {
    this.stop();
    clearTimeout(this.dragTimer);
    this.generation++;
    this.past = false;
    this.wanted = null;
    this.current = null;
    history.replaceState(null, "", urlWithTick(null));
    this.status("");
    this.goLive();
    this.render();
  }

  status(text, tone = "") {
    this.statusText.textContent = text;
    this.statusText.dataset.tone = tone;
  }

  render() {
    const past = this.past;
    this.root.dataset.mode = past ? "past" : "live";
    if (this.first !== null) {
      this.range.min = this.first;
      this.range.max = this.last;
    }
    this.range.disabled = this.first === null;
    const shown = this.wanted ?? this.current;
    if (!past) this.range.value = this.range.max;
    else if (document.activeElement !== this.range || this.playing) this.range.value = shown;
    this.range.setAttribute("aria-valuetext", past ? `tick ${shown}` : `live, tick ${this.last ?? "–"}`);
    this.label.textContent = past ? `tick ${shown}` : this.last === null ? "–" : `tick ${this.last}`;
    if (!past && !this.statusText.textContent) {
      this.status("Drag the bar (or use the arrow keys) to watch any past tick; its link opens this page there.", "hint");
    }
    this.playButton.disabled = !past;
    this.playButton.textContent = this.playing ? "❚❚" : "▶";
    this.playButton.setAttribute("aria-label", this.playing ? "Pause" : "Play");
    this.playButton.title = past ? (this.playing ? "Pause" : "Play from this tick") : "Pick a past tick to play from it";
    this.liveButton.setAttribute("aria-pressed", String(!past));
    this.link.hidden = !past || this.current === null;
    if (this.current !== null) this.link.href = urlWithTick(this.current).href;
  }
}
