#!/usr/bin/env python3
"""onnxruntime-web 1.31.1 (the runtime the page ships since issue #30) against 1.30.0 (the one before), in one run, on the committed static mirror (`web/`)
in headless Chromium, one thread, offline: for each runtime, the answers to every photo against Python's `Mirror` (labels
the same, the largest difference of a probability), the median time per uploaded picture (decoding included), and
live mode's answers per second from a fake camera showing a project photo, at its own size (400x276) and at 1280x720,
a laptop camera's size. The runtimes come from npm (`npm pack`), or from `--tarballs` holding those two `.tgz` files.
Each timing is taken in `--rounds` rounds, the two runtimes in turn (each round in the other order), and the median shown:
one round on this 2-core machine moves by ±30%.
Usage: python bench/web.py [--photos ../shared/photos] [--runs 30] [--seconds 5] [--rounds 3] [--tarballs DIR]"""
from __future__ import annotations
import hashlib, json, shutil, statistics, subprocess, tarfile, tempfile, time
from pathlib import Path
from PIL import Image, ImageOps
from fastcore.script import call_parse
from duckling_mirror.mirror import Mirror
from duckling_mirror.testing import CHROMIUM, CHROMIUM_ARGS, camera_args, fake_camera, sample_photos
from duckling_mirror.web import ORT_VERSION, serve_static

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = ('1.30.0', ORT_VERSION)  # before, and now
RUNTIME = ('ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm')
PHOTO = ROOT/'web'/'examples'/'duckling-012.jpg'

def runtime(version: str, tarballs: Path | None, tmp: Path) -> Path:
    "The `.tgz` of onnxruntime-web `version`: from `tarballs`, or from npm"
    if tarballs and (tarballs/f'onnxruntime-web-{version}.tgz').exists(): return tarballs/f'onnxruntime-web-{version}.tgz'
    subprocess.run(['npm', 'pack', f'onnxruntime-web@{version}', '--pack-destination', tmp], check=True, capture_output=True)
    return tmp/f'onnxruntime-web-{version}.tgz'

def with_runtime(web: Path, tgz: Path, dest: Path) -> Path:
    "A copy of the static mirror `web` running the runtime in `tgz`, its mirror.json listing the new files' sha256"
    out = Path(shutil.copytree(web, dest))
    cfg = json.loads((out/'mirror.json').read_text())
    with tarfile.open(tgz) as t:
        for n in RUNTIME:
            data = t.extractfile(f'package/dist/{n}').read()
            (out/n).write_bytes(data)
            cfg['files'][n] = hashlib.sha256(data).hexdigest()
    (out/'mirror.json').write_text(json.dumps(cfg, indent=2))
    return out

ANSWERS = '''async ([names, runs, all]) => {
    const blobs = await Promise.all(names.map(async n => (await fetch('__pictures__/' + n)).blob())), out = [], ts = [];
    for (const b of all ? blobs : []) { try { out.push(await window.mirror.answer(b)); } catch (e) { out.push({error: e.message}); } }
    for (let i = 0; i < runs; i++) { const t = performance.now(); await window.mirror.answer(blobs[i % blobs.length]); ts.push(performance.now() - t); }
    return [out, ts]; }'''

def answers(browser, web: Path, files: list, runs: int, all: bool = True) -> tuple:
    "The page's answers for `files` (none unless `all`), and the median seconds per picture over `runs` answers"
    pictures = {f'{i}': Path(f).read_bytes() for i, f in enumerate(files)}
    with serve_static(web) as url:
        page = browser.new_page()
        page.route('**/__pictures__/*', lambda r: r.fulfill(body=pictures[r.request.url.rsplit('/', 1)[1]]))
        page.goto(url)
        page.evaluate('window.mirror.ready')
        out, ts = page.evaluate(ANSWERS, [list(pictures), runs, all])
        page.close()
    return out, statistics.median(ts) / 1000

def live_rate(browser, web: Path, seconds: float) -> tuple:
    "Live mode's answers per second over `seconds`, once the camera answers, and its last answer"
    with serve_static(web) as url:
        page = browser.new_page()
        page.goto(url)
        page.evaluate('window.mirror.ready')
        page.evaluate("window.__answers = []; addEventListener('mirror:answer', e => window.__answers.push(e.detail))")
        page.locator('#live').click()
        while page.evaluate('window.__answers.length') < 3: time.sleep(0.1)
        n, t = page.evaluate('window.__answers.length'), time.perf_counter()
        time.sleep(seconds)
        got = page.evaluate('window.__answers')
        rate = (len(got) - n) / (time.perf_counter() - t)
        page.close()
    return rate, got[-1]

