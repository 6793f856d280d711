/* Cunyi phone portal service worker (core/pwa.py explains what it keeps and why). */
"use strict";
const CACHE = "{{ cache_name }}";
const SCOPE = "{{ scope }}";
const NEVER = {{ never|safe }};
const OFFLINE_PAGE = {{ offline_page|safe }};
const WAIT_MS = 8000;  // a weak signal that does not answer counts as no network

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("cunyi-") && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

function isPage(request) {
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || !url.pathname.startsWith(SCOPE)) return false;
  if (NEVER.some((path) => url.pathname.startsWith(path))) return false;
  return request.mode === "navigate" || (request.headers.get("Accept") || "").includes("text/html");
}

function keepable(response) {
  return response.ok && !response.redirected && response.type === "basic"
    && (response.headers.get("Content-Type") || "").startsWith("text/html")
    && !(response.headers.get("Cache-Control") || "").includes("no-store");
}

function withTimeout(promise) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), WAIT_MS);
    promise.then((value) => { clearTimeout(timer); resolve(value); }, (error) => { clearTimeout(timer); reject(error); });
  });
}

/* The kept copy, its "offline copy, saved at" line made visible. */
async function keptCopy(key) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(key);
  if (!hit) {
    return new Response(OFFLINE_PAGE, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
  }
  const html = (await hit.text()).replace("data-offline-note hidden", "data-offline-note");
  return new Response(html, { status: 200, headers: { "Content-Type": "text/html; charset=utf-8", "X-Cunyi-Offline": "1" } });
}

async function page(request) {
  const key = request.url;
  try {
    const response = await withTimeout(fetch(request));
    if (keepable(response)) {
      const copy = response.clone();
      caches.open(CACHE).then((cache) => cache.put(key, copy));
    }
    return response;
  } catch (error) {
    return keptCopy(key);
  }
}

self.addEventListener("fetch", (event) => {
  if (isPage(event.request)) event.respondWith(page(event.request));
});

/* After log-in: fetch and keep the offline pages, and the links they mark data-precache. */
async function precache(urls) {
  const cache = await caches.open(CACHE);
  const seen = new Set();
  const fetchOne = async (url, follow) => {
    const absolute = new URL(url, self.location.origin).href;
    if (seen.has(absolute)) return;
    seen.add(absolute);
    const response = await fetch(absolute, { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (!keepable(response)) return;
    const html = await response.clone().text();
    await cache.put(absolute, response);
    if (!follow) return;
    const links = [...html.matchAll(/<a [^>]*?href="([^"]+)"[^>]*?data-precache/g)].slice(0, 12);
    for (const match of links) await fetchOne(match[1].replace(/&amp;/g, "&"), false);
  };
  for (const url of urls) {
    try { await fetchOne(url, true); } catch (error) { /* no network: the next log-in tries again */ }
  }
}

self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "precache" && Array.isArray(data.urls)) event.waitUntil(precache(data.urls));
  if (data.type === "forget") event.waitUntil(caches.delete(CACHE));
});
