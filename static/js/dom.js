// Small DOM helpers shared by the pages: elements (HTML and SVG) and random ids.

const SVG_NS = "http://www.w3.org/2000/svg";

function build(node, attributes, text) {
  for (const [key, value] of Object.entries(attributes)) {
    if (value !== null && value !== undefined && value !== false) node.setAttribute(key, value === true ? "" : value);
  }
  if (text !== null && text !== undefined) node.textContent = text;
  return node;
}

/** Return a new HTML element with `attributes` (null, undefined and false are left out; true is "") and text. */
export function element(name, attributes = {}, text = null) {
  return build(document.createElement(name), attributes, text);
}

/** Return a new SVG element, as `element` does for HTML. */
export function svgElement(name, attributes = {}, text = null) {
  return build(document.createElementNS(SVG_NS, name), attributes, text);
}

/** Return `bytes` random bytes as lowercase hex. */
export function randomId(bytes = 12) {
  return [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Return a random UUID (version 4), also outside a secure context where crypto.randomUUID is missing. */
export function uuid4() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
