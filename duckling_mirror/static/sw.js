// The mirror offline: after the first visit the page, its runtime and its model are kept on the device, the files that
// mirror.json lists, each checked against its sha256. A new mirror.json on the Space brings a new copy, kept beside the
// old one until it is whole (its mirror.json is written last); only then is the old one deleted.
const scope = self.registration.scope, PREFIX = `duckling-mirror ${scope} `;
const SKIP = ['README.md', '.gitattributes', 'sw.js'];  // what the page never asks for (the browser keeps sw.js itself)
const at = name => new URL(name.split('/').map(encodeURIComponent).join('/'), scope).href;
const hex = buf => Array.from(new Uint8Array(buf), b => b.toString(16).padStart(2, '0')).join('');
const copies = async () => (await caches.keys()).filter(n => n.startsWith(PREFIX)).sort().reverse();  // newest first

// Tell the page: {updated: true} once a new copy is whole, {unchanged: why} when the one kept stays
const tell = async message => { for (const client of await self.clients.matchAll()) client.postMessage(message); };

// The name of the newest whole copy (the one holding its mirror.json), or undefined before the first one
async function kept() {
  for (const name of await copies()) if (await caches.match(at('mirror.json'), {cacheName: name})) return name;
}

// The file `n` if its sha256 is `sha`: from the copy kept `old`, else the browser's HTTP cache, else the server itself (a
// server that says only "not modified since" can make the browser keep an older file)
async function checked(n, sha, old) {
  const hit = old && await caches.match(at(n), {cacheName: old});
  for (const get of [() => hit, () => fetch(at(n), {cache: 'no-cache'}), () => fetch(at(n), {cache: 'reload'})]) {
    const res = await get();
    if (!res) continue;
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
  for (const n of await copies()) if (n !== old) await caches.delete(n);  // half built, by a worker stopped on the way
  if (!files || typeof files !== 'object') { if (old) await caches.delete(old); return; }  // a mirror that lists nothing
  const had = old && await (await caches.match(at('mirror.json'), {cacheName: old})).text();
  if (text === had) return;
  const name = PREFIX + String(Date.now()).padStart(16, '0'), copy = await caches.open(name);
  try {
    for (const [n, sha] of Object.entries(files).filter(([n]) => !SKIP.includes(n))) await copy.put(at(n), await checked(n, sha, old));
    await copy.put(at('mirror.json'), new Response(text, {headers: {'Content-Type': 'application/json'}}));
  } catch (e) { await caches.delete(name); throw e; }
  if (old) await caches.delete(old);
  if (had) await tell({updated: true});
}

// One update at a time, across this worker and the next one (a new sw.js installs while the old one still runs)
let syncing = null;
const sync = () => (syncing ??= (navigator.locks ? navigator.locks.request(PREFIX, update) : update()).finally(() => { syncing = null; }));

self.addEventListener('install', e => { self.skipWaiting(); e.waitUntil(sync()); });

// A file of the mirror's from the copy kept, the network for anything else (or before there is a copy); each visit to
// the page looks for a new mirror.json, and a visit offline answers from the copy
self.addEventListener('fetch', e => {
  const url = new URL(e.request.url);
  if (e.request.method !== 'GET' || !url.href.startsWith(scope)) return;
  let name;
  try { name = decodeURIComponent(url.pathname.slice(new URL(scope).pathname.length)) || 'index.html'; } catch { return; }
  if (e.request.mode === 'navigate') e.waitUntil(sync().catch(err => tell({unchanged: err.message})));
  e.respondWith(kept().then(c => c && caches.match(at(name), {cacheName: c})).then(hit => hit ?? fetch(e.request)));
});
