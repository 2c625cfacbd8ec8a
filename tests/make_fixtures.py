#!/usr/bin/env python3
"""Rebuild `tests/photos/` from `../shared/photos`: a few real photos per category, downsized (long side <= 256 px),
with their provenance. ImageNet sample photos are never copied (their terms forbid it)."""
import csv, hashlib, re, sys
from pathlib import Path
from PIL import Image, ImageOps

HERE = Path(__file__).resolve().parent
PICK = dict(duckling=9, cygnet=7, duck=30, swan=30, goose=8, other=8)  # photos per category, first by name
EXCLUDE = 'imagenet'  # never copy ImageNet sample photos
CC = dict(zip(['CC0 1.0', 'CC BY 2.0'], ['https://creativecommons.org/publicdomain/zero/1.0/', 'https://creativecommons.org/licenses/by/2.0/']))

def licence(r):
    "The photo's licence, its link and its author: `provenance.csv`'s own columns, or what its `licence_note` says ('' where none)"
    if r.get('license'): return r['license'], r.get('license_url') or '', r.get('creator') or ''
    note, src = r['licence_note'], r['source']
    if src == 'steggie3/goose-dataset':  # MIT, all photographed by the repository's author
        return 'MIT', f'https://github.com/steggie3/goose-dataset/blob/{r["commit_or_version"]}/LICENSE', 'Christine Chen'
    if m := re.match(r'(CC0|CC BY 2\.0) \((?:Flickr |photographer )?([^)]+)\)', note):
        lic = 'CC0 1.0' if m[1] == 'CC0' else m[1]
        return lic, CC[lic], m[2]
    if m := re.match(r'public domain \((NASA|SpaceX|US Navy)', note): return 'Public domain', '', m[1]
    if m := re.match(r'Unsplash License: photo by ([^,]+)', note): return 'Unsplash License', 'https://unsplash.com/license', m[1]
    return '', '', ''

def page(r):
    "Where the photo can be seen: `provenance.csv`'s `url`, or its file in the GitHub repository it came from ('' for sample data)"
    if r.get('url'): return r['url']
    return f'https://github.com/{r["source"]}/blob/{r["commit_or_version"]}/{r["source_path"]}' if re.fullmatch(r'[\w.-]+/[\w.-]+', r['source']) else ''  # copyright unknown: no licence, no credit

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
                        'sha256': hashlib.sha256(f.read_bytes()).hexdigest(), 'note': f'downsized to long side <= {max_size} px',
                        **dict(zip(('license', 'license_url', 'creator'), licence(r))), 'url': page(r)})
    with open(dest/'provenance.csv', 'w', newline='') as fh:
        w = csv.DictWriter(fh, fieldnames=list(out[0])); w.writeheader(); w.writerows(out)
    print(f'{len(out)} photos written to {dest}')

if __name__ == '__main__': main(*map(Path, sys.argv[1:2]))
