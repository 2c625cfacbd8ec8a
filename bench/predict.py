#!/usr/bin/env python3
"""How fast does the mirror answer? One model (EfficientNet-Lite0, one epoch on the waterfowl photos), in one run:
fastai's `learn.predict` (a DataLoader per call), the bare PyTorch forward (a tensor already prepared), `Mirror.predict`
(ONNX Runtime, from the file), ONNX Runtime's bare forward, the same for a batch of 32, a 108 MP phone JPEG, the app's
answer through `gradio_client` and Gradio's own floor (an app with the same input that answers a constant), the app's
start-up time, the size on disk of the Space's environment against the one the app needed before (fastai, torch,
timm); and the static mirror in headless Chromium, offline (navigation to the first possible answer, p50 per picture
with decoding, on one thread and on the threads of a cross-origin isolated page, and with fp16 weights; the static Space's size on disk).
Prints a table and the ratios the goals are about.
Usage: python bench/predict.py [--photos ../shared/photos] [--runs 30] [--no-envs]"""
from __future__ import annotations
import hashlib, io, json, os, resource, shutil, statistics, subprocess, sys, tempfile, time, warnings
from pathlib import Path
import numpy as np
import torch
from PIL import Image
from fastcore.script import call_parse
from gradio_client import Client, handle_file
from duckling_mirror.download import build_dataset, folder_search, folder_terms
from duckling_mirror.train import train
from duckling_mirror.export import export_mirror
from duckling_mirror.mirror import Mirror, open_image
from duckling_mirror.testing import sample_photos
from duckling_mirror.web import serve_static

warnings.filterwarnings('ignore')
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'tests'))
from conftest import free_port

FLOOR_APP = '''
import gradio as gr
from mirror import MAX_FILE_SIZE, picture_input
gr.Interface(lambda img: ({'duck': 1.0}, 'A constant.'), picture_input(label='Your picture'),
             [gr.Label(num_top_classes=3, label='The mirror sees'), gr.Textbox(label='The mirror says')],
             flagging_mode='never', api_name='predict').launch(max_file_size=MAX_FILE_SIZE)
'''

def p50(f, runs: int) -> float:
    "Median seconds of `f()` over `runs` calls, after one warm-up call"
    f()
    ts = []
    for _ in range(runs):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return statistics.median(ts)

