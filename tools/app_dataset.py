#!/usr/bin/env python3
"""The dataset the committed mirror (`app/`, `web/`) learned from, and its credits: the `mission` view of ../shared/photos
(duckling/, cygnet/, neither/), each photo with its licence, licence link, author and page as `provenance.csv`'s
`license`, `license_url`, `creator` and `url` columns give them (read as `tests/make_fixtures.py` reads them), built with
`duckling-mirror-dataset --images`.

With `--train`, the committed mirror is made anew from it, as the README says: `duckling-mirror --images VIEW --cv 5`
into `app/` and `web/` (the recipe chosen by cross-validation, the mirror trained on every photo, its credits and
example pictures from the provenance). Without, only the credits and examples are written again (`write_space('app',
dataset=...)`, then `write_web`), and the model is not touched.

Usage: python tools/app_dataset.py [SHARED_PHOTOS] [--train]   (default: ../shared/photos)"""
import csv, subprocess, sys, tempfile
from pathlib import Path
HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE/'tests'))
from make_fixtures import licence, page

def mission_view(photos: Path, dest: Path) -> Path:
    "The mission view of `photos` in `dest`, one folder per label, with a `provenance.csv` of their licences and pages"
    view = Path(subprocess.run([sys.executable, str(photos/'make_view'), 'mission', str(dest)], check=True,
                               capture_output=True, text=True).stdout.strip())
    labels = {p.resolve().name: p.parent.name for p in view.glob('*/*')}
    with open(photos/'provenance.csv', newline='') as f, open(view/'provenance.csv', 'w', newline='') as o:
        w = csv.writer(o); w.writerow(['file', 'license', 'license_url', 'creator', 'url'])
        for r in csv.DictReader(f):
            name = Path(r['file']).name
            if name in labels: w.writerow([f'{labels[name]}/{name}', *licence(r), page(r)])
    return view

def main(photos=HERE.parent/'shared'/'photos', train=False):
    tmp = Path(tempfile.mkdtemp())
    view = mission_view(photos, tmp/'view')
    if train:
        from duckling_mirror.cli import make_mirror
        make_mirror(images=str(view), dest=str(tmp/'dataset'), app=str(HERE/'app'), web=str(HERE/'web'), cv=5)
    else:
        from duckling_mirror.download import make_dataset
        from duckling_mirror.space import write_space
        from duckling_mirror.web import write_web
        make_dataset(dest=str(tmp/'dataset'), images=str(view))
        write_space(HERE/'app', dataset=tmp/'dataset')
        write_web(HERE/'web', HERE/'app')
    print((HERE/'app'/'CREDITS.md').read_text()[:600])

if __name__ == '__main__':
    main(*map(Path, [a for a in sys.argv[1:2] if not a.startswith('--')]), train='--train' in sys.argv)
