#!/usr/bin/env python3
"""Does `suspects` find the web's mistakes? Plant them, with a fixed seed, in the real photos of `../shared/photos`:
label flips in both directions and pictures of other categories under each label (about 15% in all), then, in one run:

- `suspects` (a 5-fold cross-validation of `train()` as it is, its folds those of the error table below, plus ImageNet's view of every picture): the share of the
  planted mistakes it flags (recall), the share of flagged pictures that are planted (precision), and the share of those
  found whose suggestion is right (the true label for a flip, `delete` for a picture of something else); for each way
  of doubting a label (`argmax`, `confident`), with and without ImageNet's neighbours' votes, and a few thresholds of
  oddness;
- fastai's way for comparison: the top losses of one validation split (20% held back, `train()` as it is), as many
  pictures as `suspects` flags, their right suggestion being the predicted label;
- the cross-validated error of the clean set, the noisy set, and the noisy set after accepting every flagged suggestion
  (`apply_cleaning(path, suggestions=...)`), all three on the same folds (each photo is tested in the same fold in
  each, look-alikes together), so that only what they learn from differs: against each dataset's own labels, and
  against the truth over the real pictures of the labels that all three kept.
Usage: python bench/cleaning.py [--photos ../shared/photos] [--labels duck swan] [--flips 4] [--others 4] [--seed 0]"""
from __future__ import annotations
import tempfile, time, warnings
from typing import Annotated
from pathlib import Path
import numpy as np
import pandas as pd
from fastcore.script import call_parse
from fastai.vision.all import parent_label
from duckling_mirror.dataset import read_manifest
from duckling_mirror.train import dataset_files, train
from duckling_mirror.evaluate import CrossValidation, fold_logits, photo_groups
from duckling_mirror.interpret import apply_cleaning, suspects, top_losses_table
from duckling_mirror.testing import planted_dataset

warnings.filterwarnings('ignore')

def md(df: pd.DataFrame) -> str:
    "`df` as a Markdown table"
    fmt = lambda v: f'{v:.1f}' if isinstance(v, float) else str(v)
    return '\n'.join(['| | ' + ' | '.join(df.columns) + ' |', '|---' * (len(df.columns) + 1) + '|',
                      *('| ' + ' | '.join([str(i), *map(fmt, r)]) + ' |' for i, r in zip(df.index, df.itertuples(index=False)))])

def found(flagged: pd.DataFrame, planted: pd.DataFrame, suggestion: str = 'suggestion') -> dict:
    "Recall, precision and right suggestions of `flagged` pictures against the `planted` ones"
    right = dict(zip(planted.file, planted.right))
    hit = flagged[flagged.file.isin(right)]
    return dict(looked_at=len(flagged), found=len(hit), recall=len(hit) / len(planted), precision=len(hit) / max(1, len(flagged)),
                right=sum(right[f] == s for f, s in zip(hit.file, hit[suggestion])) / max(1, len(hit)))

def truth(path: Path, planted: pd.DataFrame) -> dict:
    "{sha256 of a picture of the dataset: what its photo is}: a planted picture's category, else the label folder `plant_mistakes` put it in"
    is_ = dict(zip(planted.image, planted['is']))
    return {r.sha256: is_.get(r.image, Path(r.image).parent.name) for r in read_manifest(path).itertuples()}

def shas(path: Path) -> list:
    "The sha256 of each of `dataset_files(path)`: the same photo has the same one in every dataset made of it"
    m = read_manifest(path).set_index('file').sha256
    return [m[str(f.relative_to(path))] for f in dataset_files(path)]

def paired_folds(path: Path, folds: int = 5, seed: int = 42) -> dict:
    "{sha256: fold} for the pictures of the dataset in `path`, look-alikes in one fold: every dataset of these photos is tested on the same folds"
    groups = photo_groups(path)
    u = np.unique(groups)
    fold_of = dict(zip(u, np.random.default_rng(seed).permutation(len(u)) % folds))
    return {s: int(fold_of[g]) for s, g in zip(shas(path), groups)}

def paired_cv(path: Path, fold_of: dict) -> CrossValidation:
    "Cross-validate the dataset in `path` with `train()`, on the folds `fold_of` gives its photos"
    files, folds = dataset_files(path), np.array([fold_of[s] for s in shas(path)])
    res = [fold_logits(path, np.flatnonzero(folds == k)) for k in np.unique(folds)]
    vocab, logits = res[0][1], np.zeros((1, len(files), len(res[0][1])), np.float32)
    for k, (lg, *_) in zip(np.unique(folds), res): logits[0, folds == k] = lg
    cv = CrossValidation(files, vocab, np.array([vocab.index(parent_label(f)) for f in files]), logits, folds[None], [r[2] for r in res], res[0][3])
    cv.sha = shas(path)  # which photo each picture is, as the dataset was then
    return cv

