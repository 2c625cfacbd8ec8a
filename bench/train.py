#!/usr/bin/env python3
"""Benchmark: the original tutorial's training pipeline against ours, same arch, same validation photos, same epochs.
The seed: full-size downloads, `RandomResizedCrop(256, min_scale=0.8)` every epoch, `aug_transforms()`, bs 64,
`fine_tune(5)`. Ours: `build_dataset` (each photo shrunk once to 400 px at ingest) then `train` with its defaults
(Resize 224, bs 16, half class weights, the arch's learning rate) but the seed's one frozen epoch. Prints seconds per epoch, their ratio, and both
error rates.
Usage: python bench/train.py [--photos ../shared/photos] [--view waterfowl] [--arch efficientnet_lite0] [--epochs 5]"""
import contextlib, io, os, subprocess, sys, tempfile, time, shutil
from pathlib import Path
import torch
from fastai.vision.all import (DataBlock, ImageBlock, CategoryBlock, get_image_files, parent_label, FuncSplitter,
    RandomResizedCrop, aug_transforms, vision_learner, error_rate, set_seed)
from fastcore.script import call_parse
from duckling_mirror.dataset import read_manifest
from duckling_mirror.download import build_dataset, folder_search, folder_terms
from duckling_mirror.train import train, get_arch

def quiet(): return contextlib.ExitStack() if os.environ.get('VERBOSE') else _silence()
@contextlib.contextmanager
def _silence():
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()): yield

def timed_fine_tune(learn, epochs: int, **kw) -> float:
    "Seconds per epoch of `learn.fine_tune(epochs)` (the frozen epoch counts as one)"
    t = time.perf_counter()
    with quiet(): learn.fine_tune(epochs, **kw)
    return (time.perf_counter() - t) / (epochs + 1)

@call_parse
def main(
    photos: Path = Path(__file__).resolve().parent.parent.parent/'shared'/'photos',  # folders of real photos, with `make_view`
    view: str = 'waterfowl',  # which view of them (see `make_view`)
    arch: str = 'efficientnet_lite0',  # the same arch for both
    epochs: int = 5,  # `fine_tune(epochs)` for both
):
    "Train the seed's way and ours on the same photos and validation split; print seconds per epoch and error"
    photos, tmp = Path(photos), Path(tempfile.mkdtemp())
    try:
        subprocess.run([sys.executable, photos/'make_view', view, tmp/'full', '--copy'], check=True, capture_output=True)
        files = sorted(get_image_files(tmp/'full'))
        valid = {f.name for i, f in enumerate(files) if i % 5 == 2}  # the same fifth for both
        set_seed(42, reproducible=True)
        seed_dls = DataBlock(blocks=(ImageBlock, CategoryBlock), get_items=get_image_files, get_y=parent_label,
                             splitter=FuncSplitter(lambda f: f.name in valid), item_tfms=RandomResizedCrop(256, min_scale=0.8),
                             batch_tfms=aug_transforms()).dataloaders(tmp/'full', bs=64, num_workers=0)
        seed = vision_learner(seed_dls, get_arch(arch), metrics=error_rate)
        seed_secs = timed_fine_tune(seed, epochs)
        seed_err = float(seed.validate()[1])
        with quiet():
            t = time.perf_counter()
            build_dataset(folder_terms(tmp/'full'), tmp/'data', n=10**6, search=folder_search(tmp/'full'), schemes=('file',), progress=False)
            ingest = time.perf_counter() - t
        src = {r.file: Path(r.image).name for r in read_manifest(tmp/'data').itertuples()}
        splitter = FuncSplitter(lambda f: src[str(Path(f).relative_to(tmp/'data'))] in valid)
        t = time.perf_counter()
        with quiet(): ours = train(tmp/'data', arch=arch, epochs=epochs, freeze_epochs=1, splitter=splitter)  # fine_tune(epochs), as the seed
        ours_secs = (time.perf_counter() - t) / (epochs + 1)
        ours_err = float(ours.validate()[1])
    finally: shutil.rmtree(tmp)
    dev = 'GPU ' + torch.cuda.get_device_name() if torch.cuda.is_available() else f'CPU, {torch.get_num_threads()} threads'
    print(f'\n{view} view of {photos}: {len(files)} photos, {len(valid)} for validation; {arch}, fine_tune({epochs}); {dev}')
    print(f'{"":48}{"s/epoch":>9}{"error":>8}')
    print(f'{"seed: full size, RandomResizedCrop(256), bs 64":48}{seed_secs:9.1f}{seed_err:8.1%}')
    print(f'{"ours: 400 px at ingest, Resize(224), train()":48}{ours_secs:9.1f}{ours_err:8.1%}')
    print(f'per epoch, seed / ours: {seed_secs / ours_secs:.1f}x (goal >= 3x); ingest, once: {ingest:.1f} s')
