#!/usr/bin/env python3
"""How often is the mirror right? Each recipe is trained and tested by the same repeated, stratified, grouped k-fold
cross-validation (`duckling_mirror.evaluate`) on views of the real photos in `../shared/photos` (`make_view`), in one run.

Recipes (`--recipes`): `lite0`, `lite2`, `lite0+lite2` (a head on the frozen features of EfficientNet-Lite0, -Lite2 or
both: `train(recipe='head')`), `fine_tune` (`train(recipe='fine_tune')`: the fine-tuning defaults), `fastai` (the plain
fastai way on pictures resized at ingest: `Resize(224)`, `aug_transforms()`, bs 16, lr 2e-3, `fine_tune(5)`), `seed`
(the original tutorial: full-size downloads, `RandomResizedCrop(256, min_scale=0.8)`, bs 64, lr 2e-3, `fine_tune(5)`),
each optionally followed by `train()` arguments written `,key=value` (e.g. `lite0,C=0.1`, `lite0,oddness=None`,
`fine_tune,lr=3e-2`); a `+tta` suffix adds test-time augmentation. `auto` is the recipe `choose_recipe` picks among
the heads on those same folds (its row is the chosen one's, which choosing among three flatters a little).

Printed per view and recipe: error (mean ± standard deviation over folds); recall of the young birds (the mission's
duckling and cygnet pictures answered with their own label); for views with `neither`, its recall and the share of
the real labels' pictures answered `neither` (false neither); answers wrong with >= 90% stated confidence; the
expected calibration error (ECE) before and after temperature scaling; seconds per training. Answers, confidences and
"neither" are the mirror's own: temperature and threshold fitted on the other folds (cross-fitted), as `calibrate` does.

`--oddness` adds the odd and off-topic test: a mirror trained on a view that lacks some categories (adult ducks and
swans only; the mission without the `other` photos) is asked, through `Mirror.answer` as the app asks it, about the
photos of the categories it never saw and about synthetic pictures (noise, flat colours, text, a gradient), with and
without oddness; and the committed mirror (`app/`, or `--before` another exported mirror) about the synthetic ones.

Usage: python bench/accuracy.py [--views waterfowl mission] [--recipes lite0 lite2 fine_tune] [--folds 5] [--repeats 1] [--oddness]"""
from __future__ import annotations
import json, os, shutil, subprocess, sys, tempfile, time, warnings
from pathlib import Path
from typing import Annotated
from urllib.parse import unquote, urlparse
import numpy as np
from fastcore.script import call_parse
from fastai.vision.all import (DataBlock, ImageBlock, CategoryBlock, Resize, RandomResizedCrop, aug_transforms,
    vision_learner, error_rate, parent_label, set_seed, L)
from PIL import Image, ImageDraw
from duckling_mirror.dataset import read_manifest
from duckling_mirror.download import build_dataset, folder_search, folder_terms
from duckling_mirror.features import efficientnet_lite0
from duckling_mirror.train import train, dataset_files, photo_groups
from duckling_mirror.evaluate import (CrossValidation, answers, calibrate_neither, calibration_error, choose_recipe,
    cross_validate, cv_splits, fit_temperature, fold_logits)

warnings.filterwarnings('ignore')
VIEWS = ['waterfowl', 'waterfowl+neither', 'mission']
ALIASES = {'lite0': dict(recipe='head', arch='efficientnet_lite0'), 'lite2': dict(recipe='head', arch='efficientnet_lite2'),
           'lite0+lite2': dict(recipe='head', arch='efficientnet_lite0+efficientnet_lite2'), 'fine_tune': dict(recipe='fine_tune')}
YOUNG = ('duckling', 'cygnet')

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

def value(v: str):
    "A `key=value` argument's value: None, a number, a list, or text"
    if v == 'None': return None
    try: return json.loads(v)
    except ValueError: return v

def parse_recipe(name: str) -> tuple:
    "`name` as (learner, its keyword arguments, tta)"
    tta, base = name.endswith('+tta'), name.removesuffix('+tta')
    head, *rest = base.split(',')
    kw = {k: value(v) for k, v in (kv.split('=', 1) for kv in rest)}
    if head == 'seed': return seed_learner, kw, tta
    if head == 'fastai': return fastai_learner, kw, tta
    return train, {**ALIASES[head], **kw}, tta

def make_dataset(photos: Path, view: str, dest: Path, drop: tuple = ()) -> Path:
    "The view's photos as one folder per label (copies; without the categories in `drop`), and the dataset of them (400 px)"
    subprocess.run([sys.executable, photos/'make_view', view, dest/'full', '--copy'], check=True, capture_output=True)
    for f in (dest/'full').glob('*/*'):
        if any(f.name.startswith(c + '_') for c in drop): f.unlink()
    build_dataset(folder_terms(dest/'full'), dest/'data', n=10**6, search=folder_search(dest/'full'), schemes=('file',), progress=False)
    return dest/'data'

def categories(path: Path) -> np.ndarray:
    "The category of each picture of the dataset (`duck`, `other_bird`...), from its original file's name"
    return np.array([Path(o).stem.rsplit('_', 1)[0] for o in originals(path)])

