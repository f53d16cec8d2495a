// The dashboard's service worker: the citizen page works on a bad connection. The app shell
// (page, scripts, styles) and the public data a report needs (the categories, the districts,
// the base map's tiles) are kept: assets are content-hashed, so cache-first is safe; the rest
// is network-first with the cached copy as fallback. Nothing personal or staff-only is
// cached (no token-bearing request, no case data); reports written offline wait in the page's
// outbox (src/offline.ts), not here.
const CACHE = "shancheng-shell-v2";
const PUBLIC_DATA = [/^\/categories$/, /^\/cases\/workflow$/, /^\/city\/units$/, /^\/tiles\/(?!pipes)[a-z_]+(\.json|\/\d+\/\d+\/\d+\.(mvt|png))$/];

function isPublicData(url, request) {
  return !request.headers.has("Authorization") && !url.searchParams.has("access_token") && PUBLIC_DATA.some((re) => re.test(url.pathname));
}
const SHELL = ["/ui/", "/ui/manifest.webmanifest", "/ui/icon.svg"];
// what the citizen page asks first, kept at install (the page's own first requests come
// before the worker controls it); one that fails is fetched again on the next visit
const FIRST_DATA = ["/categories", "/cases/workflow", "/city/units?level=district"];

self.addEventListener("install", (event) => {
  // the page's scripts and styles are named by their content hash: read them from the page
  const assets = fetch("/ui/")
    .then((r) => r.text())
    .then((html) => [...html.matchAll(/(?:src|href)="(\/ui\/assets\/[^"]+)"/g)].map((m) => m[1]));
  event.waitUntil(
    Promise.all([caches.open(CACHE), assets])
      .then(([cache, urls]) => Promise.all([cache.addAll([...SHELL, ...urls]), ...FIRST_DATA.map((u) => cache.add(u).catch(() => undefined))]))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (!url.pathname.startsWith("/ui/") && !isPublicData(url, event.request)) return;
  if (url.pathname.startsWith("/ui/assets/")) {
    event.respondWith(
      caches.match(event.request).then((hit) => hit || fetch(event.request).then((response) => {
        const copy = response.clone();
        if (response.ok) caches.open(CACHE).then((cache) => cache.put(event.request, copy));
        return response;
      })),
    );
    return;
  }
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        const copy = response.clone();
        if (response.ok) caches.open(CACHE).then((cache) => cache.put(event.request, copy));
        return response;
      })
      .catch(() => caches.match(event.request).then((hit) => hit || (url.pathname.startsWith("/ui/") ? caches.match("/ui/") : Response.error()))),
  );
});
