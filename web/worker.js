// The mirror's model, off the page's thread: read a picture as `Mirror` does in Python, run model.onnx, answer.
// One definition of the preprocessing, documented in 05_app: upright (EXIF), transparent parts on white, no colour
// management, the centre square, then PIL's antialiased bilinear resize (a triangle filter as wide as the scale).
import * as ort from './ort.wasm.min.mjs';

const here = new URL('./', import.meta.url).href;
ort.env.wasm.wasmPaths = here;  // the runtime shipped beside the page: nothing from a CDN
// Threads need a cross-origin isolated page (COOP and COEP headers): the Space does not ask for one (see 05b_web)
ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;

const NOT_A_PICTURE = 'This file is not a picture I can read. Please send a JPEG, PNG, GIF, WebP or BMP picture.';
const DAMAGED = 'This picture seems damaged or cut short. Please upload it again, or try another one.';
const MAX_PIXELS = 50_000_000;  // as `open_image`: larger pictures are decoded smaller (Python drafts JPEGs, refuses the rest)
const MAX_DECODE = 300_000_000;  // larger than any camera's: a decompression bomb, or more than a browser decodes
class Refusal extends Error {}  // what a person is told: one sentence
let cfg, session;

const start = why => new Refusal(`The mirror could not start: ${why}.`);
const hex = buf => Array.from(new Uint8Array(buf), b => b.toString(16).padStart(2, '0')).join('');
const numbers = (a, n) => Array.isArray(a) && a.length === n && a.every(Number.isFinite);

// `name`, beside this file, read by `read`
async function load(name, read) {
  let r;
  try { r = await fetch(here + name); } catch (e) { throw start(`its ${name} could not be fetched`); }
  if (!r.ok) throw start(`its ${name} is missing (${r.status})`);
  try { return await read(r); } catch (e) { throw start(`its ${name} is damaged: export the mirror again`); }
}

// The model and what mirror.json says of it, checked against each other as `check_mirror` does
const ready = (async () => {
  cfg = await load('mirror.json', r => r.json());
  const labels = cfg?.labels, size = cfg?.size;
  if (!Array.isArray(labels) || labels.length < 2 || !labels.every(l => typeof l === 'string' && l) || !Number.isInteger(size)
      || size < 32 || size > 1024 || !numbers(cfg.mean, 3) || !numbers(cfg.std, 3)) throw start('its mirror.json is not what export_mirror writes');
  const model = await load('model.onnx', r => r.arrayBuffer());
  const sha = cfg.files?.['model.onnx'];
  if (sha && crypto.subtle && hex(await crypto.subtle.digest('SHA-256', model)) !== sha)
    throw start('its model.onnx is not the one its mirror.json was written for (their sha256 differ): export the mirror again');
  try { session = await ort.InferenceSession.create(model, {executionProviders: ['wasm']}); }
  catch (e) { throw start('its model.onnx is damaged (a Git LFS pointer?), or this browser cannot run ONNX Runtime Web'); }
  let out;  // one answer for a blank picture: the model takes `size` pixels, and gives one output per label
  try { out = await session.run({[session.inputNames[0]]: new ort.Tensor('float32', new Float32Array(3 * size * size), [1, 3, size, size])}); }
  catch (e) { throw start(`its model.onnx does not take pictures of ${size} pixels, as its mirror.json says: export the mirror again`); }
  const n = out[session.outputNames[0]].data.length;
  if (n !== labels.length) throw start(`its mirror.json has ${labels.length} labels, but model.onnx gives ${n} outputs: export the mirror again`);
})();

// What a file's first bytes say it is
function kind(b) {
  const s = (i, t) => [...t].every((c, j) => b[i + j] === c.charCodeAt(0));
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (s(1, 'PNG')) return 'png';
  if (s(0, 'GIF8')) return 'gif';
  if (s(0, 'RIFF') && s(8, 'WEBP')) return 'webp';
  if (s(0, 'BM')) return 'bmp';
  if (s(0, 'II*\0') || s(0, 'MM\0*')) return 'tiff';
  if (s(4, 'ftyp') && ['heic', 'heix', 'hevc', 'mif1', 'msf1', 'avif'].some(t => s(8, t))) return s(8, 'avif') ? 'avif' : 'heic';
  return '';
}

// A picture's width and height from its header, before decoding it (0, 0 when the header does not say)
function dimensions(b, type) {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  try {
    if (type === 'png') return [v.getUint32(16), v.getUint32(20)];
    if (type === 'gif') return [v.getUint16(6, true), v.getUint16(8, true)];
    if (type === 'bmp') return [v.getInt32(18, true), Math.abs(v.getInt32(22, true))];
    if (type === 'webp') {
      const chunk = String.fromCharCode(...b.subarray(12, 16));
      if (chunk === 'VP8X') return [1 + (v.getUint32(24, true) & 0xffffff), 1 + (v.getUint32(27, true) & 0xffffff)];
      if (chunk === 'VP8L') { const n = v.getUint32(21, true); return [1 + (n & 0x3fff), 1 + ((n >> 14) & 0x3fff)]; }
      return [v.getUint16(26, true) & 0x3fff, v.getUint16(28, true) & 0x3fff];
    }
    if (type === 'jpeg') for (let i = 2; i + 9 < b.length;) {  // the markers, up to the frame header (SOFn)
      const m = b[i + 1];
      if (b[i] !== 0xff || m === 0xff) { i++; continue; }
      if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) return [v.getUint16(i + 7), v.getUint16(i + 5)];
      i += m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7) ? 2 : 2 + v.getUint16(i + 2);  // standalone, or with a length
    }
  } catch (e) { /* a header cut short */ }
  return [0, 0];
}

