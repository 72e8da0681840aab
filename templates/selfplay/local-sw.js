// The service worker of /local/: the page, its worker, Pyodide and the pure core, kept in the
// Cache API so a local world reloads and ticks with the network gone. Rendered by
// agents.local_pages.local_service_worker; a changed file gives a new version, hence a new cache.
//
// Pyodide's files (pinned by package-lock.json) are served from the cache first; everything else
// from the network first, falling back to the cache, so an online page always runs current code.

const VERSION = {{ version_json|safe }};
const CACHE = `selfplay-local-${VERSION}`;
const SHELL = {{ urls_json|safe }};
const IMMUTABLE = {{ immutable_json|safe }};
const PAGE = SHELL[0];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("selfplay-local-") && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

function cacheKey(request) {
  const url = new URL(request.url);
  // Every /local/?seed=…, ?world=… is the same page.
  return request.mode === "navigate" && url.pathname === PAGE ? PAGE : url.pathname;
}

async function networkFirst(request, key) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(key, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(key);
    if (cached) return cached;
    throw error;
  }
}

async function cacheFirst(request, key) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(key);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) await cache.put(key, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const {request} = event;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  const key = cacheKey(request);
  if (!SHELL.includes(key)) return;
  const immutable = IMMUTABLE.some((prefix) => key.startsWith(prefix));
  event.respondWith(immutable ? cacheFirst(request, key) : networkFirst(request, key));
});
