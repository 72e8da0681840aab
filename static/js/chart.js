// Small SVG charts: a sparkline and a line chart with axes and a legend.

const SVG = "http://www.w3.org/2000/svg";

function node(name, attributes = {}, text = null) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  if (text !== null) element.textContent = text;
  return element;
}

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

/**
 * Draw series [{name, colour, points: [[x, y], …]}] on shared axes. Coordinates are in a
 * 600 × `height` viewBox; the SVG scales to its container's width.
 */
export function lineChart(svg, series, {yMax = null, xLabel = "", yLabel = "", height = 220} = {}) {
  const [W, H, left, right, top, bottom] = [600, height, 36, 10, 10, 28];
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.replaceChildren();
  const all = series.flatMap((s) => s.points);
  if (!all.length) {
    svg.append(node("text", {x: W / 2, y: H / 2, "text-anchor": "middle", class: "chart-empty"}, "Waiting for ticks…"));
    return;
  }
  const xs = all.map((p) => p[0]);
  const [x0, x1] = [Math.min(...xs), Math.max(Math.max(...xs), Math.min(...xs) + 1)];
  const y1 = Math.max(yMax ?? 0, ...all.map((p) => p[1]), 1);
  const px = (x) => left + ((x - x0) / (x1 - x0)) * (W - left - right);
  const py = (y) => H - bottom - (y / y1) * (H - top - bottom);
  for (const y of [0, Math.round(y1 / 2), y1]) {
    svg.append(node("line", {x1: left, x2: W - right, y1: py(y), y2: py(y), class: "chart-grid"}));
    svg.append(node("text", {x: left - 4, y: py(y) + 4, "text-anchor": "end", class: "chart-tick"}, Math.round(y)));
  }
  for (const x of [x0, Math.round((x0 + x1) / 2), x1]) {
    svg.append(node("text", {x: px(x), y: H - 10, "text-anchor": "middle", class: "chart-tick"}, `${xLabel}${x}`));
  }
  if (yLabel) svg.append(node("title", {}, yLabel));
  for (const s of series) {
    if (!s.points.length) continue;
    // A step line: a value holds until the next tick changes it.
    const path = s.points.map(([x, y], i) => (i ? `H${px(x).toFixed(1)}V${py(y).toFixed(1)}` : `M${px(x).toFixed(1)},${py(y).toFixed(1)}`));
    svg.append(node("path", {d: path.join(""), fill: "none", stroke: s.colour, "stroke-width": s.width ?? 2,
                             "data-series": s.name}));
  }
}

export function legend(list, series) {
  list.replaceChildren(...series.map((s) => {
    const li = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = s.colour;
    li.append(swatch, `${s.name}: ${s.points.length ? s.points[s.points.length - 1][1] : "–"}`);
    return li;
  }));
}
