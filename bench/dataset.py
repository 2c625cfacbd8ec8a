#!/usr/bin/env python3
"""Benchmark: building an image dataset the original tutorial's way (fastai `download_images` + `verify_images` +
unlink) against `build_dataset`, from the same URLs on a local server that adds latency to every answer, then a
re-run of `build_dataset` (resume). Prints one table with both wall times and their ratio.
Usage: python bench/dataset.py [--photos ../shared/photos] [--latency 0.1] [--workers 16]"""
import shutil, tempfile, time
from pathlib import Path
from fastai.vision.all import download_images, verify_images, get_image_files, L
from fastcore.script import call_parse
from duckling_mirror.download import build_dataset
from duckling_mirror.search import SearchTerm
from duckling_mirror.testing import PhotoServer

FAULTS = ['/missing.jpg', '/fault/html', '/fault/truncated.jpg', '/fault/empty.jpg']

def urls_by_label(url: str, photos: Path) -> dict:
    "Every photo of each category folder, plus the faults, as URLs on the server"
    return {d.name: [f'{url}/{d.name}/{f.name}' for f in sorted(d.iterdir()) if f.is_file()] + [f'{url}{p}?{d.name}' for p in FAULTS]
            for d in sorted(photos.iterdir()) if d.is_dir()}

def seed_way(urls: dict, dest: Path, workers: int) -> dict:
    "The tutorial's way: download_images per label, verify_images, unlink what fails"
    t = time.perf_counter()
    for label, us in urls.items():
        (dest/label).mkdir(parents=True, exist_ok=True)
        download_images(dest/label, urls=L(us), n_workers=workers, timeout=10)
    failed = verify_images(get_image_files(dest))
    failed.map(Path.unlink)
    return dict(secs=time.perf_counter() - t, kept=len(get_image_files(dest)), bad=len(failed), dups=0)

def our_way(urls: dict, dest: Path, workers: int) -> dict:
    t = time.perf_counter()
    search = lambda q, n: [dict(image=u, title='', url='') for u in urls[q]]
    df = build_dataset([SearchTerm(q, q) for q in urls], dest, n=10**6, search=search, n_workers=workers, progress=False,
                       allow_private=True)  # the local server
    return dict(secs=time.perf_counter() - t, kept=int((df.status == 'ok').sum()), bad=int(df.status.isin(['failed', 'broken']).sum()),
                dups=int(df.status.isin(['duplicate', 'conflict']).sum()))

@call_parse
def main(
    photos: Path = Path(__file__).resolve().parent.parent.parent/'shared'/'photos',  # one folder of photos per category
    latency: float = 0.1,  # seconds the local server waits before each answer
    workers: int = 16,  # parallel downloads, both ways
):
    "Build the same dataset both ways, then resume it; print the table"
    photos, tmp = Path(photos), Path(tempfile.mkdtemp())
    try:
        with PhotoServer(photos, latency=latency) as srv:
            urls = urls_by_label(srv.url, photos)
            n = sum(map(len, urls.values()))
            seed = seed_way(urls, tmp/'seed', workers)
            ours = our_way(urls, tmp/'ours', workers)
            again = our_way(urls, tmp/'ours', workers)
    finally: shutil.rmtree(tmp)
    print(f'\n{n} URLs ({len(FAULTS)} broken per label) from {photos}, {latency * 1000:.0f} ms latency per request, {workers} threads each')
    print(f'{"":34}{"seconds":>9}{"kept":>7}{"bad removed":>13}{"duplicates":>12}')
    print(f'{"fastai download+verify (seed)":34}{seed["secs"]:9.2f}{seed["kept"]:7d}{seed["bad"]:13d}{"not checked":>12}')
    print(f'{"build_dataset":34}{ours["secs"]:9.2f}{ours["kept"]:7d}{ours["bad"]:13d}{ours["dups"]:12d}')
    print(f'{"build_dataset again (resume)":34}{again["secs"]:9.2f}{again["kept"]:7d}{"":>13}{"":>12}')
    print(f'ratio build_dataset / seed: {ours["secs"] / seed["secs"]:.2f}   resume / first run: {again["secs"] / ours["secs"]:.1%}')