// `blob` decoded upright, at most MAX_PIXELS
async function decode(blob) {
  const b = new Uint8Array(await blob.slice(0, 1 << 24).arrayBuffer());  // the header, EXIF and ICC profile included
  const type = kind(b);
  if (!b.length || !type) throw new Refusal(NOT_A_PICTURE);
  const [w, h] = dimensions(b, type);
  const tooLarge = `This picture is too large (${w}x${h} pixels); please send one under ${MAX_PIXELS / 1e6} MP.`;
  if (w * h > MAX_DECODE) throw new Refusal(tooLarge);
  const opts = {imageOrientation: 'from-image', colorSpaceConversion: 'none', premultiplyAlpha: 'none'};
  if (w * h > MAX_PIXELS) Object.assign(opts, {resizeQuality: 'high', ...(w >= h ? {resizeWidth: Math.round(w * Math.sqrt(MAX_PIXELS / (w * h)))}
                                                                          : {resizeHeight: Math.round(h * Math.sqrt(MAX_PIXELS / (w * h)))})});
  let bitmap;
  try { bitmap = await createImageBitmap(blob, opts); }
  catch (e) {
    if (type === 'tiff') throw new Refusal('Browsers cannot read TIFF pictures: please send a JPEG, PNG, WebP or GIF one.');
    if (type === 'heic') throw new Refusal('This browser cannot read HEIC pictures (an iPhone\'s own format): please send a JPEG, or set the camera to "Most Compatible".');
    if (type === 'avif') throw new Refusal('This browser cannot read AVIF pictures: please send a JPEG or PNG one.');
    throw new Refusal(w * h > MAX_PIXELS ? tooLarge : DAMAGED);
  }
  return bitmap;
}

// `bitmap`'s RGBA pixels, transparent parts on white
function pixels(bitmap) {
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, bitmap.width, bitmap.height);
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  return ctx.getImageData(0, 0, canvas.width, canvas.height);
}

// PIL's resampling weights for `n` pixels into `m`: for each output pixel, its first input pixel and the weights
function weights(n, m) {
  const scale = n / m, support = Math.max(scale, 1), out = [];
  for (let i = 0; i < m; i++) {
    const center = (i + 0.5) * scale, lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const hi = Math.min(Math.trunc(center + support + 0.5), n);
    const k = [];
    for (let j = lo; j < hi; j++) k.push(Math.max(0, 1 - Math.abs((j - center + 0.5) / support)));
    const sum = k.reduce((a, b) => a + b, 0);
    out.push([lo, k.map(x => sum ? x / sum : 0)]);
  }
  return out;
}

// The model's input for `img`: its centre square resized to `size` as PIL does (rows, then columns, 8 bits between), normalized
function preprocess({data, width: w, height: h}, size, mean, std) {
  const c = Math.trunc(Math.min(w, h) / size * size), l = Math.trunc(0.5 * (w - c)), t = Math.trunc(0.5 * (h - c));
  const ks = weights(c, size), mid = new Uint8ClampedArray(c * size * 3);
  for (let y = 0; y < c; y++) for (let x = 0; x < size; x++) {
    const [lo, k] = ks[x];
    let r = 0, g = 0, b = 0;
    for (let j = 0, p = ((t + y) * w + l + lo) * 4; j < k.length; j++, p += 4) { r += data[p] * k[j]; g += data[p + 1] * k[j]; b += data[p + 2] * k[j]; }
    const q = (y * size + x) * 3;
    mid[q] = Math.floor(r + 0.5); mid[q + 1] = Math.floor(g + 0.5); mid[q + 2] = Math.floor(b + 0.5);
  }
  const x = new Float32Array(3 * size * size), plane = size * size;
  for (let y = 0; y < size; y++) {
    const [lo, k] = ks[y];
    for (let i = 0; i < size; i++) for (let ch = 0; ch < 3; ch++) {
      let s = 0;
      for (let j = 0; j < k.length; j++) s += mid[((lo + j) * size + i) * 3 + ch] * k[j];
      x[ch * plane + y * size + i] = (Math.min(255, Math.max(0, Math.floor(s + 0.5))) / 255 - mean[ch]) / std[ch];
    }
  }
  return x;
}

// The probability of each label, temperature-scaled as mirror.json says
function probabilities(logits) {
  const z = Array.from(logits, v => v / (cfg.temperature ?? 1)), top = Math.max(...z);
  const e = z.map(v => Math.exp(v - top)), sum = e.reduce((a, b) => a + b, 0);
  return Object.fromEntries(cfg.labels.map((l, i) => [l, e[i] / sum]));
}

// One picture at a time: each decode may take hundreds of MB
let queue = Promise.resolve();
self.onmessage = ({data}) => { queue = queue.then(() => answer(data)); };

// The answer for a file (`blob`) or for a camera's frame (`frame`, an ImageBitmap): the same preprocessing for both
async function answer({id, blob, frame}) {
  try {
    await ready;
    if (!(blob instanceof Blob) && !(frame instanceof ImageBitmap)) throw new Refusal('Please choose a picture first.');
    const img = pixels(frame ?? await decode(blob));
    const input = new ort.Tensor('float32', preprocess(img, cfg.size, cfg.mean, cfg.std), [1, 3, cfg.size, cfg.size]);
    const out = await session.run({[session.inputNames[0]]: input});
    self.postMessage({id, probs: probabilities(out[session.outputNames[0]].data)});
  } catch (e) {
    self.postMessage({id, error: e instanceof Refusal ? e.message : 'The mirror could not read this picture. Please try another one.'});
  }
}
ready.then(() => self.postMessage({ready: true, cfg}),
           e => self.postMessage({ready: false, error: e instanceof Refusal ? e.message : start('this browser cannot run ONNX Runtime Web').message}));
