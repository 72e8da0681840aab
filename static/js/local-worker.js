// The worker of /local/ (a module worker, served as /local/worker.js): one local world's daemon.
//
// Pyodide runs `selfplay.local.worker`, the daemon's own rules, brains and hash chain in Python.
// IndexedDB keeps the log: one record per event holding its wire JSON exactly as Python hashed
// it, checkpoints of the whole state, and the world's schedule. Each batch (a tick, a skipped
// range, a planning turn, a command) is written in one transaction, in the order Python made
// them, as the daemon commits a tick in one. A Web Lock per world keeps a second tab from
// ticking the same world: it waits, and takes over when the first one closes.
//
// Messages in: {id?, op, …} (see OPS). Out: {type: "reply", id, ok, value | error},
// {type: "reset", key, meta, summary, base, tail}, {type: "events", events, summary},
// {type: "status", phase, text}.

const INDEX_DB = "selfplay-local";
const KEEP_CHECKPOINTS = 3;
const CORE_DIR = "/home/pyodide/selfplay-core";

let py = null; // the Pyodide runtime
let core = null; // the Python module selfplay.local.worker
let settings = null; // {tickSeconds, maxCatchup, planEvery, checkpointEvery, defaults}
let world = null; // the open world: {key, db, meta}
let timer = null;
let holding = false; // ticking suspended while the page moves the world to the daemon
let writes = Promise.resolve(); // batches are written one after another, in the order made

const post = (message) => self.postMessage(message);
const status = (phase, text) => post({type: "status", phase, text});
const call = (name, ...args) => JSON.parse(core[name](...args));

function describe(error) {
  return {code: error.code || "error", message: String(error.message || error).split("\n").slice(-3).join(" ").trim(),
          details: error.details || {}};
}

self.onmessage = async ({data}) => {
  const {id, op} = data;
  try {
    const value = await OPS[op](data);
    if (id !== undefined) post({type: "reply", id, ok: true, value});
  } catch (error) {
    console.error(error);
    if (id !== undefined) post({type: "reply", id, ok: false, error: describe(error)});
    else status("failed", `Stopped: ${describe(error).message}`);
  }
};

// --- IndexedDB --------------------------------------------------------------------------------

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function finished(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("the transaction was aborted"));
  });
}

function openDatabase(name, upgrade) {
  const req = indexedDB.open(name, 1);
  req.onupgradeneeded = () => upgrade(req.result);
  return request(req);
}

const openIndex = () => openDatabase(INDEX_DB, (db) => db.createObjectStore("worlds", {keyPath: "key"}));

const openWorldDatabase = (key) => openDatabase(`${INDEX_DB}-${key}`, (db) => {
  const events = db.createObjectStore("events", {keyPath: "g"}); // g: the global position
  events.createIndex("stream", ["s", "p"], {unique: true}); // stream id, stream position
  db.createObjectStore("checkpoints", {keyPath: "g"});
  db.createObjectStore("meta", {keyPath: "k"});
});

async function indexEntries() {
  const db = await openIndex();
  try {
    return await request(db.transaction("worlds").objectStore("worlds").getAll());
  } finally {
    db.close();
  }
}

async function putIndexEntry(entry) {
  const db = await openIndex();
  try {
    const tx = db.transaction("worlds", "readwrite");
    const store = tx.objectStore("worlds");
    const old = await request(store.get(entry.key));
    store.put({...old, ...entry});
    await finished(tx);
  } finally {
    db.close();
  }
}

function record(text) {
  const event = JSON.parse(text);
  return {record: {g: event.globalPosition, s: event.streamId, p: event.position, t: event.type, json: text}, event};
}

/** Write one batch in one transaction, unless it does not continue the stored log; answer {events, meta}. */
function writeBatch(db, batch) {
  const items = batch.events.map(record);
  return new Promise((resolve, reject) => {
    const tx = db.transaction(["events", "checkpoints", "meta"], "readwrite");
    let meta = null;
    tx.oncomplete = () => resolve({events: items.map((item) => item.event), meta});
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("the batch does not continue the stored log"));
    const metaStore = tx.objectStore("meta");
    metaStore.get("meta").onsuccess = (event) => {
      meta = {...event.target.result};
      if (items.length && items[0].record.g !== meta.globalPosition + 1) {
        tx.abort();
        return;
      }
      const events = tx.objectStore("events");
      for (const {record: row, event: e} of items) {
        events.add(row);
        meta.globalPosition = row.g;
        if (e.type === "world.tick.completed") meta.tick = e.data.tick;
        if (e.type === "world.ticks.skipped") meta.tick = e.data.toTick;
      }
      meta.events += items.length;
      if (batch.checkpoint) {
        const checkpoints = tx.objectStore("checkpoints");
        const {globalPosition: g, checksum, text} = batch.checkpoint;
        checkpoints.put({g, checksum, text});
        meta.checkpointAt = g;
        checkpoints.getAllKeys().onsuccess = (keys) => {
          for (const old of keys.target.result.slice(0, -KEEP_CHECKPOINTS)) checkpoints.delete(old);
        };
      }
      metaStore.put(meta);
    };
  });
}

