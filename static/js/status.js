// The connection indicator: live, resyncing n %, reconnecting, offline.

const ORDER = ["offline", "reconnecting", "connecting", "resyncing", "live"];

export function statusText(status) {
  if (status.text) return status.text; // a local world says what its worker is doing
  switch (status.phase) {
    case "live": return status.quiet ? "Live (no tick lately)" : "Live";
    case "resyncing": return `Resyncing ${Math.floor((status.progress ?? 0) * 100)} %`;
    case "reconnecting": return `Reconnecting in ${status.retryIn} s`;
    case "offline": return "Offline — waiting for the network";
    default: return "Connecting…";
  }
}

/** The least healthy of several streams' statuses: a page is live when all its streams are. */
export function worst(statuses) {
  return statuses.reduce((a, b) => (ORDER.indexOf(b.phase) < ORDER.indexOf(a.phase) ? b : a));
}

export function renderStatus(element, status) {
  element.dataset.phase = status.phase;
  element.querySelector(".conn-text").textContent = statusText(status);
  element.title = status.reason ? `Last problem: ${status.reason}` : "";
  const bar = element.querySelector("progress");
  if (bar) {
    bar.hidden = status.phase !== "resyncing";
    bar.value = status.progress ?? 0;
  }
}
