// Small SVG charts: a sparkline and a line chart with labelled axes and a legend.

import {element, svgElement as node} from "./dom.js";

const MAX_DRAWN = 1200; // points per series; a longer history is thinned for drawing only

/** Draw `values` as a line filling the SVG (its viewBox is set to the number of values). */
export function sparkline(svg, values, {min = null, max = null, reference = null} = {}) {
  svg.replaceChildren();
  if (values.length < 2) return;
  const low = min ?? Math.min(...values);
  const high = Math.max(max ?? Math.max(...values), ...values, low + 1e-9);
  const width = values.length - 1;
  const y = (v) => (100 - ((v - low) / (high - low)) * 96 - 2).toFixed(2);
  svg.setAttribute("viewBox", `0 0 ${width} 100`);
  svg.setAttribute("preserveAspectRatio", "none");
  if (reference !== null) {
    svg.append(node("line", {x1: 0, x2: width, y1: y(reference), y2: y(reference), class: "sparkline-reference",
                             "vector-effect": "non-scaling-stroke"}));
  }
  const points = values.map((v, i) => `${i},${y(v)}`);
  svg.append(node("polyline", {points: points.join(" "), fill: "none", stroke: "currentColor",
                               "stroke-width": 2, "vector-effect": "non-scaling-stroke"}));
}

/** Keep at most MAX_DRAWN points, each bucket's last (a step line shows where values settled). */
function thin(points) {
  if (points.length <= MAX_DRAWN) return points;
  const step = points.length / MAX_DRAWN;
  const kept = [];
  for (let i = 1; i <= MAX_DRAWN; i++) kept.push(points[Math.min(points.length - 1, Math.round(i * step) - 1)]);
  if (kept[0] !== points[0]) kept.unshift(points[0]);
  return kept;
}

function niceTicks(low, high, count = 5) {
  const span = Math.max(1, high - low);
  const raw = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
  const ticks = [];
  for (let x = Math.ceil(low / step) * step; x <= high; x += step) ticks.push(x);
  return ticks;
}

/**
 * Draw series [{name, colour, points: [[x, y], …]}] on shared axes, with the axes titled
 * `xTitle` and `yTitle` and, when `cursor` is a number, a marked x (the tick on display).
 * Coordinates are in a 600 × `height` viewBox; the SVG scales to its container's width.
 */
export function lineChart(svg, series, {yMax = null, xTitle = "", yTitle = "", height = 220, cursor = null,
                                         empty = "Waiting for ticks…"} = {}) {
  const [W, H, left, right, top, bottom] = [600, height, 50, 12, 10, 40];
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.replaceChildren();
  const all = series.flatMap((s) => s.points);
  if (!all.length) {
    svg.append(node("text", {x: W / 2, y: H / 2, "text-anchor": "middle", class: "chart-empty"}, empty));
    return;
  }
  let [x0, x1] = [Infinity, -Infinity];
  let y1 = Math.max(yMax ?? 0, 1);
  for (const [x, y] of all) {
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y > y1) y1 = y;
  }
  x1 = Math.max(x1, x0 + 1);
  const px = (x) => left + ((x - x0) / (x1 - x0)) * (W - left - right);
  const py = (y) => H - bottom - (y / y1) * (H - top - bottom);
  for (const y of niceTicks(0, y1, 3)) {
    svg.append(node("line", {x1: left, x2: W - right, y1: py(y), y2: py(y), class: "chart-grid"}));
    svg.append(node("text", {x: left - 6, y: py(y) + 4, "text-anchor": "end", class: "chart-tick"}, Math.round(y)));
  }
  for (const x of niceTicks(x0, x1)) {
    svg.append(node("line", {x1: px(x), x2: px(x), y1: H - bottom, y2: H - bottom + 4, class: "chart-axis"}));
    svg.append(node("text", {x: px(x), y: H - bottom + 16, "text-anchor": "middle", class: "chart-tick"}, x));
  }
  svg.append(node("line", {x1: left, x2: W - right, y1: H - bottom, y2: H - bottom, class: "chart-axis"}));
  if (xTitle) svg.append(node("text", {x: (left + W - right) / 2, y: H - 4, "text-anchor": "middle", class: "chart-title"}, xTitle));
  if (yTitle) {
    svg.append(node("text", {x: 12, y: (top + H - bottom) / 2, "text-anchor": "middle", class: "chart-title",
                             transform: `rotate(-90 12 ${(top + H - bottom) / 2})`}, yTitle));
  }
  for (const s of series) {
    if (!s.points.length) continue;
    // A step line: a value holds until the next tick changes it.
    const path = thin(s.points).map(([x, y], i) => (i ? `H${px(x).toFixed(1)}V${py(y).toFixed(1)}` : `M${px(x).toFixed(1)},${py(y).toFixed(1)}`));
    svg.append(node("path", {d: path.join(""), fill: "none", stroke: s.colour, "stroke-width": s.width ?? 2,
                             "data-series": s.name}));
  }
  if (cursor !== null && cursor >= x0 && cursor <= x1) {
    svg.append(node("line", {x1: px(cursor), x2: px(cursor), y1: top, y2: H - bottom, class: "chart-cursor",
                             "data-tick": cursor}));
  }
}

/** Return the value of sorted `points` at x (the last point at or before it), or undefined. */
export function valueAt(points, x) {
  let [low, high] = [0, points.length - 1];
  if (high < 0 || points[0][0] > x) return undefined;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if (points[middle][0] <= x) low = middle;
    else high = middle - 1;
  }
  return points[low][1];
}

/** List each series with its value: the latest, or the one at x = `at`. */
export function legend(list, series, {at = null} = {}) {
  list.replaceChildren(...series.map((s) => {
    const swatch = element("span", {class: "swatch"});
    swatch.style.background = s.colour;
    const li = element("li");
    const value = at === null ? s.points[s.points.length - 1]?.[1] : valueAt(s.points, at);
    li.append(swatch, `${s.name}: ${value ?? "–"}`);
    return li;
  }));
}