def compare(out: list, want: list) -> tuple:
    "(labels the same, pictures answered, the largest difference of a probability)"
    ok = [(o, w) for o, w in zip(out, want) if 'label' in o]
    return (sum(o['label'] == w['label'] for o, w in ok), len(ok),
            max(abs(o['confidences'][k] - p) for o, w in ok for k, p in w['confidences'].items()))

@call_parse
def main(
    photos: Path = ROOT.parent/'shared'/'photos',  # folders of real photos (else only the project's sample photos)
    runs: int = 30,  # timed answers per runtime (the median is shown)
    seconds: float = 5,  # how long live mode is counted, per runtime, camera and round
    rounds: int = 3,  # rounds of timing
    tarballs: Path = None,  # a folder holding onnxruntime-web-VERSION.tgz for both versions (else `npm pack`)
):
    from playwright.sync_api import sync_playwright
    web = ROOT/'web'
    files = sorted(f for d in (sample_photos(), photos) if d.exists() for f in d.rglob('*') if f.suffix.lower() in ('.jpg', '.jpeg', '.png', '.webp'))
    mirror = Mirror.load(web)
    want = [mirror.answer(f) for f in files]
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        webs = {v: with_runtime(web, runtime(v, tarballs, d), d/f'web-{v}') for v in VERSIONS}
        big = d/'720p.png'
        ImageOps.fit(Image.open(PHOTO).convert('RGB'), (1280, 720)).save(big)
        cams = {'400x276': fake_camera(PHOTO, d/'photo.y4m'), '1280x720': fake_camera(big, d/'720p.y4m')}
        row, times = {v: {} for v in VERSIONS}, {v: {k: [] for k in ('s', *cams)} for v in VERSIONS}
        with sync_playwright() as p:
            for r in range(rounds):
                for i, (cam, video) in enumerate(cams.items()):
                    b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS + camera_args(video))
                    for v in (VERSIONS if (r + i) % 2 == 0 else VERSIONS[::-1]):
                        if i == 0:
                            out, s = answers(b, webs[v], files if r == 0 else files[:runs], runs, all=r == 0)
                            times[v]['s'].append(s)
                            if r == 0: row[v]['same'] = compare(out, want)
                        rate, row[v][f'{cam} answer'] = live_rate(b, webs[v], seconds)
                        times[v][cam].append(rate)
                    b.close()
        for v in VERSIONS: row[v].update({k: statistics.median(ts) for k, ts in times[v].items()})
        size = {v: sum((webs[v]/n).stat().st_size for n in RUNTIME) / 1e6 for v in VERSIONS}
    a, b = VERSIONS
    print(f'{len(files)} photos; Chromium {CHROMIUM}, one thread, offline; medians of {rounds} rounds\n')
    print(f'| | {a} | {b} | {b} / {a} |\n|---|---:|---:|---:|')
    for name, f in [('labels the same as Python', lambda r: '{}/{}'.format(*r['same'][:2])),
                    ('largest probability difference', lambda r: f"{r['same'][2]:.5f}")]:
        print(f'| {name} | {f(row[a])} | {f(row[b])} | |')
    print(f"| ms per uploaded picture (p50 of {runs}) | {row[a]['s'] * 1e3:.1f} | {row[b]['s'] * 1e3:.1f} | {row[b]['s'] / row[a]['s']:.2f} |")
    for cam in cams:
        print(f'| live answers per second, camera {cam} | {row[a][cam]:.1f} | {row[b][cam]:.1f} | {row[b][cam] / row[a][cam]:.2f} |')
    print(f'| runtime on disk, MB | {size[a]:.1f} | {size[b]:.1f} | {size[b] / size[a]:.2f} |')
    up = mirror.answer(PHOTO)
    for v in VERSIONS:
        print(f"\n{v}: the photo uploaded: {up['label']} {up['confidences'][up['label']]:.4f} (Python); on camera: " +
              ', '.join(f"{cam} {row[v][f'{cam} answer']['label']} {row[v][f'{cam} answer']['confidences'][up['label']]:.4f}" for cam in cams))
