// The app's service worker: keeps the shell (the page and its files) so the app opens with no
// signal. The files have content-hashed names, listed below as the server rewrote them, so a
// new release brings a new worker and a fresh cache. API calls are never cached here: the app
// keeps its jobs and its queue in IndexedDB.

const SHELL = [
  "/app/",
  "/assets/app/app.js",
  "/assets/app/app.css",
  "/assets/app/db.js",
  "/assets/app/geo.js",
  "/assets/app/words.js",
  "/assets/app/manifest.webmanifest",
  "/assets/console/api.js",
  "/assets/console/dom.js",
  "/assets/console/i18n.js",
  "/assets/console/clocks.js",
  "/assets/console/signin.js",
  "/assets/console/icon.svg",
];
// Named after the files it holds: any change to any of them is a new cache.
const CACHE = `fixline-app-${[...SHELL.join("|")].reduce((x, c) => (x * 31 + c.charCodeAt(0)) >>> 0, 7).toString(36)}`;

self.addEventListener("install", (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (e) => {
  e.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("fixline-app-") && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== "GET" || url.origin !== location.origin) return;
  if (e.request.mode === "navigate" && url.pathname.startsWith("/app")) {
    // The page: from the network when there is one (a new release), else the kept copy.
    e.respondWith(fetch(e.request).then((r) => {
      const copy = r.clone();
      caches.open(CACHE).then((c) => c.put("/app/", copy));
      return r;
    }).catch(() => caches.match("/app/")));
    return;
  }
  if (url.pathname.startsWith("/assets/")) {
    e.respondWith(caches.match(e.request).then((hit) => hit || fetch(e.request)));
  }
});