def errors(cvs: dict, is_: dict, labels: tuple) -> pd.DataFrame:
    "For each cross-validation: its error against its dataset's labels, and against the truth over the real pictures all of them kept"
    common = set.intersection(*(set(cv.sha) for cv in cvs.values()))
    rows = {}
    for name, cv in cvs.items():
        sha = np.array(cv.sha)
        pred, truth_ = np.array(cv.vocab)[cv.logits[0].argmax(-1)], np.array([is_.get(s, '') for s in sha])
        keep = np.isin(sha, list(common)) & np.isin(truth_, labels)
        rows[name] = dict(pictures=len(sha), error=float((pred != np.array(cv.vocab)[cv.targets]).mean()),
                          real_kept_by_all=int(keep.sum()), error_vs_truth=float((pred[keep] != truth_[keep]).mean()), secs=sum(cv.secs))
    return pd.DataFrame(rows).T

@call_parse
def main(
    photos: str = '../shared/photos',  # one folder per category, with provenance.csv
    labels: Annotated[str, 'the categories that are labels', {'nargs': '+'}] = ['duck', 'swan'],
    flips: int = 4,  # pictures of each label planted under the other
    others: int = 4,  # pictures of other categories planted under each label
    other_categories: Annotated[str, 'where those come from', {'nargs': '+'}] = ['goose', 'other_bird', 'other'],
    seed: int = 0,  # the planting's seed
    folds: int = 5,  # k of every cross-validation
):
    "Plant mistakes, then compare `suspects` with the top losses of one split, and the cross-validated error before and after"
    labels, d = tuple(labels), Path(tempfile.mkdtemp())
    noisy, planted = planted_dataset(Path(photos), d/'noisy', labels=labels, flips=flips, others=others,
                                  other_categories=tuple(other_categories), seed=seed)
    n, is_ = len(dataset_files(noisy)), truth(noisy, planted)
    print(f'{n} pictures of {", ".join(labels)}; planted: {len(planted)} ({len(planted) / n:.0%}): '
          f'{(planted.right != "delete").sum()} label flips, {(planted.right == "delete").sum()} pictures of ' + ', '.join(sorted(set(planted['is']) - set(labels))))
    fold_of = paired_folds(noisy, folds, seed)
    cvs = {'noisy': paired_cv(noisy, fold_of)}
    rows = {}
    for method, w, odd in [(m, w, 1.25) for m in ('argmax', 'confident') for w in (0, 0.5)] + [('confident', 0.5, o) for o in (1, 1.5, 2)]:
        t = time.perf_counter()
        s = suspects(noisy, cvs['noisy'], method=method, neighbour_weight=w, off_topic=odd)
        rows[f'suspects: {method}, neighbours {w:g}, oddness {odd:g}'] = found(s[s.flagged], planted) | dict(secs=time.perf_counter() - t)
    chosen = suspects(noisy, cvs['noisy'])  # the defaults
    budget = int(chosen.flagged.sum())
    t = time.perf_counter()
    learn = train(noisy, quiet=True)
    tl = top_losses_table(learn, k=min(budget, len(learn.dls.valid_ds)))
    rows[f"top losses of one split (fastai's way, {len(learn.dls.valid_ds)} validation pictures)"] = found(tl, planted, 'predicted') | dict(secs=time.perf_counter() - t)
    rows[f'suspects (the defaults), its first {len(tl)} rows'] = found(chosen.head(len(tl)), planted) | dict(secs='')
    table = pd.DataFrame(rows).T
    for c in ('recall', 'precision', 'right'): table[c] = table[c].map('{:.0%}'.format)
    print(md(table))
    print(f'\nLooking at {len(tl)} pictures, suspects (the defaults) finds {rows[list(rows)[-1]]["found"]} and the top losses '
          f'{rows[list(rows)[-2]]["found"]} of the {len(planted)} planted mistakes')
    clean, _ = planted_dataset(Path(photos), d/'clean', labels=labels, flips=0, others=0, seed=seed)
    cvs['clean'] = paired_cv(clean, fold_of)
    apply_cleaning(noisy, suggestions=chosen[chosen.flagged])
    cvs['noisy, flagged suggestions accepted'] = paired_cv(noisy, fold_of)
    e = errors({k: cvs[k] for k in ('clean', 'noisy', 'noisy, flagged suggestions accepted')}, is_, labels)
    for c in ('error', 'error_vs_truth'): e[c] = e[c].map('{:.1%}'.format)
    print(f'\n{folds}-fold cross-validations of `train()` on the same folds (each photo in the same fold in all three):')
    print(md(e))
