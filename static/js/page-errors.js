// A bug in a page's own code, reported where a person and a test can see it: in the console, in
// a visible banner, and in `pageErrors()` (which the pages put in `window.selfplay.errors`).
// A connection problem is not one of these: stream.js shows those in the connection indicator.

const errors = [];
const LIMIT = 50;

function banner() {
  let node = document.getElementById("page-error");
  if (!node) {
    node = document.createElement("div");
    node.id = "page-error";
    node.className = "page-error";
    node.setAttribute("role", "alert");
    (document.querySelector("main") ?? document.body).prepend(node);
  }
  return node;
}

/** Report an exception thrown by the page's code while doing `where`. */
export function reportError(error, where) {
  const message = error?.message ?? String(error);
  console.error(`Selfplay: ${where} failed:`, error);
  errors.push({where, message, stack: error?.stack ?? null, at: Date.now()});
  if (errors.length > LIMIT) errors.shift();
  const node = banner();
  node.hidden = false;
  node.textContent = `This page hit a bug while ${where}: ${message}. The connection is fine and keeps ` +
    `following the world; reload the page to redraw it${errors.length > 1 ? ` (${errors.length} errors so far)` : ""}.`;
}

/** Return what was reported so far, oldest first. */
export function pageErrors() {
  return errors.map((e) => ({...e}));
}
