// Canonical JSON and checksums as the server computes them (selfplay/canonical.py): sorted keys,
// no spaces, UTF-8, so a page can check a state it rebuilt against the checksum the log recorded.
// Keys are sorted by UTF-16 code units, which agrees with Python's code-point order for every key
// below U+D800 (all of ours: ids, field names, "x,y").

export function canonicalJson(value) {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) throw new TypeError("NaN and infinities are not JSON");
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(",")}}`;
}

/** Resolve with sha256(canonical JSON) in hex, or null where the browser has no WebCrypto (not a secure context). */
export async function checksum(value) {
  if (!globalThis.crypto?.subtle) return null;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonicalJson(value)));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
