#!/usr/bin/env python3
"""How well does the mirror say "neither"? For each view of the real photos (`../shared/photos/make_view`), a quarter of
each label's photos is held back; the rest become a dataset (`build_dataset` on the folder), train a model, and are
exported with a threshold calibrated on the validation split. The held-back photos, never used for training nor
calibration, are then answered by the exported `Mirror`.
Usage: python bench/neither.py [--photos ../shared/photos] [--views mission waterfowl+neither] [--epochs 3]"""
import argparse, contextlib, io, os, shutil, subprocess, sys, tempfile, time
from pathlib import Path
from duckling_mirror.download import build_dataset, folder_search, folder_terms
from duckling_mirror.train import train
from duckling_mirror.export import export_mirror
from duckling_mirror.app import Mirror

def split_view(view_dir: Path, dest: Path, every: int = 4) -> list:
    "Move every `every`-th photo of each label out of `view_dir` (by name): the held-back test photos, as (path, label)"
    test = []
    for d in sorted(p for p in view_dir.iterdir() if p.is_dir()):
        for i, f in enumerate(sorted(d.iterdir())):
            if i % every == every // 2:
                (dest/d.name).mkdir(parents=True, exist_ok=True)
                shutil.move(str(f), dest/d.name/f.name)
                test.append((dest/d.name/f.name, d.name))
    return test

def evaluate(photos: Path, view: str, epochs: int, balance: bool) -> dict:
    tmp = Path(tempfile.mkdtemp())
    try:
        subprocess.run([sys.executable, photos/'make_view', view, tmp/'view', '--copy'], check=True, capture_output=True)
        test = split_view(tmp/'view', tmp/'test')
        t = time.perf_counter()
        build_dataset(folder_terms(tmp/'view'), tmp/'data', n=10**6, search=folder_search(tmp/'view'), schemes=('file',), progress=False)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            learn = train(tmp/'data', epochs=epochs, balance=balance)
        mirror = Mirror.load(export_mirror(learn, tmp/'app'))
        secs = time.perf_counter() - t
        answers = [(mirror.answer(f)[0], label) for f, label in test]
    finally: shutil.rmtree(tmp)
    real = [(a, l) for a, l in answers if l != 'neither']
    nei = [(a, l) for a, l in answers if l == 'neither']
    return dict(view=view, balance=balance, train=len(learn.dls.train_ds) + len(learn.dls.valid_ds), test=len(answers),
                threshold=mirror.cfg['threshold'], neither_recall=sum(a == 'neither' for a, _ in nei) / max(1, len(nei)),
                false_neither=sum(a == 'neither' for a, _ in real) / max(1, len(real)),
                real_right=sum(a == l for a, l in real) / max(1, len(real)), n_real=len(real), n_neither=len(nei), secs=secs)

def main(photos: Path, views: list, epochs: int, compare: bool):
    rows = [evaluate(photos, v, epochs, b) for v in views for b in ([False, True] if compare else [True])]
    print(f'\n{"view":20}{"balanced":>9}{"train":>7}{"test":>6}{"threshold":>10}{"neither→neither":>17}{"real→neither":>14}{"real right":>12}{"secs":>7}')
    for r in rows:
        print(f'{r["view"]:20}{str(r["balance"]):>9}{r["train"]:7d}{r["test"]:6d}{r["threshold"]:10.2f}'
              f'{r["neither_recall"]:11.0%} of {r["n_neither"]:<3d}{r["false_neither"]:8.0%} of {r["n_real"]:<3d}{r["real_right"]:12.0%}{r["secs"]:7.0f}')
    print('goals: neither→neither >= 90%, real→neither <= 5%')

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--photos', type=Path, default=Path(__file__).resolve().parent.parent.parent/'shared'/'photos')
    p.add_argument('--views', nargs='+', default=['mission', 'waterfowl+neither'])
    p.add_argument('--epochs', type=int, default=3)
    p.add_argument('--compare', action='store_true', help='also train without class weights')
    a = p.parse_args()
    main(a.photos, a.views, a.epochs, a.compare)
