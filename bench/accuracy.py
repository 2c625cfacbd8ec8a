#!/usr/bin/env python3
"""How often is the mirror right? Each recipe is trained and tested by the same repeated, stratified, grouped k-fold
cross-validation (`duckling_mirror.evaluate`) on views of the real photos in `../shared/photos` (`make_view`), in one run.

Recipes: `seed` (the original tutorial: full-size downloads, `RandomResizedCrop(256, min_scale=0.8)`, `aug_transforms()`,
bs 64, lr 2e-3, `fine_tune(5)`), `fastai` (the plain fastai way on pictures resized at ingest: `Resize(224)`,
`aug_transforms()`, bs 16, lr 2e-3, `fine_tune(5)`), `defaults` (`train()` as it is), or `train()` with some arguments
changed, written `key=value,key=value` (e.g. `lr=1e-2,bs=32`); a `+tta` suffix adds test-time augmentation.

Printed per view and recipe: error (mean ± standard deviation over folds), recall per label, for views with `neither`:
its recall and the share of real labels' pictures answered `neither` (false neither), both by the likeliest label
and with the threshold `calibrate_neither` sets (cross-fitted: calibrated on the other folds' pictures); the expected
calibration error before and after temperature scaling (cross-fitted too); pictures answered wrongly with >= 90% stated
confidence; and seconds per training and per epoch.
Usage: python bench/accuracy.py [--views waterfowl mission] [--recipes seed fastai defaults] [--folds 5] [--repeats 2]"""
from __future__ import annotations
import json, os, shutil, subprocess, sys, tempfile, time, warnings
from pathlib import Path
from urllib.parse import unquote, urlparse
import numpy as np
from fastcore.parallel import parallel
from typing import Annotated
from fastcore.script import call_parse
from fastai.vision.all import (DataBlock, ImageBlock, CategoryBlock, Resize, RandomResizedCrop, aug_transforms,
    vision_learner, error_rate, parent_label, set_seed, L)
from duckling_mirror.dataset import read_manifest
from duckling_mirror.download import build_dataset, folder_search, folder_terms
from duckling_mirror.train import train, dataset_files, efficientnet_lite0
from duckling_mirror.evaluate import (CrossValidation, answers, calibrate_neither, calibration_error, cv_splits,
                                      fit_temperature, fold_logits, photo_groups)

warnings.filterwarnings('ignore')
VIEWS = ['waterfowl', 'waterfowl+neither', 'mission']

def plain_learner(path, splitter, items, item_tfms, bs: int, epochs: int = 5, seed: int = 42, quiet: bool = True,
                  num_workers: int = 0, arch=efficientnet_lite0):
    "The straightforward fastai way: a `DataBlock`, `vision_learner`, `fine_tune` at fastai's default learning rate"
    set_seed(seed, reproducible=True)
    dls = DataBlock(blocks=(ImageBlock, CategoryBlock), get_items=lambda _: L(items), get_y=parent_label, splitter=splitter,
                    item_tfms=item_tfms, batch_tfms=aug_transforms()).dataloaders(path, bs=bs, num_workers=num_workers)
    learn = vision_learner(dls, arch, metrics=error_rate)
    with learn.no_bar(), learn.no_logging(): learn.fine_tune(epochs)
    return learn

def originals(path: Path) -> list:
    "The full-size photo each picture of the dataset was made from (the manifest's `file://` URL), in `dataset_files` order"
    src = {r.file: Path(unquote(urlparse(r.image).path)) for r in read_manifest(path).itertuples()}
    return [src[str(f.relative_to(path))] for f in dataset_files(path)]

def seed_learner(path, splitter, **kwargs):
    "The original tutorial's recipe: full-size photos, cropped anew every epoch, bs 64"
    return plain_learner(path, splitter, originals(path), RandomResizedCrop(256, min_scale=0.8), bs=64, **kwargs)

def fastai_learner(path, splitter, **kwargs):
    "The plain fastai recipe on pictures resized once at ingest"
    return plain_learner(path, splitter, dataset_files(path), Resize(224), bs=16, **kwargs)

def parse_recipe(name: str) -> tuple:
    "`name` as (learner, its keyword arguments, tta)"
    tta = name.endswith('+tta')
    base = name.removesuffix('+tta')
    if base == 'seed': return seed_learner, {}, tta
    if base == 'fastai': return fastai_learner, {}, tta
    if base == 'defaults': return train, {}, tta
    kw = dict(kv.split('=', 1) for kv in base.split(','))
    return train, {k: (None if v == 'None' else v if v.isalpha() else json.loads(v) if v[0] in '[{' else float(v) if any(c in v for c in '.e') else int(v))
                   for k, v in kw.items()}, tta

