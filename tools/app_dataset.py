#!/usr/bin/env python3
"""Rebuild the dataset the committed mirror (`app/`) learned from, and credit it: the `mission` view of ../shared/photos
(duckling/, cygnet/, neither/), each photo with its licence and author as its provenance says them (read as
`tests/make_fixtures.py` reads them), built with `duckling-mirror-dataset --images`. Then `write_space('app',
dataset=...)` writes the app's credits and picks its example pictures (only openly licensed ones), and `write_web`
the static mirror's. The model is not touched.

Usage: python tools/app_dataset.py [SHARED_PHOTOS]   (default: ../shared/photos)"""
import csv, subprocess, sys, tempfile
from pathlib import Path
HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE/'tests'))
from make_fixtures import licence, page

def main(photos=HERE.parent/'shared'/'photos'):
    from duckling_mirror.download import make_dataset
    from duckling_mirror.export import write_space
    from duckling_mirror.web import write_web
    tmp = Path(tempfile.mkdtemp())
    view = Path(subprocess.run([sys.executable, str(photos/'make_view'), 'mission', str(tmp/'view')], check=True,
                               capture_output=True, text=True).stdout.strip())
    labels = {p.resolve().name: p.parent.name for p in view.glob('*/*')}
    with open(photos/'provenance.csv', newline='') as f, open(view/'provenance.csv', 'w', newline='') as o:
        w = csv.writer(o); w.writerow(['file', 'license', 'license_url', 'creator', 'url'])
        for r in csv.DictReader(f):
            name = Path(r['file']).name
            if name in labels: w.writerow([f'{labels[name]}/{name}', *licence(r), page(r)])
    make_dataset(dest=str(tmp/"dataset"), images=str(view))
    write_space(HERE/'app', dataset=tmp/'dataset')
    write_web(HERE/'web', HERE/'app')
    print((HERE/'app'/'CREDITS.md').read_text()[:600])

if __name__ == '__main__': main(*map(Path, sys.argv[1:2]))
