#!/usr/bin/env python3
"""Benchmark: one picture through fastai's `learn.predict` (a DataLoader per call), through `Mirror.predict` (PIL and
torch only), and through the bare model (a tensor already prepared); a batch of 32 through each; and the app's answer
through `gradio_client`. Same model, same photos, one run. Prints a table and the ratios.
Usage: python bench/predict.py [--photos ../shared/photos] [--runs 30]"""
import argparse, contextlib, io, os, statistics, subprocess, sys, tempfile, time, shutil
from pathlib import Path
import torch
from gradio_client import Client, handle_file
from duckling_mirror.download import build_dataset, folder_search, folder_terms
from duckling_mirror.train import train
from duckling_mirror.export import export_mirror
from duckling_mirror.app import Mirror, open_image

ROOT = Path(__file__).resolve().parent.parent

def p50(f, runs: int) -> float:
    "Median seconds of `f()` over `runs` calls, after one warm-up call"
    f()
    ts = []
    for _ in range(runs):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return statistics.median(ts)

def start_app(app_dir: Path):
    sys.path.insert(0, str(ROOT/'tests'))
    from test_e2e import start_app as start
    return start(app_dir)

def main(photos: Path, runs: int):
    tmp = Path(tempfile.mkdtemp())
    try:
        subprocess.run([sys.executable, photos/'make_view', 'waterfowl', tmp/'view'], check=True, capture_output=True)
        build_dataset(folder_terms(tmp/'view'), tmp/'data', n=10**6, search=folder_search(tmp/'view'), schemes=('file',), progress=False)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            learn = train(tmp/'data', epochs=1)
        app = export_mirror(learn, tmp/'app')
        shutil.copy(ROOT/'app'/'app.py', app/'app.py')
        mirror, files = Mirror.load(app), [Path(o) for o in learn.dls.valid_ds.items][:32]
        f, model = files[0], mirror.model
        x1, x32 = mirror.preprocess(open_image(f))[None], torch.stack([mirror.preprocess(open_image(o)) for o in files])
        learn.model.eval()
        def bare(x):
            with torch.inference_mode(): return model(x).softmax(1)
        with learn.no_bar():
            single = dict(learn_predict=p50(lambda: learn.predict(f), runs), mirror_path=p50(lambda: mirror.predict(f), runs),
                          mirror_pil=p50(lambda: mirror.predict(open_image(f)), runs), bare=p50(lambda: bare(x1), runs))
            batch = dict(learn_predict=p50(lambda: learn.get_preds(dl=learn.dls.test_dl(files)), 5),
                         mirror_path=p50(lambda: mirror.predict_batch(files), 5), bare=p50(lambda: bare(x32), 5))
        proc, client = start_app(app)
        try: single['app'] = p50(lambda: client.predict(handle_file(str(f)), api_name='/predict'), runs)
        finally: proc.terminate(); proc.wait(10)
    finally: shutil.rmtree(tmp)
    print(f'\nEfficientNet-Lite0 at {mirror.size} px, torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs; '
          f'p50 of {runs} runs (batch: of 5)')
    print(f'{"":36}{"1 picture ms":>14}{"32 pictures/s":>15}')
    names = dict(learn_predict='learn.predict / get_preds (fastai)', mirror_path='Mirror.predict(path)',
                 mirror_pil='Mirror.predict(PIL image)', bare='bare model forward (tensor ready)', app='app through gradio_client')
    for k, n in names.items():
        b = f'{32 / batch[k]:15.0f}' if k in batch else f'{"":>15}'
        print(f'{n:36}{single[k] * 1000:14.1f}{b}')
    print(f'learn.predict / Mirror.predict: {single["learn_predict"] / single["mirror_path"]:.1f}x (goal >= 3x)   '
          f'Mirror.predict / bare forward: {single["mirror_path"] / single["bare"]:.2f}x (goal <= 1.3x)')

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--photos', type=Path, default=ROOT.parent/'shared'/'photos')
    p.add_argument('--runs', type=int, default=30)
    a = p.parse_args()
    main(a.photos, a.runs)