/** Queue a batch behind the ones made before it; post its events once it is stored. */
function store(batch) {
  const written = writes.then(async () => {
    const {events, meta} = await writeBatch(world.db, batch);
    world.meta = meta;
    post({type: "events", events, meta});
    return events;
  });
  writes = written.catch(() => {});
  return written;
}

async function allEventTexts(db, after = 0) {
  const range = IDBKeyRange.lowerBound(after, true);
  const rows = await request(db.transaction("events").objectStore("events").getAll(range));
  return rows.map((row) => row.json);
}

// --- Python ----------------------------------------------------------------------------------

async function loadPython(urls) {
  const started = performance.now();
  const {loadPyodide} = await import(urls.pyodide);
  py = await loadPyodide({indexURL: urls.pyodideIndex});
  const pyodideMs = Math.round(performance.now() - started);
  const zip = await (await fetch(urls.core)).arrayBuffer();
  py.unpackArchive(zip, "zip", {extractDir: CORE_DIR});
  py.runPython(`import sys; sys.path.insert(0, "${CORE_DIR}")`);
  core = py.pyimport("selfplay.local.worker");
  return {pyodideMs, coreMs: Math.round(performance.now() - started) - pyodideMs, version: py.version};
}

function pythonMeta(meta) {
  const {region, seed, width, height, origin, epoch, tickSeconds, maxCatchup, planEvery, checkpointEvery} = meta;
  return JSON.stringify({region, seed, width, height, origin, epoch, tickSeconds, maxCatchup, planEvery, checkpointEvery});
}

// --- worlds ------------------------------------------------------------------------------------