def run_fold(task: tuple, threads: int = 1, num_workers: int = 0):
    "One training of one recipe on one fold of one view"
    path, recipe, test = task
    learner, kw, tta = parse_recipe(recipe)
    if learner is not train: kw['num_workers'] = num_workers
    return fold_logits(path, test, learner=learner, tta=tta, threads=threads, **kw)

def cross_fitted(cv: CrossValidation, neither: str = 'neither', max_false_neither: float = 0.03) -> dict:
    "Temperature and threshold fitted on the other folds' pictures and applied to each fold: honest out-of-fold figures"
    out = dict(idx=[], probs1=[], probsT=[], answers=[])
    for r in range(len(cv.folds)):
        for k in np.unique(cv.folds[r]):
            test, fit = cv.folds[r] == k, cv.folds[r] != k
            T = fit_temperature(cv.logits[r][fit], cv.targets[fit])
            pT = cv.probs(T)[r]
            th = calibrate_neither(pT[fit], cv.targets[fit], cv.vocab, max_false_neither, neither)['threshold'] if neither in cv.vocab else 0.
            out['idx'].append(np.flatnonzero(test)); out['probs1'].append(cv.probs()[r][test]); out['probsT'].append(pT[test])
            out['answers'].append(answers(pT[test], cv.vocab, th, neither))
    return {k: np.concatenate(v) for k, v in out.items()}

def summarize(cv: CrossValidation, recipe: str, cats: np.ndarray) -> dict:
    "The figures of one recipe on one view"
    vocab = np.array(cv.vocab, dtype=object)
    e, cf = cv.fold_errors(), cross_fitted(cv)
    actual, targ, pred = vocab[cv.targets[cf['idx']]], cv.targets[cf['idx']], cf['answers']
    young = np.isin(cats[cf['idx']], YOUNG) & np.isin(actual, YOUNG)
    nei, real = actual == 'neither', actual != 'neither'
    pT = cf['probsT']
    return dict(recipe=recipe, error=float(e.mean()), error_sd=float(e.std()), n=len(cv.files), trainings=len(e),
                young=(int((pred[young] == actual[young]).sum()), int(young.sum())),
                neither_recall=float((pred[nei] == 'neither').mean()) if nei.any() and 'neither' in cv.vocab else None,
                false_neither=float((pred[real] == 'neither').mean()) if 'neither' in cv.vocab else None,
                sure_wrong=int(((pT.max(-1) >= 0.9) & (pT.argmax(-1) != targ)).sum()), answers=len(targ),
                ece=calibration_error(cf['probs1'], targ), ece_t=calibration_error(pT, targ), secs=float(np.mean(cv.secs)))

def pct(x) -> str: return '' if x is None else f'{x:.1%}'

def print_table(view: str, rows: list, folds: int, repeats: int):
    print(f'\n\n## {view}: {rows[0]["n"]} pictures; {folds}-fold x {repeats} ({rows[0]["trainings"]} trainings per recipe)')
    print('| recipe | error | young birds right | neither recall | false neither | wrong at ≥ 90% | ECE | ECE (T) | s/training |')
    print('|---|---|---|---|---|---|---|---|---|')
    for r in rows:
        y = f'{r["young"][0]} of {r["young"][1]}' if r['young'][1] else ''
        print(f'| {r["recipe"]} | {r["error"]:.1%} ± {r["error_sd"]:.1%} | {y} | {pct(r["neither_recall"])} | {pct(r["false_neither"])} '
              f'| {r["sure_wrong"]} of {r["answers"]} | {r["ece"]:.3f} | {r["ece_t"]:.3f} | {r["secs"]:.1f} |')
    sys.stdout.flush()

def synthetic() -> dict:
    "Pictures of nothing a mirror learned: noise, flat colours, text, a gradient"
    rng, out = np.random.default_rng(0), {}
    for i in range(3): out[f'noise_{i}'] = Image.fromarray(rng.integers(0, 256, (300, 300, 3), dtype=np.uint8))
    for c in ['white', 'black', 'red', (40, 90, 200)]: out[f'flat_{c}'] = Image.new('RGB', (300, 300), c)
    for i in range(2):
        im = Image.new('RGB', (400, 300), 'white'); d = ImageDraw.Draw(im)
        for j in range(14): d.text((8, 20 * j + 5), ('Mirror, mirror on the wall ' * 3)[i * 5:], fill='black')
        out[f'text_{i}'] = im
    g = np.linspace(0, 255, 300, dtype=np.uint8)
    out['gradient'] = Image.fromarray(np.stack([np.tile(g, (300, 1))] * 3, -1))
    return out

def ask(mirror, pictures: list) -> dict:
    "How `mirror` answers `pictures`: the share answered neither, and answered a real label with >= 90% confidence"
    res = [mirror.answer(p) for p in pictures]
    sure = [r['label'] != 'neither' and r['confidences'][r['label']] >= 0.9 for r in res]
    return dict(n=len(res), neither=sum(r['label'] == 'neither' for r in res), sure=sum(sure))

