// The mirror offline: after the first visit the page, its runtime and its model are kept on the device, the files that
// mirror.json lists, each checked against its sha256. A new mirror.json on the Space brings a new copy, kept beside the
// old one until it is whole (its mirror.json is written last); only then is the old one deleted.
const scope = self.registration.scope, PREFIX = `duckling-mirror ${scope} `;
const SKIP = ['README.md', '.gitattributes', 'sw.js'];  // what the page never asks for (the browser keeps sw.js itself)
const at = name => new URL(name.split('/').map(encodeURIComponent).join('/'), scope).href;
const hex = buf => Array.from(new Uint8Array(buf), b => b.toString(16).padStart(2, '0')).join('');

// Tell the page: {updated: true} once a new copy is whole, {unchanged: why} when the one kept stays
const tell = async message => { for (const client of await self.clients.matchAll()) client.postMessage(message); };

// The newest whole copy, or undefined before the first one
async function kept() {
  for (const name of (await caches.keys()).filter(n => n.startsWith(PREFIX)).sort().reverse()) {
    const cache = await caches.open(name);
    if (await cache.match(at('mirror.json'))) return cache;
  }
}

// The file `n` from the server, if its sha256 is `sha`: the browser's HTTP cache first, then the server itself (a server
// that says only "not modified since" can make the browser keep an older file)
async function checked(n, sha) {
  for (const cache of ['no-cache', 'reload']) {
    const res = await fetch(at(n), {cache});
    if (!res.ok) throw new Error(`${n}: ${res.status}`);
    const body = await res.arrayBuffer();
    if (hex(await crypto.subtle.digest('SHA-256', body)) === sha)
      return new Response(body, {headers: {'Content-Type': res.headers.get('Content-Type') ?? ''}});
  }
  throw new Error(`${n} is not the one mirror.json lists`);
}

// Keep the mirror the Space serves now, unless it is the one kept already; the old copy stays when any file fails its check
async function update() {
  const r = await fetch(at('mirror.json'), {cache: 'reload'});  // small, and the one word on what is current
  if (!r.ok) throw new Error(`mirror.json: ${r.status}`);
  const text = await r.text(), files = JSON.parse(text).files, old = await kept();
  const had = await (await old?.match(at('mirror.json')))?.text();
  if (text === had || !files || typeof files !== 'object') return;
  const name = PREFIX + String(Date.now()).padStart(16, '0'), copy = await caches.open(name);
  try {
    for (const [n, sha] of Object.entries(files).filter(([n]) => !SKIP.includes(n))) await copy.put(at(n), await checked(n, sha));
    await copy.put(at('mirror.json'), new Response(text, {headers: {'Content-Type': 'application/json'}}));
  } catch (e) { await caches.delete(name); throw e; }
  for (const n of await caches.keys()) if (n.startsWith(PREFIX) && n !== name) await caches.delete(n);
  if (had) await tell({updated: true});
}

let syncing = null;  // one update at a time: a second visit while one runs waits for it
const sync = () => (syncing ??= update().finally(() => { syncing = null; }));

self.addEventListener('install', e => { self.skipWaiting(); e.waitUntil(sync()); });

// A file of the mirror's from the copy kept, the network for anything else (or before there is a copy); each visit to
// the page looks for a new mirror.json, and a visit offline answers from the copy
self.addEventListener('fetch', e => {
  const url = new URL(e.request.url);
  if (e.request.method !== 'GET' || !url.href.startsWith(scope)) return;
  let name;
  try { name = decodeURIComponent(url.pathname.slice(new URL(scope).pathname.length)) || 'index.html'; } catch { return; }
  if (e.request.mode === 'navigate') e.waitUntil(sync().catch(err => tell({unchanged: err.message})));
  e.respondWith(kept().then(cache => cache?.match(at(name))).then(hit => hit ?? fetch(e.request)));
});