def epochs_of(name: str) -> int:
    "Epochs trained, counting the frozen one(s)"
    learner, kw, _ = parse_recipe(name)
    if learner is not train: return 6
    import inspect
    d = {k: p.default for k, p in inspect.signature(train).parameters.items()}
    return kw.get('epochs', d['epochs']) + kw.get('freeze_epochs', d['freeze_epochs'])

def make_dataset(photos: Path, view: str, dest: Path) -> Path:
    "The view's photos as one folder per label (copies), and the dataset `build_dataset` makes of them (400 px)"
    subprocess.run([sys.executable, photos/'make_view', view, dest/'full', '--copy'], check=True, capture_output=True)
    build_dataset(folder_terms(dest/'full'), dest/'data', n=10**6, search=folder_search(dest/'full'), schemes=('file',), progress=False)
    return dest/'data'

def run_fold(task: tuple, threads: int = 1, num_workers: int = 0):
    "One training of one recipe on one fold of one view"
    path, recipe, test = task
    learner, kw, tta = parse_recipe(recipe)
    return fold_logits(path, test, learner=learner, tta=tta, threads=threads, num_workers=num_workers, **kw)

def cross_fitted(cv: CrossValidation, neither: str = 'neither', max_false_neither: float = 0.03) -> dict:
    "Temperature and threshold fitted on the other folds' pictures and applied to each fold: honest out-of-fold figures"
    probs1, probsT, ans, thresholds, temps = [], [], [], [], []
    for r in range(len(cv.folds)):
        for k in np.unique(cv.folds[r]):
            test, fit = cv.folds[r] == k, cv.folds[r] != k
            T = fit_temperature(cv.logits[r][fit], cv.targets[fit])
            pT = cv.probs(T)[r]
            cal = calibrate_neither(pT[fit], cv.targets[fit], cv.vocab, max_false_neither, neither) if neither in cv.vocab else dict(threshold=0.)
            probs1.append(cv.probs()[r][test]); probsT.append(pT[test]); temps.append(T); thresholds.append(cal['threshold'])
            ans.append((answers(pT[test], cv.vocab, cal['threshold'], neither), cv.targets[test]))
    return dict(probs1=probs1, probsT=probsT, answers=ans, temperature=float(np.mean(temps)), threshold=float(np.mean(thresholds)))

def neither_rates(pred: np.ndarray, actual: np.ndarray, neither: str = 'neither') -> tuple:
    "Recall of `neither`, and the share of the real labels' pictures answered `neither`"
    nei, real = actual == neither, actual != neither
    return (pred[nei] == neither).mean() if nei.any() else np.nan, (pred[real] == neither).mean() if real.any() else np.nan

def summarize(cv: CrossValidation, recipe: str) -> dict:
    "The figures of one recipe on one view"
    vocab, neither = np.array(cv.vocab, dtype=object), 'neither'
    e = cv.fold_errors()
    actual = np.tile(vocab[cv.targets], len(cv.logits))
    argmax = vocab[cv.logits.argmax(-1)].ravel()
    cf = cross_fitted(cv)
    pred_t = np.concatenate([a for a, _ in cf['answers']])
    act_t = vocab[np.concatenate([t for _, t in cf['answers']])]
    targ = np.concatenate([t for _, t in cf['answers']])
    p1, pT = np.concatenate(cf['probs1']), np.concatenate(cf['probsT'])
    sure_wrong = lambda p: float(((p.max(-1) >= 0.9) & (p.argmax(-1) != targ)).mean())
    nr, fn = neither_rates(argmax, actual)
    nrt, fnt = neither_rates(pred_t, act_t)
    return dict(recipe=recipe, error=float(e.mean()), error_sd=float(e.std()), recall=cv.recall().to_dict(),
                neither_recall=nr, false_neither=fn, neither_recall_t=nrt, false_neither_t=fnt,
                threshold=cf['threshold'], temperature=cf['temperature'],
                ece=calibration_error(p1, targ), ece_t=calibration_error(pT, targ),
                sure_wrong=sure_wrong(p1), sure_wrong_t=sure_wrong(pT),
                secs=float(np.mean(cv.secs)), secs_epoch=float(np.mean(cv.secs)) / epochs_of(recipe), n=len(cv.files),
                trainings=len(e))