def oddness_table(photos: Path, tmp: Path, before: Path, folds: int):
    "Off-topic and odd pictures, asked of mirrors with and without oddness, through `Mirror.answer`"
    from duckling_mirror.export import export_mirror
    from duckling_mirror.mirror import Mirror
    syn, rows = list(synthetic().values()), []
    if before.is_dir():
        r = ask(Mirror.load(before), syn)
        rows.append(f'| the committed mirror ({before.name}/) | {json.loads((before/"mirror.json").read_text()).get("recipe", {}).get("recipe", "fine_tune")} '
                    f'| | {r["neither"]} / {r["sure"]} of {r["n"]} | |')
    for view, drop, unseen in [('waterfowl', (), ['goose', 'other_bird', 'other', 'duckling', 'cygnet']),
                               ('mission', ('other',), ['other'])]:
        path = make_dataset(photos, view, tmp/f'odd_{view}', drop)
        off = [p for c in unseen for p in sorted((photos/c).glob('*'))]
        for name, odd in (('lite0, no oddness', None), ('lite0', (2., 3.))):
            cv = cross_validate(path, folds, recipe='head', arch='efficientnet_lite0', oddness=odd)
            learn = train(path, 'head', 'efficientnet_lite0', oddness=odd, valid_pct=0)
            app = export_mirror(learn, tmp/f'app_{view}_{odd is None}', cv=cv, web=False)
            m = Mirror.load(app)
            a, s = ask(m, off), ask(m, syn)
            e = cv.fold_errors()
            label = f'{view} without {", ".join(drop)}' if drop else view
            rows.append(f'| {label} | {name} | {a["neither"]} / {a["sure"]} of {a["n"]} ({", ".join(unseen)}) '
                        f'| {s["neither"]} / {s["sure"]} of {s["n"]} | {e.mean():.1%} ± {e.std():.1%} |')
    print('\n\n## Odd and off-topic pictures, asked through `Mirror.answer` (answered *neither* / a real label at ≥ 90%)')
    print('| mirror | recipe | photos of categories it never saw | synthetic pictures (noise, flat, text, gradient) | its own cross-validated error |')
    print('|---|---|---|---|---|', *rows, sep='\n')

@call_parse
def main(
    photos: Path = Path(__file__).resolve().parent.parent.parent/'shared'/'photos',  # folders of real photos, with `make_view`
    views: Annotated[str, 'views of the photos (see `make_view`)', {'nargs': '+'}] = VIEWS,
    recipes: Annotated[str, 'recipes to compare (see above)', {'nargs': '+'}] = ['auto', 'lite0', 'lite2', 'lite0+lite2', 'fine_tune'],
    folds: int = 5,  # k
    repeats: int = 1,  # k-fold cross-validations, each dealt anew
    num_workers: int = 0,  # DataLoader processes per training (fastai and seed recipes)
    oddness: bool = False,  # also the odd and off-topic pictures' table
    before: Path = Path(__file__).resolve().parent.parent/'app',  # an exported mirror to ask about synthetic pictures
    out: Path = None,  # save every out-of-fold logit here (JSON), for later analysis
):
    "Cross-validate each recipe on each view; print the tables"
    photos, tmp = Path(photos), Path(tempfile.mkdtemp())
    import torch
    dev = f'GPU {torch.cuda.get_device_name()}' if torch.cuda.is_available() else f'CPU ({os.cpu_count()} cores)'
    try:
        t0, saved = time.perf_counter(), {}
        for v in views:
            path = make_dataset(photos, v, tmp/v.replace('+', '_'))
            files, cats = dataset_files(path), categories(path)
            labels = [parent_label(o) for o in files]
            splits = cv_splits(labels, photo_groups(path), folds, repeats)
            rows, cvs = [], {}
            for r in recipes:
                if r == 'auto':
                    t = time.perf_counter()
                    cv = choose_recipe(path, folds, repeats, fine_tune=False)
                    print(f'{v}: {cv.choice["why"]} ({time.perf_counter() - t:.0f} s, features included)')
                    rows.append(summarize(cv, f'auto: {cv.choice["chosen"]}', cats)); continue
                res = [run_fold((path, r, s)) for s in splits]
                vocab = res[0][1]
                logits, fold_of = np.zeros((repeats, len(files), len(vocab)), np.float32), np.zeros((repeats, len(files)), int)
                for j, (s, (lg, *_)) in enumerate(zip(splits, res)): logits[j // folds, s], fold_of[j // folds, s] = lg, j % folds
                cv = CrossValidation(files, vocab, np.array([vocab.index(l) for l in labels]), logits, fold_of, [p[2] for p in res])
                rows.append(summarize(cv, r, cats))
                saved[f'{v}|{r}'] = dict(vocab=vocab, files=[str(f.relative_to(path)) for f in files], logits=logits.tolist(),
                                        folds=fold_of.tolist(), summary=rows[-1])
            print_table(v, rows, folds, repeats)
        if oddness: oddness_table(photos, tmp, Path(before), folds)
        print(f'\n# bench/accuracy.py: {time.perf_counter() - t0:.0f} s on {dev}')
        if out: Path(out).write_text(json.dumps(saved, default=float))
    finally: shutil.rmtree(tmp)
