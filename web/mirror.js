// The magic mirror's page: `window.mirror.answer(fileOrBlob)` asks the model (in worker.js) and says its answer as
// `Mirror.answer` does in Python; the page uses that API itself, as anyone embedding the mirror would.
const SAYINGS = {duckling: 'You are a duckling: a duck through and through.', cygnet: 'You are a cygnet: a swan after all!'};
const worker = new Worker(new URL('worker.js', import.meta.url), {type: 'module'});
const waiting = new Map();
let asked = 0, cfg;

const ready = new Promise((resolve, reject) => {
  worker.addEventListener('message', ({data}) => {
    if ('ready' in data) return data.ready ? resolve() : reject(new Error(data.error));
    const [ok, fail] = waiting.get(data.id) ?? [];
    waiting.delete(data.id);
    data.error ? fail?.(new Error(data.error)) : ok?.(data.probs);
  });
  worker.addEventListener('error', () => reject(new Error('The mirror could not start in this browser.')));
}).then(async () => { cfg = await (await fetch(new URL('mirror.json', import.meta.url))).json(); });

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

// The mirror's answer for a picture: {label, confidences, sentence}; rejects with a sentence for what is not a picture
async function answer(picture) {
  await ready;
  if (picture instanceof ArrayBuffer || ArrayBuffer.isView(picture)) picture = new Blob([picture]);  // bytes, from an embedder
  if (!(picture instanceof Blob)) throw new Error('Please choose a picture first.');
  const id = ++asked;
  const probs = await new Promise((ok, fail) => { waiting.set(id, [ok, fail]); worker.postMessage({id, blob: picture}); });
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

function fail(message) {
  $('headline').textContent = 'The mirror cannot answer';
  $('sentence').textContent = message;
  $('sentence').className = 'sentence error';
  $('bars').replaceChildren();
  $('preview').hidden = true;
  $('answer').setAttribute('aria-busy', 'false');
}

let shown = 0;
async function look(picture) {
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
ready.then(() => {
  $('headline').textContent = 'Show the mirror a picture';
  $('answer').setAttribute('aria-busy', 'false');
}, e => fail(e.message));