def serve(app_dir: Path, script: str = 'app.py', python: str = sys.executable):
    "Start `script` in `app_dir` as a Space does; the process, a client, and the seconds until it answered"
    port, t = free_port(), time.perf_counter()
    env = {**os.environ, 'GRADIO_SERVER_PORT': str(port), 'GRADIO_SERVER_NAME': '127.0.0.1', 'GRADIO_ANALYTICS_ENABLED': 'False'}
    proc = subprocess.Popen([python, script], cwd=app_dir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    while True:
        try: return proc, Client(f'http://127.0.0.1:{port}/', verbose=False), time.perf_counter() - t
        except Exception:
            if proc.poll() is not None or time.perf_counter() - t > 180: raise RuntimeError(f'{script} did not start')
            time.sleep(0.05)

def phone_photo(src: Path, dest: Path, size=(12000, 9000)) -> Path:
    "A 108 MP JPEG, as a phone takes them (a photo scaled up)"
    Image.open(src).convert('RGB').resize(size).save(dest, 'JPEG', quality=85)
    return dest

def big_photo_cost(app: Path, f: Path, how: str) -> tuple:
    "Seconds and extra memory (MB) to answer the picture `f` in a fresh process: `how` is 'mirror' or 'pil' (decode all of it)"
    code = f'''
import resource, time, warnings; warnings.filterwarnings('ignore')
from PIL import Image
from duckling_mirror.mirror import Mirror
m = Mirror.load({str(app)!r}); m.answer({str(sample_photos()/'duck'/'duck_001.jpg')!r})
r0, t = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter()
if {how!r} == 'mirror': m.answer({str(f)!r})
else: Image.MAX_IMAGE_PIXELS = None; Image.open({str(f)!r}).convert('RGB')
print(time.perf_counter() - t, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - r0) / 1024)
'''
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout.split()
    return float(out[-2]), float(out[-1])

CHROMIUM, ARGS = '/usr/bin/chromium', ['--no-sandbox', '--disable-gpu', '--disable-background-networking']
ISOLATED = {'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp'}  # a static Space's custom_headers

def half(web: Path) -> Path:
    "A copy of the static mirror in `web` whose model keeps its weights in fp16 (half the download)"
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16
    out = Path(shutil.copytree(web, web.parent/'web-fp16'))
    onnx.save(convert_float_to_float16(onnx.load(web/'model.onnx'), keep_io_types=True), out/'model.onnx')
    cfg = json.loads((out/'mirror.json').read_text())
    cfg['files']['model.onnx'] = hashlib.sha256((out/'model.onnx').read_bytes()).hexdigest()
    (out/'mirror.json').write_text(json.dumps(cfg))
    return out

def browser_cost(web: Path, files: list, runs: int, isolated: bool = False) -> tuple:
    "The static mirror in `web` in headless Chromium: seconds from navigation to ready, median seconds per picture (decoding included)"
    from playwright.sync_api import sync_playwright
    pictures = {f'{i}': Path(f).read_bytes() for i, f in enumerate(files)}
    with serve_static(web, ISOLATED if isolated else None) as url, sync_playwright() as p:  # isolated: the worker runs threads
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.route('**/__pictures__/*', lambda r: r.fulfill(body=pictures[r.request.url.rsplit('/', 1)[1]]))
        page.goto(url)
        ready = page.evaluate('window.mirror.ready.then(() => performance.now() / 1000)')
        assert page.evaluate('crossOriginIsolated') == isolated
        times = page.evaluate('''async ([names, runs]) => {
            const blobs = await Promise.all(names.map(async n => (await fetch('__pictures__/' + n)).blob())), ts = [];
            await window.mirror.answer(blobs[0]);
            for (let i = 0; i < runs; i++) { const t = performance.now(); await window.mirror.answer(blobs[i % blobs.length]); ts.push(performance.now() - t); }
            return ts; }''', [list(pictures), runs])
        browser.close()
    return ready, statistics.median(times) / 1000

def env_size(d: Path, *reqs) -> float:
    "GB on disk of a fresh virtual environment in `d` with `reqs` installed"
    subprocess.run([sys.executable, '-m', 'venv', d], check=True)
    subprocess.run([d/'bin'/'python', '-m', 'pip', 'install', '-q', '--disable-pip-version-check', *map(str, reqs)], check=True,
                   capture_output=True)
    return sum(f.stat().st_size for f in d.rglob('*') if f.is_file() and not f.is_symlink()) / 1e9

def waterfowl(photos: Path, dest: Path) -> Path:
    "The adult ducks and swans of `photos` (or of the sample photos, without `make_view`) as one folder per label"
    if (photos/'make_view').exists(): subprocess.run([sys.executable, photos/'make_view', 'waterfowl', dest], check=True, capture_output=True)
    else:
        for c in ('duck', 'swan'): shutil.copytree(sample_photos()/c, dest/c)
    return dest

@call_parse
def main(
    photos: Path = ROOT.parent/'shared'/'photos',  # folders of real photos, with `make_view` (else the sample photos)
    runs: int = 30,  # calls per single-picture figure (the median is shown)
    envs: bool = True,  # also build both environments and measure them on disk (a few minutes)
):
    "Time the mirror's answers, the app's and Gradio's floor, and size the Space's environment"
    tmp = Path(tempfile.mkdtemp())
    try:
        view = waterfowl(Path(photos), tmp/'view')
        build_dataset(folder_terms(view), tmp/'data', n=10**6, search=folder_search(view), schemes=('file',), progress=False)
        learn = train(tmp/'data', epochs=1, quiet=True)
        app = export_mirror(learn, tmp/'app')
        mirror, files = Mirror.load(app), [Path(o) for o in learn.dls.valid_ds.items][:32]
        files = (files * 32)[:32]
        f, model = files[0], learn.model.eval()
        x1 = np.stack([mirror.preprocess(open_image(f))])
        x32 = np.stack([mirror.preprocess(open_image(o)) for o in files])
        def torch_forward(x):
            with torch.inference_mode(): return model(torch.from_numpy(x)).softmax(1)
        run = lambda x: mirror.session.run(None, {'x': x})
        with learn.no_bar():
            one = dict(learn=p50(lambda: learn.predict(f), runs), torch=p50(lambda: torch_forward(x1), runs),
                       mirror=p50(lambda: mirror.predict(f), runs), ort=p50(lambda: run(x1), runs))
            many = dict(learn=p50(lambda: learn.get_preds(dl=learn.dls.test_dl(files)), 5), torch=p50(lambda: torch_forward(x32), 5),
                        mirror=p50(lambda: mirror.predict_batch(files), 5), ort=p50(lambda: run(x32), 5))
        big = phone_photo(sample_photos()/'duck'/'duck_001.jpg', tmp/'phone.jpg')
        big_mirror, big_pil = big_photo_cost(app, big, 'mirror'), big_photo_cost(app, big, 'pil')
        (app/'floor.py').write_text(FLOOR_APP)
        apps = {}
        for name, script in (('app', 'app.py'), ('floor', 'floor.py')):
            proc, client, started = serve(app, script)
            try: apps[name] = (p50(lambda: client.predict(handle_file(str(f)), api_name='/predict'), runs), started)
            finally: proc.terminate(); proc.wait(10)
        web = app.parent/'web'
        web_mb = sum(f.stat().st_size for f in web.rglob('*') if f.is_file()) / 2**20
        browser = {n: browser_cost(web, [f], runs, n == 2) for n in (1, 2)} if Path(CHROMIUM).exists() else {}
        if browser:
            fp16 = half(web)
            browser['fp16'] = browser_cost(fp16, [f], runs)
            m16 = Mirror.load(fp16)
            fp16_diff = max(abs(np.array(list(a.values())) - list(b.values())).max() for a, b in zip(mirror.predict_batch(files), m16.predict_batch(files)))
            fp16_mb = (fp16/'model.onnx').stat().st_size / 2**20
        sizes = {}
        if envs:
            import gradio; gr = f'gradio=={gradio.__version__}'
            sizes['space'] = env_size(tmp/'env_space', '-r', app/'requirements.txt', gr)
            sizes['before'] = env_size(tmp/'env_before', 'fastai==2.8.12', 'timm==1.0.31', 'safetensors==0.8.0',
                                       'torch==2.14.1', 'torchvision==0.29.1', gr)
    finally: shutil.rmtree(tmp)
    import onnxruntime
    print(f'\n# bench/predict.py: EfficientNet-Lite0 at {mirror.size} px; torch {torch.__version__} ({torch.get_num_threads()} threads), '
          f'onnxruntime {onnxruntime.__version__} ({mirror.session.get_session_options().intra_op_num_threads} threads), '
          f'{os.cpu_count()} CPUs; median of {runs} calls (batches: of 5)\n')
    print('| | 1 picture, ms | 32 pictures/s |\n|---|---:|---:|')
    names = dict(learn='`learn.predict` / `get_preds` (fastai)', torch='PyTorch forward (tensor ready)',
                 mirror='`Mirror.predict(path)` (ONNX Runtime)', ort='ONNX Runtime forward (array ready)')
    for k, n in names.items(): print(f'| {n} | {one[k] * 1000:.1f} | {32 / many[k]:.0f} |')
    print(f'| the app, through `gradio_client` | {apps["app"][0] * 1000:.1f} | |')
    print(f'| Gradio\'s floor: same input, constant answer | {apps["floor"][0] * 1000:.1f} | |')
    if browser:
        print(f'| the static mirror in Chromium, 1 thread (decoding included) | {browser[1][1] * 1000:.1f} | |')
        print(f'| the same, cross-origin isolated page (COOP + COEP headers): {min(4, os.cpu_count())} threads | {browser[2][1] * 1000:.1f} | |')
        print(f'| the same, 1 thread, fp16 weights ({fp16_mb:.1f} MB; probabilities up to {fp16_diff:.4f} apart) | {browser["fp16"][1] * 1000:.1f} | |')
    print(f'\n108 MP phone JPEG (12000x9000): `Mirror.answer` {big_mirror[0]:.2f} s, +{big_mirror[1]:.0f} MB; '
          f'decoded whole by PIL (as `learn.predict` does) {big_pil[0]:.2f} s, +{big_pil[1]:.0f} MB')
    print(f'App start-up to first answer possible: {apps["app"][1]:.1f} s (Gradio floor app: {apps["floor"][1]:.1f} s)')
    if browser:
        print(f'Static mirror: navigation to first possible answer {browser[1][0]:.2f} s (goal < 3 s); '
              f'p50 {browser[1][1] * 1000:.1f} ms against the app\'s {apps["app"][0] * 1000:.1f} ms: {apps["app"][0] / browser[1][1]:.1f}x faster '
              f'(goal: below the app); isolated (threads) / 1 thread: {browser[2][1] / browser[1][1]:.2f}x; static Space on disk {web_mb:.1f} MB (goal <= 40 MB)')
    if sizes: print(f'Space environment on disk: {sizes["space"]:.2f} GB (onnxruntime, numpy, pillow, gradio); before: '
                    f'{sizes["before"]:.2f} GB (fastai, torch, timm, safetensors, gradio): {sizes["before"] / sizes["space"]:.1f}x smaller (goal >= 5x)')
    print(f'\nlearn.predict / Mirror.predict: {one["learn"] / one["mirror"]:.1f}x (goal >= 3x); '
          f'Mirror.predict / PyTorch forward: {one["mirror"] / one["torch"]:.2f}x (goal < 1); '
          f'app / Gradio floor: {apps["app"][0] / apps["floor"][0]:.2f}x (goal <= 1.2x); '
          f'108 MP JPEG: {big_mirror[0]:.2f} s (goal < 1 s)')
