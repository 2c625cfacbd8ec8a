"The recipes and the kept features (issue #27), through the commands a person runs, as a hostile pass tried them."
import os, shutil
from pathlib import Path
import numpy as np, pytest
from test_commands import ok, run
from duckling_mirror.download import build_dataset, folder_search, folder_terms
from duckling_mirror.mirror import Mirror
from duckling_mirror.testing import sample_photos

@pytest.fixture(scope='module')
def data(tmp_path_factory) -> Path:
    "A dataset of 12 ducks and 12 swans, built as `duckling-mirror-dataset --images` builds it"
    t = tmp_path_factory.mktemp('recipes')
    for c in ('duck', 'swan'):
        (t/'photos'/c).mkdir(parents=True)
        for f in sorted((sample_photos()/c).glob('*.jpg'))[:12]: shutil.copy(f, t/'photos'/c)
    build_dataset(folder_terms(t/'photos'), t/'data', search=folder_search(t/'photos'), schemes=('file',), progress=False)
    return t/'data'

def test_a_features_link_is_one_line_and_nothing_is_written_through_it(data, tmp_path):
    d, outside = Path(shutil.copytree(data, tmp_path/'data')), tmp_path/'outside'
    outside.mkdir()
    (d/'.features').symlink_to(outside)
    for cmd, *args in [('duckling-mirror-train', '--recipe', 'head'), ('duckling-mirror-cv', '--folds', '2'),
                       ('duckling-mirror-suspects', '--folds', '2')]:
        out = run(cmd, '--path', d, '--size', 64, *args)
        assert out.returncode == 1 and out.stderr.strip().endswith('is a link or a file: the dataset\'s features are kept in a '
                                                                      'folder of its own there; remove it'), (cmd, out.stderr)
        assert len(out.stderr.strip().splitlines()) == 1 and 'Traceback' not in out.stderr
    assert list(outside.iterdir()) == []

def test_auto_takes_a_heads_bodies_in_either_order_and_the_export_answers(data, tmp_path):
    d = Path(shutil.copytree(data, tmp_path/'data'))
    out = ok(run('duckling-mirror-train', '--path', d, '--size', 64, '--arch', 'efficientnet_lite2+efficientnet_lite0', '--valid-pct', 0))
    assert '(head efficientnet_lite2+efficientnet_lite0)' in out, out
    assert sorted(o.name for o in (d/'.features').iterdir()) == ['efficientnet_lite0-64.npz', 'efficientnet_lite2-64.npz']
    ok(run('duckling-mirror-export', '--path', d, '--app', tmp_path/'app'))
    m = Mirror.load(tmp_path/'app')
    assert m.cfg['recipe']['arch'] == 'efficientnet_lite2+efficientnet_lite0' and m.cfg['oddness'] is not None
    assert m.answer(sample_photos()/'duck'/'duck_030.jpg')['label'] in ('duck', 'swan')

def test_a_run_killed_while_keeping_features_leaves_nothing_after_the_next(data, tmp_path):
    d = Path(shutil.copytree(data, tmp_path/'data'))
    shutil.rmtree(d/'.features', ignore_errors=True)
    (d/'.features').mkdir()
    (d/'.features'/'.abc123tmp').write_bytes(os.urandom(1000))  # what `write_atomic` leaves when killed before its rename
    ok(run('duckling-mirror-train', '--path', d, '--recipe', 'head', '--size', 64))
    assert sorted(o.name for o in (d/'.features').iterdir()) == ['efficientnet_lite0-64.npz']

def test_a_picture_that_cannot_be_read_is_one_line_naming_it(data, tmp_path):
    d = Path(shutil.copytree(data, tmp_path/'data'))
    f = next((d/'duck').glob('*.jpg'))
    f.write_bytes(f.read_bytes()[:3000])
    shutil.rmtree(d/'.features', ignore_errors=True)
    out = run('duckling-mirror-train', '--path', d, '--recipe', 'head', '--size', 64)
    assert out.returncode == 1 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert f'{f.name} cannot be read (this picture seems damaged or cut short)' in out.stderr, out.stderr
