// The operator's dashboard (admin index): refreshed from /admin/selfplay/overview.json every few
// seconds — warnings (a stalled region, an unreachable broker), the regions table, flag counts,
// and the last hour's trends drawn as line charts, one line per region.

import {legend, lineChart} from "./chart.js";

const REFRESH_MS = 5000;
const COLOURS = ["#1565c0", "#2e7d32", "#ad1457", "#ef6c00", "#6a1b9a", "#00838f"];
const root = document.getElementById("selfplay-dashboard");
const $ = (id) => document.getElementById(id);

function cell(text, {html = null} = {}) {
  const td = document.createElement("td");
  if (html) td.append(html);
  else td.textContent = text;
  return td;
}

function link(href, text) {
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  return a;
}

function renderWarnings(warnings) {
  $("dashboard-warnings").replaceChildren(...warnings.map((text) => {
    const p = document.createElement("p");
    p.className = "dashboard-warning";
    p.textContent = text;
    return p;
  }));
}

function renderRegions(regions) {
  const rows = regions.map((r) => {
    const tr = document.createElement("tr");
    const state = document.createElement(r.stalled ? "strong" : "span");
    state.textContent = r.stalled ? "stalled" : "ticking";
    if (r.stalled) state.className = "dashboard-bad";
    const c = r.continuity;
    tr.append(cell(null, {html: link(`/world/${r.region}/`, r.region)}), cell(r.lastTick), cell(r.lagTicks),
              cell(r.ticksPerMinute), cell(`${c.latenessP50Ms} / ${c.latenessP99Ms} ms`),
              cell(`${c.caughtUpTicks} / ${c.skippedTicks}`), cell(`${r.activeAgents}/${r.agents}`),
              cell(null, {html: state}));
    return tr;
  });
  if (rows.length) $("dashboard-regions").replaceChildren(...rows);
}

function renderFlags(flags) {
  $("flags-open").textContent = flags.open;
  $("flags-acknowledged").textContent = flags.acknowledged;
  $("flags-resolved").textContent = flags.resolved;
  $("flags-kinds").textContent = Object.entries(flags.openByKind).map(([kind, n]) => ` ${kind} ${n}`).join("");
}

/** Minute i of the last hour as x = i - minutes (so "-60 … 0 min"), nulls left out. */
function points(values, minutes) {
  return values.flatMap((value, i) => (value === null ? [] : [[i + 1 - minutes, value]]));
}

function renderTrends(trends) {
  const regions = Object.entries(trends.regions);
  const series = (key) => regions.map(([name, data], i) => ({
    name, colour: COLOURS[i % COLOURS.length], points: points(data[key], trends.minutes)}));
  const options = {xLabel: "", height: 160};
  lineChart($("chart-ticks"), series("ticksPerMinute"), options);
  lineChart($("chart-lateness"), series("latenessP99Ms"), options);
  lineChart($("chart-events"), series("eventsPerTick"), options);
  const flags = [{name: "open flags", colour: "#c62828", points: points(trends.openFlags, trends.minutes)}];
  lineChart($("chart-flags"), flags, options);
  legend($("dashboard-legend"), series("ticksPerMinute").map((s) => ({...s, name: `${s.name} (ticks/min)`})));
}

async function refresh() {
  try {
    const response = await fetch(root.dataset.url, {credentials: "same-origin", headers: {Accept: "application/json"}});
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const {status, trends} = await response.json();
    renderWarnings(status.warnings);
    renderRegions(status.regions);
    renderFlags(status.flags);
    renderTrends(trends);
    $("dashboard-updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
    root.dataset.refreshed = String(Number(root.dataset.refreshed || 0) + 1);
  } catch (error) {
    $("dashboard-updated").textContent = `could not refresh (${error.message}); retrying`;
  }
}

refresh();
setInterval(refresh, REFRESH_MS);
