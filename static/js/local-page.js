// /local/ (DESIGN §10): start, reopen or open a local world, override its agents, download its
// log and move it to the daemon. world-page.js draws the world (through LocalSource); this
// module drives the page's worker (local-worker.js) and registers the service worker that keeps
// the page working offline.
//
// /local/?seed=<n> starts or reopens the world of that seed, /local/?world=<key> a saved one,
// /local/?new=1&seed=…&width=…&height=…&agents=… starts a new one; plain /local/ reopens the
// world opened last.

import {element} from "./dom.js";
import {describeAction, outcomeText} from "./feed.js";
import {localWorker} from "./local-source.js";
import {OverridePanel} from "./override.js";
import {ApiError} from "./stream.js";

const config = JSON.parse(document.getElementById("page-config").textContent);
const $ = (id) => document.getElementById(id);
const worker = localWorker(config.urls.worker);
const params = new URLSearchParams(location.search);
const names = {};
let current = null; // {key, meta}
let world = null; // the latest world state the worker reported
let selected = null;

function cookie(name) {
  return document.cookie.split("; ").find((c) => c.startsWith(`${name}=`))?.split("=")[1] ?? "";
}

function showError(target, error) {
  target.replaceChildren(element("p", {class: "error"}, error.message));
  const details = Object.entries(error.details || {});
  if (details.length) {
    const list = element("ul", {class: "details"});
    for (const [key, value] of details) list.append(element("li", {}, `${key}: ${typeof value === "object" ? JSON.stringify(value) : value}`));
    target.append(list);
  }
}

// --- which world --------------------------------------------------------------------------------

const SEED_MAX = Number.MAX_SAFE_INTEGER; // seeds travel through JavaScript numbers

function integer(name, low, high) {
  const text = params.get(name);
  if (text === null || text === "") return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < low || value > high) {
    throw new Error(`${name} must be a whole number from ${low} to ${high}.`);
  }
  return value;
}

function openRequest() {
  const {defaults, maxSide, maxPerBrain} = config.local;
  if (params.get("new")) {
    return {create: {seed: integer("seed", 0, SEED_MAX) ?? Math.floor(Math.random() * 1e9),
                     width: integer("width", 8, maxSide) ?? defaults.width,
                     height: integer("height", 8, maxSide) ?? defaults.height,
                     perBrain: integer("agents", 1, maxPerBrain) ?? defaults.perBrain}};
  }
  if (params.get("world")) return {world: params.get("world")};
  const seed = integer("seed", 0, SEED_MAX);
  return seed === undefined ? {} : {seed};
}

// --- the worker's news ----------------------------------------------------------------------------

worker.on("python", ({pyodideMs, coreMs, version}) => {
  $("python-status").textContent = `Pyodide ${version}, started in ${pyodideMs} ms (+${coreMs} ms for the core)`;
});

worker.on("reset", ({key, meta, summary}) => {
  current = {key, meta};
  world = summary.world;
  for (const [id, agent] of Object.entries(world.agents)) names[id] = agent.name;
  $("region").textContent = meta.region;
  $("seed").textContent = meta.seed;
  document.title = `${meta.region} (local) · Selfplay`;
  showLog(meta);
  $("export").disabled = false;
  $("push").disabled = !config.user || Boolean(meta.pushed);
  showPushed(meta.pushed);
  selectFromHash();
  listWorlds();
});

worker.on("events", ({events, meta}) => {
  current.meta = meta;
  showLog(meta);
  for (const event of events) {
    const d = event.data || {};
    if (event.type === "world.tick.completed") {
      $("speed").textContent = `tick ${d.tick} took ${d.durationMs} ms in Python (${d.agents} agents)`;
    }
    if (event.type.startsWith("agent.action.") && event.streamId.startsWith("world:") && d.agentId === selected) {
      panel.happened("override", d.tick, {text: outcomeText(event, names, config.rules.failureReasons),
                                          ok: event.type === "agent.action.succeeded",
                                          cause: event.metadata?.causationId});
    }
    if ((event.type === "agent.paused" || event.type === "agent.resumed") && d.agentId === selected) {
      panel.happened(event.type === "agent.paused" ? "pause" : "resume", d.tick ?? d.appliesAtTick);
      panel.showStatus(event.type === "agent.paused" ? "paused" : "active");
    }
  }
});

function showLog(meta) {
  $("log-status").textContent = `${meta.events} events in this browser, up to global position ${meta.globalPosition}` +
    (meta.checkpointAt ? `; last checkpoint at #${meta.checkpointAt}` : "");
}

function showPushed(pushed) {
  if (!pushed) return;
  const target = $("push-result");
  target.replaceChildren(element("span", {}, `Moved to the daemon as region ${pushed.region}: `),
                         element("a", {href: pushed.worldUrl, id: "pushed-link"}, "it goes on ticking there"));
}

// --- saved worlds ----------------------------------------------------------------------------------

async function listWorlds() {
  const entries = await worker.request("list");
  const list = $("worlds");
  if (!entries.length) {
    list.replaceChildren(element("li", {class: "muted"}, "none yet"));
    return;
  }
  list.replaceChildren(...entries.map((entry) => {
    const li = element("li", {class: entry.key === current?.key ? "current" : null});
    const link = element("a", {href: `?world=${encodeURIComponent(entry.key)}`}, entry.region);
    li.append(link, ` · seed ${entry.seed} · ${entry.width} × ${entry.height}` +
              `${entry.origin === "file" ? " · from a file" : ""}${entry.pushed ? " · moved to the daemon" : ""}`);
    return li;
  }));
}

