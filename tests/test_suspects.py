"`suspects` as a hostile user meets it: odd names, a plain folder, a cross-validation of something else, torn files. Cross-validations are made up here (no training): what they say is the point."
import shutil, subprocess, sys
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
from fastai.vision.all import parent_label
from duckling_mirror.dataset import DatasetError
from duckling_mirror.evaluate import CrossValidation
from duckling_mirror.interpret import SuspectsCleaner, apply_cleaning, save_suspects, suspects, undo_cleaning
from duckling_mirror.testing import sample_photos, sample_dataset, WATERFOWL_TERMS
from duckling_mirror.train import dataset_files, digest

def made_up_cv(path: Path, wrong: set = frozenset()) -> CrossValidation:
    "A cross-validation of the dataset in `path` whose folds agree with every label but those of the pictures named in `wrong`"
    files = dataset_files(path)
    vocab = sorted({parent_label(f) for f in files})
    t = np.array([vocab.index(parent_label(f)) for f in files])
    says = np.array([(v + 1) % len(vocab) if f.name in wrong else v for f, v in zip(files, t)])
    return CrossValidation(files, vocab, t, np.eye(len(vocab))[says][None] * 6, np.arange(len(files))[None] % 2, [0., 0.], dict(pictures=digest(files)))

@pytest.fixture
def odd_names(tmp_path) -> Path:
    "A plain folder of ducks and swans (no manifest) with names a shell, a CSV or a URL would trip on"
    d = tmp_path/'plain'
    names = ['a,b.jpg', 'quote".jpg', 'spa ce.jpg', 'ünï çødé.jpg', '#hash?.jpg', 'new\nline.jpg']
    for label in ('duck', 'swan'):
        (d/label).mkdir(parents=True)
        for i, f in enumerate(sorted((sample_photos()/label).glob('*.jpg'))[:12]):
            shutil.copy(f, d/label/(names[i] if i < len(names) else f.name))
    return d

def test_odd_names_and_no_manifest(odd_names):
    swan_as_duck = 'ünï çødé.jpg'
    cv = made_up_cv(odd_names, {swan_as_duck})
    sus = suspects(odd_names, cv, neighbour_weight=0)
    top = sus.iloc[0]
    assert (top.file, top.suggestion, bool(top.flagged)) == (f'duck/{swan_as_duck}', 'swan', True), sus.head()
    assert (sus[['image', 'url', 'title', 'query', 'source']] == '').all().all()  # no manifest: no provenance, no error
    back = pd.read_csv(save_suspects(sus, odd_names), keep_default_na=False)
    assert back.file.tolist() == sus.file.tolist() and back.flagged.tolist() == sus.flagged.tolist()
    cleaner = SuspectsCleaner(odd_names, back)  # read back from the CSV, as a person would
    assert cleaner.choices[odd_names/'duck'/swan_as_duck] == 'swan'

def test_a_cross_validation_of_another_dataset_is_refused(odd_names, tmp_path):
    cv = made_up_cv(odd_names)
    (odd_names/'duck'/'a,b.jpg').rename(odd_names/'duck'/'renamed.jpg')
    with pytest.raises(DatasetError, match='measured other pictures than the dataset holds today; cross-validate again'):
        suspects(odd_names, cv)

def test_accept_needs_a_manifest_and_applies_only_flagged(odd_names, tmp_path):
    cv = made_up_cv(odd_names, {'spa ce.jpg'})
    cv.save(odd_names/'cv.npz')
    exe = Path(sys.executable).parent/'duckling-mirror-suspects'
    run = lambda *a: subprocess.run([exe, '--path', *map(str, a), '--folds', '2', '--epochs', '6', '--freeze-epochs', '0'], capture_output=True, text=True)
    out = run(odd_names, '--accept')
    assert out.returncode == 2 and 'has no manifest.csv' in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    d = tmp_path/'ds'
    sample_dataset(d, WATERFOWL_TERMS, progress=False)
    victim = dataset_files(d)[0].name
    cv = made_up_cv(d, {victim})
    cv.recipe.update(arch='efficientnet_lite0', epochs=6, freeze_epochs=0, size=224, bs=16)
    cv.save(d/'cv.npz')
    before = sorted(p.relative_to(d) for p in d.rglob('*.jpg'))
    out = run(d, '--accept')
    assert out.returncode == 0 and out.stdout.startswith('Using the cross-validation'), out.stderr[-2000:]
    sus = pd.read_csv(d/'suspects.csv', keep_default_na=False)
    n = int(sus.flagged.sum())
    assert n >= 1 and f'{n} suggestions applied' in out.stdout and f'{n} of {len(sus)} pictures flagged' in out.stdout, out.stdout
    assert not (d/sus.file[0]).exists()  # moved: relabelled, or to .trash/
    assert len(undo_cleaning(d)) == n
    assert sorted(p.relative_to(d) for p in d.rglob('*.jpg')) == before
