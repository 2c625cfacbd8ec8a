#!/usr/bin/env python3
"""Rebuild `tests/photos/` from `../shared/photos`: a few real photos per category, downsized (long side <= 256 px),
with their provenance. ImageNet sample photos are never copied (their terms forbid it)."""
import csv, hashlib, sys
from pathlib import Path
from PIL import Image, ImageOps

HERE = Path(__file__).resolve().parent
PICK = dict(duckling=9, cygnet=7, duck=30, swan=30, goose=8, other=8)  # photos per category, first by name
EXCLUDE = 'imagenet'  # never copy ImageNet sample photos

def main(src=HERE.parent.parent/'shared'/'photos', dest=HERE/'photos', max_size=256):
    rows = [r for r in csv.DictReader(open(src/'provenance.csv')) if EXCLUDE not in r['source'].lower()]
    out = []
    for cat, n in PICK.items():
        for r in sorted((r for r in rows if r['category']==cat), key=lambda r: r['file'])[:n]:
            im = ImageOps.exif_transpose(Image.open(src/r['file'])).convert('RGB')
            im.thumbnail((max_size, max_size))
            f = dest/cat/(Path(r['file']).stem + '.jpg')
            f.parent.mkdir(parents=True, exist_ok=True)
            im.save(f, quality=85)
            out.append({**r, 'file': f'{cat}/{f.name}', 'original_sha256': r['sha256'],
                        'sha256': hashlib.sha256(f.read_bytes()).hexdigest(), 'note': f'downsized to long side <= {max_size} px'})
    with open(dest/'provenance.csv', 'w', newline='') as fh:
        w = csv.DictWriter(fh, fieldnames=list(out[0])); w.writeheader(); w.writerows(out)
    print(f'{len(out)} photos written to {dest}')

if __name__ == '__main__': main(*map(Path, sys.argv[1:2]))
