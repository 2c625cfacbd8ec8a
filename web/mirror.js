// The magic mirror's page: `window.mirror.answer(picture)` (a file, or a video's frame) asks the model (in worker.js) and says its answer as
// `Mirror.answer` does in Python; the page uses that API itself, as anyone embedding the mirror would.
const SAYINGS = {duckling: 'You are a duckling: a duck through and through.', cygnet: 'You are a cygnet: a swan after all!'};
const worker = new Worker(new URL('worker.js', import.meta.url), {type: 'module'});
const waiting = new Map();
let asked = 0, cfg;

const ready = new Promise((resolve, reject) => {
  worker.addEventListener('message', ({data}) => {
    if ('ready' in data) return data.ready ? resolve(cfg = data.cfg) : reject(new Error(data.error));  // the worker's own mirror.json
    const [ok, fail] = waiting.get(data.id) ?? [];
    waiting.delete(data.id);
    data.error ? fail?.(new Error(data.error)) : ok?.(data.probs);
  });
  worker.addEventListener('error', () => reject(new Error('The mirror could not start in this browser.')));
});

// The answer for `probs`: the likeliest label, or 'neither' under the threshold or when no label is likelier (`Mirror.decide`)
function decide(probs) {
  const entries = Object.entries(probs), [label, p] = entries.reduce((a, b) => (b[1] > a[1] ? b : a));
  return p >= (cfg.neither?.threshold ?? 0) && p > 1 / entries.length + 1e-6 ? [label, p] : ['neither', 1 - p];
}

// The answer in words (`say`)
function say(label, p) {
  if (label === 'neither') return 'Neither ' + cfg.labels.filter(l => l !== 'neither').map(l => `a ${l}`).join(' nor ') + ', I am afraid.';
  return `${Object.hasOwn(SAYINGS, label) ? SAYINGS[label] : `You are a ${label}.`} (${Math.round(p * 100)}% sure)`;
}

// What a video, a canvas or an ImageBitmap shows now, as an ImageBitmap; null for anything else
async function frame(source) {
  if (globalThis.HTMLVideoElement && source instanceof HTMLVideoElement && source.readyState < 2) throw new Error('The camera shows nothing yet.');
  try { return await createImageBitmap(source); } catch (e) { return null; }
}

// The mirror's answer for a picture (a file, a blob or its bytes) or for what a video, a canvas or an ImageBitmap shows
// now: {label, confidences, sentence}; rejects with a sentence for what is not a picture
async function answer(picture) {
  await ready;
  if (picture instanceof ArrayBuffer || ArrayBuffer.isView(picture)) picture = new Blob([picture]);  // bytes, from an embedder
  const still = picture instanceof Blob || !picture || typeof picture !== 'object' ? null : await frame(picture);
  if (!(picture instanceof Blob) && !still) throw new Error('Please choose a picture first.');
  const id = ++asked, message = still ? {id, frame: still} : {id, blob: picture};
  const probs = await new Promise((ok, fail) => { waiting.set(id, [ok, fail]); worker.postMessage(message, still ? [still] : []); });
  const [label, p] = decide(probs);
  return {label, confidences: probs, sentence: say(label, p)};
}

window.mirror = {ready, answer};

// The page
const $ = id => document.getElementById(id);
const percent = p => `${Math.round(p * 100)}%`;

function show({label, confidences, sentence}) {
  $('headline').textContent = `${label[0].toUpperCase()}${label.slice(1)}`;  // how sure: in the sentence and the bars
  $('sentence').textContent = sentence;
  $('sentence').className = 'sentence';
  $('bars').replaceChildren(...Object.entries(confidences).sort((a, b) => b[1] - a[1]).map(([l, p]) => {
    const li = document.createElement('li');
    li.className = l === label ? 'picked' : '';
    li.innerHTML = '<span></span><span class="track" role="meter" aria-valuemin="0" aria-valuemax="100"><span class="fill"></span></span><span></span>';
    const [name, track, value] = li.children;
    name.textContent = l;
    track.setAttribute('aria-label', l);
    track.setAttribute('aria-valuenow', Math.round(p * 100));
    track.firstChild.style.width = percent(p);
    value.textContent = percent(p);
    return li;
  }));
}

function fail(message, headline = 'The mirror cannot answer') {
  $('headline').textContent = headline;
  $('sentence').textContent = message;
  $('sentence').className = 'sentence error';
  $('bars').replaceChildren();
  $('preview').hidden = true;
  $('answer').setAttribute('aria-busy', 'false');
}