function newKey() {
  return [...crypto.getRandomValues(new Uint8Array(4))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Store a new world: its meta, then its first events and checkpoint, then its index entry. */
async function storeWorld(key, meta, batches, origin, after = 0) {
  const db = await openWorldDatabase(key);
  try {
    const tx = db.transaction("meta", "readwrite");
    tx.objectStore("meta").put({k: "meta", ...meta, key, globalPosition: after, tick: 0, events: 0, checkpointAt: 0,
                                pushed: null});
    await finished(tx);
    for (const batch of batches) await writeBatch(db, batch);
    const stored = await request(db.transaction("meta").objectStore("meta").get("meta"));
    const now = new Date().toISOString();
    await putIndexEntry({key, region: meta.region, seed: meta.seed, width: meta.width, height: meta.height, origin,
                         createdAt: now, openedAt: now, tick: stored.tick, events: stored.events, pushed: null});
  } finally {
    db.close();
  }
  return key;
}

async function createWorld({seed, width, height, perBrain}) {
  const key = newKey();
  const answer = call("create", JSON.stringify({region: `loc-${key}`, seed, width, height, perBrain, ...settings}));
  return storeWorld(key, answer.meta, answer.batches, "new");
}

async function chooseWorld(open) {
  if (open.create) return createWorld(open.create);
  const entries = (await indexEntries()).sort((a, b) => (b.openedAt > a.openedAt ? 1 : -1));
  if (open.world) {
    if (!entries.some((e) => e.key === open.world)) throw new Error(`There is no local world ${open.world} in this browser.`);
    return open.world;
  }
  if (open.seed !== undefined) {
    const found = entries.find((e) => e.origin === "new" && e.seed === open.seed);
    return found ? found.key : createWorld({seed: open.seed, ...settings.defaults});
  }
  return entries.length ? entries[0].key : null;
}

/** Open a stored world under its lock; resolve once it is open (the lock is held from then on). */
function lockAndOpen(key) {
  return new Promise((resolve, reject) => {
    const name = `selfplay-local:${key}`;
    const run = async () => {
      try {
        resolve(await openWorld(key));
      } catch (error) {
        reject(error);
        return;
      }
      return new Promise(() => {}); // held as long as this worker lives
    };
    navigator.locks.request(name, {ifAvailable: true}, (lock) => {
      if (lock) return run();
      status("connecting", "Ticking in another tab: waiting for it to close");
      navigator.locks.request(name, run);
      return undefined;
    });
  });
}

async function openWorld(key) {
  const db = await openWorldDatabase(key);
  const meta = await request(db.transaction("meta").objectStore("meta").get("meta"));
  const checkpoints = await request(db.transaction("checkpoints").objectStore("checkpoints").getAll());
  let answer = null;
  let tail = null;
  // The newest checkpoint and the events after it; should it not hold, an older one, then none.
  for (const checkpoint of [...checkpoints.reverse(), null]) {
    tail = await allEventTexts(db, checkpoint ? checkpoint.g : 0);
    try {
      const stored = checkpoint && JSON.stringify({globalPosition: checkpoint.g, checksum: checkpoint.checksum,
                                                   text: checkpoint.text});
      answer = call("resume", pythonMeta(meta), stored, tail.join("\n"));
      break;
    } catch (error) {
      if (!checkpoint) throw new Error(`The stored log does not hold: ${describe(error).message}`);
    }
  }
  world = {key, db, meta};
  await putIndexEntry({key, openedAt: new Date().toISOString()});
  const stream = `world:${meta.region}`;
  const tailEvents = tail.map((text) => JSON.parse(text)).filter((e) => e.streamId === stream);
  post({type: "reset", key, meta, summary: answer.summary, base: answer.base, tail: tailEvents});
  if (meta.pushed) {
    status("idle", "Moved to the daemon");
  } else {
    status("live", "Ticking in this tab");
    schedule(0);
  }
  return {key, meta};
}

// --- the loop ---------------------------------------------------------------------------------

function schedule(atMs) {
  clearTimeout(timer);
  if (!world || holding || world.meta.pushed) return;
  timer = setTimeout(advance, Math.max(0, atMs - Date.now()) + 5);
}

async function advance() {
  if (!world || holding || world.meta.pushed) return;
  const answer = call("advance");
  try {
    for (const batch of answer.batches) await store(batch);
  } catch (error) {
    // Python went ahead of what was stored: stop, and start over from the stored log.
    status("failed", `Could not store a tick (${describe(error).message}); reopening the stored log`);
    await openWorld(world.key);
    return;
  }
  schedule(answer.summary.nextDueMs);
}

// --- operations -------------------------------------------------------------------------------

const OPS = {
  /** Load Python and the core, then open (or create) the world `open` asks for. */
  async boot({urls, settings: given, open}) {
    settings = given;
    const loaded = await loadPython(urls);
    post({type: "python", ...loaded});
    const key = await chooseWorld(open || {});
    if (!key) {
      status("idle", "No local world yet");
      return {key: null, ...loaded};
    }
    await lockAndOpen(key);
    return {key, ...loaded};
  },

  /** An override, pause or resume typed into the page: {body: {kind, agentId, action?, reason?}}. */
  async command({body}) {
    if (!world) throw new Error("No world is open.");
    const answer = call("command", JSON.stringify(body));
    if (answer.error) return {error: answer.error};
    const [event] = await store(answer.batch);
    return {accepted: true, eventId: event.id, streamId: event.streamId, position: event.position,
            appliesAtTick: answer.appliesAtTick};
  },

  /** The open world's log file (selfplay.local.logfile). */
  async export() {
    if (!world) throw new Error("No world is open.");
    await writes;
    const texts = await allEventTexts(world.db);
    return {region: world.meta.region, text: core.export(world.meta.region, texts.join("\n")), events: texts.length};
  },

  /** Stop ticking (the page is moving the world to the daemon); answer where the log stands. */
  async hold() {
    holding = true;
    clearTimeout(timer);
    await writes;
    return {globalPosition: world.meta.globalPosition, tick: world.meta.tick};
  },

  async unhold() {
    holding = false;
    schedule(0);
    return {};
  },

  /** The daemon adopted the world: it stops ticking here for good. */
  async pushed({result}) {
    const pushed = {region: result.region, worldUrl: result.worldUrl, owner: result.owner, at: new Date().toISOString()};
    const tx = world.db.transaction("meta", "readwrite");
    const metaStore = tx.objectStore("meta");
    metaStore.get("meta").onsuccess = (event) => metaStore.put({...event.target.result, pushed});
    await finished(tx);
    world.meta = {...world.meta, pushed};
    await putIndexEntry({key: world.key, pushed});
    status("idle", "Moved to the daemon");
    return pushed;
  },

  /** Verify a log file in Python and store it as a new local world; answer {key} or {error}. */
  async openFile({text, name}) {
    const answer = call("open_file", text, JSON.stringify(settings));
    if (answer.error) return {error: answer.error};
    const key = newKey();
    const batch = {events: answer.events, checkpoint: answer.checkpoint};
    // A region exported by the daemon starts where its first event stands in the daemon's log,
    // which other regions share: the tab's log goes on from there, its positions kept as they are.
    const first = answer.events.length ? JSON.parse(answer.events[0]).globalPosition : 1;
    await storeWorld(key, answer.meta, [batch], "file", first - 1);
    await putIndexEntry({key, name: name || null});
    return {key, region: answer.meta.region, ticks: answer.ticks, lastTick: answer.lastTick};
  },

  async list() {
    const entries = await indexEntries();
    return entries.sort((a, b) => (b.openedAt > a.openedAt ? 1 : -1));
  },

  /** Run a world in memory on a fixed clock (selfplay.local.simulate): the cross-runtime check. */
  async simulate({spec}) {
    return call("simulate", JSON.stringify(spec));
  },
};