def pct(x) -> str: return '' if x is None or np.isnan(x) else f'{x:.1%}'

def print_table(view: str, rows: list, cv: CrossValidation, folds: int, repeats: int):
    print(f'\n## {view}: {rows[0]["n"]} pictures; {folds}-fold x {repeats} ({rows[0]["trainings"]} trainings per recipe)')
    has_neither = 'neither' in cv.vocab
    cols = ['recipe', 'error', 'recall'] + (['neither recall', 'false neither', 'neither recall (t)', 'false neither (t)']
                                            if has_neither else []) + ['ECE', 'ECE (T)', 'sure & wrong (T)', 's/training', 's/epoch']
    print('| ' + ' | '.join(cols) + ' |')
    print('|' + '---|' * len(cols))
    for r in rows:
        rec = ' '.join(f'{k} {v:.0%}' for k, v in r['recall'].items())
        vals = [r['recipe'], f'{r["error"]:.1%} ± {r["error_sd"]:.1%}', rec]
        if has_neither: vals += [pct(r['neither_recall']), pct(r['false_neither']), pct(r['neither_recall_t']), pct(r['false_neither_t'])]
        vals += [f'{r["ece"]:.3f}', f'{r["ece_t"]:.3f}', pct(r['sure_wrong_t']), f'{r["secs"]:.0f}', f'{r["secs_epoch"]:.1f}']
        print('| ' + ' | '.join(vals) + ' |')
    sys.stdout.flush()

@call_parse
def main(
    photos: Path = Path(__file__).resolve().parent.parent.parent/'shared'/'photos',  # folders of real photos, with `make_view`
    views: Annotated[str, 'views of the photos (see `make_view`)', {'nargs': '+'}] = VIEWS,
    recipes: Annotated[str, 'recipes to compare (see above)', {'nargs': '+'}] = ['seed', 'fastai', 'defaults'],
    folds: int = 5,  # k
    repeats: int = 2,  # k-fold cross-validations, each dealt anew
    workers: int = 0,  # trainings at once in separate processes (0: one after the other in this process)
    num_workers: int = 0,  # DataLoader processes per training
    out: Path = None,  # save every out-of-fold logit here (JSON), for later analysis
):
    "Cross-validate each recipe on each view; print the tables"
    photos, tmp = Path(photos), Path(tempfile.mkdtemp())
    try:
        paths = {v: make_dataset(photos, v, tmp/v.replace('+', '_')) for v in views}
        splits = {v: cv_splits([parent_label(o) for o in dataset_files(p)], photo_groups(p), folds, repeats) for v, p in paths.items()}
        tasks = [(paths[v], r, s) for v in views for r in recipes for s in splits[v]]
        t = time.perf_counter()
        threads = max(1, (os.cpu_count() or 2) // max(1, workers))
        if workers: res = parallel(run_fold, tasks, n_workers=workers, threads=threads, num_workers=num_workers, method='spawn', progress=False)
        else: res = [run_fold(task, threads=0, num_workers=num_workers) for task in tasks]
        import torch
        dev = f'GPU {torch.cuda.get_device_name()}' if torch.cuda.is_available() else f'CPU ({os.cpu_count()} cores)'
        print(f'# bench/accuracy.py: {len(tasks)} trainings in {time.perf_counter() - t:.0f} s on {dev}, {workers or 1} at a time')
        saved, i = {}, 0
        for v in views:
            files = dataset_files(paths[v])
            rows = []
            for r in recipes:
                part = res[i:i + len(splits[v])]; i += len(splits[v])
                vocab = part[0][1]
                logits, fold_of = np.zeros((repeats, len(files), len(vocab)), dtype=np.float32), np.zeros((repeats, len(files)), dtype=int)
                for j, (s, (lg, _, _)) in enumerate(zip(splits[v], part)): logits[j // folds, s], fold_of[j // folds, s] = lg, j % folds
                labels = [parent_label(o) for o in files]
                cv = CrossValidation(files, vocab, np.array([vocab.index(l) for l in labels]), logits, fold_of, [p[2] for p in part])
                rows.append(summarize(cv, r))
                saved[f'{v}|{r}'] = dict(vocab=vocab, files=[str(f.relative_to(paths[v])) for f in files], targets=cv.targets.tolist(),
                                        logits=logits.tolist(), folds=fold_of.tolist(), secs=cv.secs, summary=rows[-1])
            print_table(v, rows, cv, folds, repeats)
        if out: Path(out).write_text(json.dumps(saved, default=float))
    finally: shutil.rmtree(tmp)