let shown = 0;
async function look(picture) {
  stop();
  const mine = ++shown;
  $('answer').setAttribute('aria-busy', 'true');
  const url = picture instanceof Blob ? URL.createObjectURL(picture) : '';
  $('preview').hidden = !url;
  $('preview').onload = $('preview').onerror = () => URL.revokeObjectURL(url);
  if (url) { $('preview').src = url; $('preview').alt = 'Your picture'; }
  $('headline').textContent = 'The mirror is looking…';
  try { const a = await answer(picture); if (mine === shown) show(a); }
  catch (e) { if (mine === shown) fail(e.message); }
  finally { if (mine === shown) $('answer').setAttribute('aria-busy', 'false'); }
}

for (const input of [$('file'), $('camera')]) input.addEventListener('change', () => { if (input.files[0]) look(input.files[0]); input.value = ''; });
const drop = $('drop');
drop.addEventListener('dragover', e => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', e => { e.preventDefault(); drop.classList.remove('over'); look(e.dataTransfer.files[0]); });
document.addEventListener('paste', e => {
  const item = [...e.clipboardData.items].find(i => i.kind === 'file');
  if (item) look(item.getAsFile());
});
for (const button of document.querySelectorAll('.examples button')) button.addEventListener('click', async () => {
  const response = await fetch(button.querySelector('img').src);
  look(await response.blob());
});

// Live: the camera (the rear one on a phone), answered frame after frame, the next as soon as the worker is free
const video = $('video');
let stream = null, frozen = false, loop = 0;

function buttons(on) {
  $('live').textContent = on ? 'Stop the camera' : 'Live camera';
  $('freeze').hidden = !on;
  $('freeze').textContent = frozen ? 'Go on' : 'Freeze';
  $('answer').setAttribute('aria-live', on && !frozen ? 'off' : 'polite');  // a screen reader is not read every frame
}

function stop() {
  ++loop;
  if (!stream) return;
  for (const track of stream.getTracks()) track.stop();
  stream = null; frozen = false;
  video.srcObject = null; video.hidden = true;
  buttons(false);
}

async function goLive() {
  try { await ready; } catch (e) { return; }  // the page says why already
  if (!navigator.mediaDevices?.getUserMedia) return fail('This browser gives this page no camera: you can still choose or take a picture.', 'No live camera');
  const mine = ++shown;  // an upload or another press while the browser asks wins, and a hidden tab gets no camera
  let s;
  try { s = await navigator.mediaDevices.getUserMedia({video: {facingMode: {ideal: 'environment'}}, audio: false}); }
  catch (e) {
    if (mine === shown) fail(e.name === 'NotAllowedError' ? 'The camera was not allowed: you can still choose or take a picture.'
                                                          : 'No camera could be opened: you can still choose or take a picture.', 'No live camera');
    return;
  }
  if (mine !== shown || document.hidden) { for (const track of s.getTracks()) track.stop(); return; }
  stop();
  stream = s; video.srcObject = s; video.hidden = false; $('preview').hidden = true;
  $('answer').setAttribute('aria-busy', 'false');
  for (const track of s.getVideoTracks()) track.addEventListener('ended', () => {  // unplugged, or taken by another app
    if (stream === s) { stop(); fail('The camera stopped: press Live camera to look again.', 'Camera stopped'); }
  });
  buttons(true);
  await video.play().catch(() => {});
  if (stream === s) watch();
}

// Answer what the camera shows until it stops or is frozen; each answer is also a `mirror:answer` event on window
async function watch() {
  const me = ++loop, mine = stream, still = () => loop === me && stream === mine && mine.active && !frozen;
  while (still()) {
    try {
      const a = await answer(video);
      if (still()) { show(a); dispatchEvent(new CustomEvent('mirror:answer', {detail: a})); }
    } catch (e) { await new Promise(ok => setTimeout(ok, 100)); }  // no frame yet
  }
}

// Freeze the answer on the frame shown now, or go on
async function freeze() {
  const mine = stream;
  frozen = !frozen;
  buttons(true);
  if (!frozen) { video.play(); return watch(); }
  ++loop;
  video.pause();
  try { const a = await answer(video); if (stream === mine && frozen) show(a); } catch (e) { /* the camera stopped */ }
}

$('live').addEventListener('click', () => (stream ? stop() : goLive()));
$('freeze').addEventListener('click', freeze);
document.addEventListener('visibilitychange', () => {  // a hidden tab does not keep the camera, nor open it
  if (document.hidden && stream) { stop(); fail('The camera stopped while the page was hidden: press Live camera to look again.', 'Camera stopped'); }
});

// Offline after the first visit: sw.js keeps the page, the runtime and the model on the device
navigator.serviceWorker?.register(new URL('sw.js', import.meta.url)).catch(() => {});
navigator.serviceWorker?.addEventListener('message', ({data}) => {
  if (data?.updated) $('update').hidden = false;
  if (data?.unchanged) console.warn(`The mirror kept on this device stays as it is: ${data.unchanged}`);  // offline, or a file failed its check
});

ready.then(() => {
  $('headline').textContent = 'Show the mirror a picture';
  $('answer').setAttribute('aria-busy', 'false');
}, e => fail(e.message));