// --- overrides ----------------------------------------------------------------------------------------

const panelConfig = {actionForms: config.actionForms, streamId: null, urls: {}};
const panel = new OverridePanel($("override"), {
  config: panelConfig,
  agents: () => Object.entries(world?.agents ?? {}).filter(([id]) => id !== selected).map(([id, a]) => [id, a.name]),
  async submit(body) {
    const answer = await worker.request("command", {body: {
      kind: body.kind, agentId: body.streamId.replace(/^agent:/, ""), action: body.action, reason: body.reason}});
    if (answer.error) throw new ApiError(answer.error.code === "not_found" ? 404 : answer.error.code === "conflict" ? 409 : 400,
                                         answer.error);
    return answer;
  },
});

function selectFromHash() {
  const match = location.hash.match(/^#agent=(.+)$/);
  const id = match ? decodeURIComponent(match[1]) : null;
  if (!id || !world?.agents[id]) return;
  selected = id;
  panelConfig.streamId = `agent:${id}`;
  $("override").hidden = Boolean(current?.meta.pushed);
  $("override-agent").textContent = `${world.agents[id].name} (${id})`;
  panel.showStatus(world.agents[id].status);
  panel.renderFields();
}

window.addEventListener("hashchange", selectFromHash);

// --- the log out of the tab ------------------------------------------------------------------------

function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], {type: "application/json"}));
  const link = element("a", {href: url, download: name});
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

$("export").addEventListener("click", async () => {
  const {region, text} = await worker.request("export");
  download(`${region}.selfplay.json`, text);
});

async function gzip(text) {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Blob([await new Response(stream).arrayBuffer()]);
}

$("push").addEventListener("click", async () => {
  const target = $("push-result");
  $("push").disabled = true;
  target.textContent = "Verifying with the daemon…";
  const held = await worker.request("hold");
  try {
    const {text, events} = await worker.request("export");
    const body = typeof CompressionStream === "function" ? await gzip(text) : text;
    const response = await fetch(config.urls.import, {
      method: "POST", body, credentials: "same-origin",
      headers: {"Content-Type": body instanceof Blob ? "application/gzip" : "application/json",
                "X-CSRFToken": cookie("csrftoken"), Accept: "application/json"},
    });
    const answer = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, answer?.error);
    const pushed = await worker.request("pushed", {result: answer});
    current.meta.pushed = pushed;
    $("override").hidden = true;
    showPushed(pushed);
    listWorlds();
    target.append(element("span", {class: "muted"},
                          ` (${events} events and ${answer.ticks} ticks verified; tick ${held.tick + 1} is the daemon's)`));
  } catch (error) {
    showError(target, error instanceof ApiError ? error : new Error(`The daemon could not be reached: ${error.message}`));
    target.prepend(element("p", {}, "The world was not moved; it goes on ticking here."));
    $("push").disabled = false;
    await worker.request("unhold");
  }
});

$("open-file").addEventListener("change", async (event) => {
  const [file] = event.target.files;
  if (!file) return;
  const target = $("open-result");
  target.textContent = `Verifying ${file.name}…`;
  try {
    const answer = await worker.request("openFile", {text: await file.text(), name: file.name});
    if (answer.error) {
      showError(target, answer.error);
      target.prepend(element("p", {}, `${file.name} was not opened:`));
      return;
    }
    location.assign(`?world=${encodeURIComponent(answer.key)}`);
  } catch (error) {
    showError(target, error);
  }
});

// --- start ------------------------------------------------------------------------------------------

function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) {
    $("offline-status").textContent = "this browser cannot keep the page offline";
    return;
  }
  $("offline-status").textContent = "preparing…";
  navigator.serviceWorker.register(config.urls.serviceWorker, {scope: config.urls.serviceWorker.replace(/[^/]*$/, "")})
    .then(() => navigator.serviceWorker.ready)
    .then(() => {
      $("offline-status").textContent = "ready: this page reloads and ticks without the network";
      document.body.dataset.offlineReady = "true";
    })
    .catch((error) => { $("offline-status").textContent = `not available (${error.message})`; });
}

const started = (async () => {
  let open;
  try {
    open = openRequest();
    $("new-seed").value = params.get("seed") ?? Math.floor(Math.random() * 1e6);
  } catch (error) {
    showError($("open-result"), error);
    return null;
  }
  try {
    const booted = await worker.request("boot", {urls: config.urls, settings: config.local, open});
    if (open.create && booted.key) history.replaceState(null, "", `?world=${booted.key}`);
    if (!booted.key) listWorlds();
    return booted;
  } catch (error) {
    $("python-status").textContent = "failed";
    showError($("open-result"), error);
    return null;
  }
})();

registerServiceWorker();

// For people poking around in the console, and for the browser tests.
window.selfplayLocal = {
  worker, started, describeAction,
  key: () => current?.key ?? null,
  meta: () => current?.meta ?? null,
  simulate: (spec) => worker.request("simulate", {spec}),
};
