"""No harm from a shared folder, a full disk or a kill (issue 16). Each test is one way the project hurt a person, left a
torn file or answered with a traceback, tried as a hostile or careless user would, through the commands a person runs;
each failed on the code before the fix. (The push, the download deadline, the address checks and the build lock have
theirs in test_push.py and test_fetch.py.)"""
import json, os, shutil, signal, subprocess, sys, textwrap, time
from contextlib import contextmanager
from pathlib import Path
import pytest
from PIL import Image, ImageEnhance
from test_commands import ENV, ok, run
from duckling_mirror.download import read_manifest, sha256
from duckling_mirror.mirror import Mirror
from duckling_mirror.testing import PhotoServer, sample_photos

QUICK = ['--epochs', 0, '--freeze-epochs', 1, '--size', 64]  # a recipe that trains in seconds

def one_line(out: subprocess.CompletedProcess, words: str, code: int = None) -> str:
    "The one line on stderr of a command that failed as a person should see it: no traceback, `words` in it"
    assert out.returncode != 0 and (code is None or out.returncode == code), (out.returncode, out.stderr[-3000:])
    assert words in out.stderr, out.stderr[-3000:]
    assert 'Traceback' not in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr[-3000:]
    return out.stderr

def photos(d: Path, **n) -> Path:
    "A folder of the sample photos, `n[label]` of each label"
    for label, k in n.items():
        (d/label).mkdir(parents=True)
        for f in sorted((sample_photos()/label).glob('*.jpg'))[:k]: shutil.copy(f, d/label)
    return d

@pytest.fixture(scope='module')
def trained(tmp_path_factory) -> dict:
    "Two datasets with their learners (duck/swan, and duck/swan/goose) and the first one's exported app"
    t = tmp_path_factory.mktemp('trained')
    res = {}
    for name, n in (('two', dict(duck=20, swan=20)), ('three', dict(duck=12, swan=12, goose=8))):
        ok(run('duckling-mirror-dataset', '--images', photos(t/f'{name}_photos', **n), '--dest', t/name))
        ok(run('duckling-mirror-train', '--path', t/name, *QUICK))
        res[name] = t/name
    ok(run('duckling-mirror-export', '--path', res['two'], '--app', t/'app'))
    res['app'] = t/'app'
    return res

def script(patch: str, cmd: str) -> Path:
    "A script that runs the command function `cmd` ('module:function') as a console script does, after the Python in `patch`"
    import tempfile
    mod, fn = cmd.split(':')
    f = Path(tempfile.mkdtemp())/'run.py'
    f.write_text(textwrap.dedent(patch) + f'\nfrom {mod} import {fn}\n{fn}()\n')
    return f

def run_with(patch: str, cmd: str, *args, timeout: float = 600) -> subprocess.CompletedProcess:
    "Run the command function `cmd` ('module:function') as its own process, after the Python in `patch`"
    return subprocess.run([sys.executable, script(patch, cmd), *map(str, args)], capture_output=True, text=True, env=ENV, timeout=timeout)

def files(d: Path) -> dict:
    return {str(f.relative_to(d)): f.read_bytes() for f in sorted(Path(d).rglob('*')) if f.is_file()}

# Every write whole

KILL_AT = '''
    import os, signal
    n, real = [0], (os.replace, os.rename)
    def dying(i):
        def move(a, b, *args, **kw):
            if str(b).startswith({app!r}):
                n[0] += 1
                if n[0] == {k}: os.kill(os.getpid(), signal.SIGKILL)
            return real[i](a, b, *args, **kw)
        return move
    os.replace, os.rename = dying(0), dying(1)
'''

@pytest.mark.parametrize('k', [1, 2, 5, 8])
def test_an_export_killed_at_any_moment_leaves_one_whole_app(trained, tmp_path, k):
    "A kill at the k-th file moved into the app: the app is the old one or the new one, whole, and its files agree"
    app = shutil.copytree(trained['app'], tmp_path/'app')
    out = run_with(KILL_AT.format(app=str(app), k=k), 'duckling_mirror.export:duckling_mirror_export', '--path', trained['three'], '--app', app)
    assert out.returncode == -signal.SIGKILL, out.stderr[-3000:]
    m = Mirror.load(app)  # finishes a committed export
    assert m.labels in (['duck', 'swan'], ['duck', 'goose', 'swan']), m.labels
    assert m.logits([sample_photos()/'goose'/'goose_001.jpg']).shape == (1, len(m.labels))
    assert len(m.predict(sample_photos()/'goose'/'goose_001.jpg')) == len(m.labels)
    ok(run('duckling-mirror-export', '--path', trained['three'], '--app', app))  # and the next export goes through
    assert Mirror.load(app).labels == ['duck', 'goose', 'swan']
    assert sorted(f.name for f in app.iterdir()) == sorted(f.name for f in trained['app'].iterdir())

def test_a_killed_learner_save_keeps_the_learner_before(trained, tmp_path):
    d = shutil.copytree(trained['two'], tmp_path/'two')
    before = (d/'learner.pkl').read_bytes()
    kill = KILL_AT.format(app=str(d/'learner.pkl'), k=1)
    out = run_with(kill, 'duckling_mirror.train:duckling_mirror_train', '--path', d, *QUICK)
    assert out.returncode == -signal.SIGKILL, out.stderr[-3000:]
    assert (d/'learner.pkl').read_bytes() == before

def test_the_app_refuses_a_mirror_json_that_does_not_fit_its_model(trained, tmp_path):
    for change, words in [(dict(temperature=0), 'temperature 0'), (dict(temperature=float('nan')), 'temperature nan'),
                          (dict(temperature=-1), 'temperature -1'), (dict(size=20000), 'size 20000'),
                          (dict(labels=['duck', 'swan', 'neither']), 'has 3 labels, but model.onnx gives 2 outputs')]:
        app = shutil.copytree(trained['app'], tmp_path/'app', dirs_exist_ok=True)
        cfg = json.loads((trained['app']/'mirror.json').read_text())
        (app/'mirror.json').write_text(json.dumps({**cfg, **change}))
        with pytest.raises(ValueError, match=words): Mirror.load(app)
        one_line(run('duckling-mirror-serve', '--app', app), words, 2)
    (app/'model.onnx').write_bytes((trained['app']/'model.onnx').read_bytes()[:1000])  # torn
    (app/'mirror.json').write_text((trained['app']/'mirror.json').read_text())
    one_line(run('duckling-mirror-serve', '--app', app), 'another model.onnx', 2)

# A full disk

@contextmanager
def small_disk(d: Path, mb: float):
    "A file system of `mb` MB at `d` (tmpfs), to fill up"
    d.mkdir(parents=True, exist_ok=True)
    if subprocess.run(['mount', '-t', 'tmpfs', '-o', f'size={int(mb * 1024)}k', 'tmpfs', str(d)], capture_output=True).returncode:
        pytest.skip('a small disk needs `mount -t tmpfs` (root)')
    try: yield d
    finally: subprocess.run(['umount', '-l', str(d)])

def fill(d: Path, leave_kb: int) -> Path:
    "Fill the disk of `d` but for `leave_kb` KB"
    free = shutil.disk_usage(d).free - leave_kb * 1024
    (d/'filler').write_bytes(bytes(max(0, free)))
    return d/'filler'

def test_a_full_disk_while_downloading_is_one_line_and_a_rerun_completes(tmp_path):
    images = photos(tmp_path/'photos', duck=30, swan=30)
    with small_disk(tmp_path/'disk', 4) as disk:
        filler = fill(disk, 300)
        one_line(run('duckling-mirror-dataset', '--images', images, '--dest', disk/'data'), 'no space left on the disk', 1)
        assert not list((disk/'data').rglob('.*tmp'))
        filler.unlink()
        out = ok(run('duckling-mirror-dataset', '--images', images, '--dest', disk/'data'))  # no --retry
        assert 'duck: 30 ok' in out and 'swan: 30 ok' in out, out
        assert set(read_manifest(disk/'data').status) == {'ok'}
        assert 'the files and the manifest agree' in ok(run('duckling-mirror-check', '--path', disk/'data'))

def test_a_full_disk_while_saving_the_learner_keeps_the_one_before(trained, tmp_path):
    with small_disk(tmp_path/'disk', 60) as disk:
        d = shutil.copytree(trained['two'], disk/'two')
        before = (d/'learner.pkl').read_bytes()
        fill(disk, 2000)
        one_line(run('duckling-mirror-train', '--path', d, *QUICK), 'no space left on the disk', 1)
        assert (d/'learner.pkl').read_bytes() == before and not [f for f in d.iterdir() if f.name.startswith('.')]

def test_a_full_disk_while_exporting_keeps_the_app_before(trained, tmp_path):
    with small_disk(tmp_path/'disk', 60) as disk:
        app = shutil.copytree(trained['app'], disk/'app')
        before = files(app)
        fill(disk, 5000)
        one_line(run('duckling-mirror-export', '--path', trained['three'], '--app', app), 'no space left on the disk', 1)
        assert files(app) == before
        Mirror.load(app)

# No path leaves the dataset

def test_a_manifest_row_outside_the_dataset_deletes_nothing(trained, tmp_path):
    d = shutil.copytree(trained['two'], tmp_path/'two')
    victim = tmp_path/'precious.jpg'
    victim.write_bytes((d/read_manifest(d).file[0]).read_bytes())  # the same bytes as the first picture: a "duplicate"
    df = read_manifest(d)
    df.loc[1, ['file', 'sha256', 'phash']] = str(victim), df.sha256[0], df.phash[0]
    from duckling_mirror.download import write_manifest
    write_manifest(df, d)
    again = photos(tmp_path/'photos_again', duck=20, swan=20)
    for cmd, args in [('duckling-mirror-dataset', ['--images', again, '--dest', d]), ('duckling-mirror-check', ['--path', d]),
                      ('duckling-mirror-train', ['--path', d, *QUICK]), ('duckling-mirror-cv', ['--path', d, '--folds', 2, *QUICK]),
                      ('duckling-mirror-undo', ['--path', d])]:
        one_line(run(cmd, *args), f"manifest.csv line 3: '{victim}' is not a file inside the dataset")
        assert victim.exists()

def test_a_journal_naming_files_outside_moves_nothing(trained, tmp_path):
    d = shutil.copytree(trained['two'], tmp_path/'two')
    (tmp_path/'escaped').mkdir()
    (tmp_path/'escaped'/'evil.jpg').write_bytes(b'evil'); (tmp_path/'secret2.txt').write_text('secret')
    f = read_manifest(d).file[0]
    entries = [dict(id='a1', action='delete', file='../escaped/evil.jpg', to=f, sha256=sha256(d/f)),
               dict(id='a2', action='delete', file=f, to='../secret2.txt', sha256=sha256(tmp_path/'secret2.txt'))]
    (d/'cleaning.jsonl').write_text(''.join(json.dumps(e) + '\n' for e in entries))
    before = files(tmp_path)
    one_line(run('duckling-mirror-undo', '--path', d), 'cleaning.jsonl line 1', 1)
    assert files(tmp_path) == before

# A traceback where a line belongs

def burst(src: Path, d: Path, n: int = 6) -> Path:
    "`n` look-alike shots of the photo `src` in `d` (a little brighter or cropped each time), as a burst gives"
    d.mkdir(parents=True)
    im = Image.open(src).convert('RGB')
    for i in range(n):
        shot = ImageEnhance.Brightness(im).enhance(1 + 0.04 * i).crop((i, i, im.width - i, im.height - i))
        shot.save(d/f'shot_{i}.jpg', quality=92)
    return d

def test_cross_validating_labels_of_look_alike_photos_is_one_line_before_training(tmp_path):
    from duckling_mirror.download import file_info
    shots = burst(sample_photos()/'duck'/'duck_001.jpg', tmp_path/'plain'/'duck')
    hashes = [int(file_info(f)['phash'], 16) for f in sorted(shots.iterdir())]
    assert max((a ^ b).bit_count() for a, b in zip(hashes, hashes[1:])) <= 10  # look-alikes, in a chain
    photos(tmp_path/'plain', swan=6)
    t = time.monotonic()
    one_line(run('duckling-mirror-cv', '--path', tmp_path/'plain', '--folds', 2, *QUICK), 'duck: its 6 pictures are 1 group of look-alike photos', 2)
    assert time.monotonic() - t < 60  # refused before training

def test_no_picture_to_validate_on_is_one_line_before_training(trained, tmp_path):
    one_line(run('duckling-mirror-train', '--path', trained['two'], '--valid-pct', 0.01, *QUICK), '--valid-pct 0.01: a validation share of 0.01 of 40 pictures is not one picture', 2)
    few = photos(tmp_path/'few', duck=2, swan=2)
    one_line(run('duckling-mirror', '--images', few, '--dest', tmp_path/'data', '--app', tmp_path/'app', *QUICK), 'is not one picture', 1)
    assert not (tmp_path/'app').exists()

def rewrite_manifest(d: Path, change):
    "Hand-edit `d/manifest.csv`: `change(rows)` on its rows as lists of text, header first"
    import csv
    with open(d/'manifest.csv', newline='') as f: rows = list(csv.reader(f))
    change(rows)
    with open(d/'manifest.csv', 'w', newline='') as f: csv.writer(f).writerows(rows)

def test_a_damaged_manifest_is_one_line_for_every_command(trained, tmp_path):
    def rename(old, new): return lambda rows: rows[0].__setitem__(rows[0].index(old), new)
    def width(rows): rows[2][rows[0].index('width')] = '400.5'
    for change, words in [(rename('status', 'state'), 'lost its status column'), (rename('file', 'fichier'), 'lost its file column'),
                          (rename('label', 'class'), 'lost its label column'), (rename('image', 'url_'), 'lost its image column'),
                          (width, "line 3: width '400.5' is not a whole number")]:
        d = shutil.copytree(trained['two'], tmp_path/'two', dirs_exist_ok=True)
        rewrite_manifest(d, change)
        for cmd, args in [('duckling-mirror-check', ['--path', d]), ('duckling-mirror-train', ['--path', d, *QUICK]),
                          ('duckling-mirror-cv', ['--path', d, '--folds', 2, *QUICK]), ('duckling-mirror-undo', ['--path', d]),
                          ('duckling-mirror-dataset', ['--images', tmp_path/'again', '--dest', d])]:
            if not (tmp_path/'again').exists(): photos(tmp_path/'again', duck=20, swan=20)
            one_line(run(cmd, *args), words)

def test_a_plain_folder_with_a_stray_file_is_one_line_before_training(tmp_path):
    plain = photos(tmp_path/'plain', duck=10, swan=10)
    (plain/'duck'/'logo.svg').write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    one_line(run('duckling-mirror-train', '--path', plain, *QUICK), 'duck/logo.svg (not a picture)', 2)
    (plain/'duck'/'logo.svg').unlink()
    (plain/'swan'/'empty.jpg').write_bytes(b'')
    one_line(run('duckling-mirror-train', '--path', plain, *QUICK), 'swan/empty.jpg (empty)', 2)

def test_a_label_folder_whose_name_is_not_text_is_one_line(tmp_path):
    images = photos(tmp_path/'photos', duck=5, swan=5)
    os.rename(images/'swan', os.fsencode(images) + b'/caf\xe9')
    one_line(run('duckling-mirror-dataset', '--images', images, '--dest', tmp_path/'data'), "can't be a label", 2)
    one_line(run('duckling-mirror-train', '--path', images, *QUICK), "can't be a label", 2)
    assert not (tmp_path/'data').exists()

def test_a_label_named_like_what_training_writes_is_refused(tmp_path):
    images = photos(tmp_path/'photos', duck=5, swan=5)
    os.rename(images/'swan', images/'learner.pkl')
    one_line(run('duckling-mirror-dataset', '--images', images, '--dest', tmp_path/'data'), "'learner.pkl' can't be a label", 2)

def test_a_seed_out_of_range_is_one_line(trained):
    for cmd in ('duckling-mirror-train', 'duckling-mirror-cv'):
        one_line(run(cmd, '--path', trained['two'], '--seed', -1), '--seed -1: a whole number from 0', 2)

def test_ctrl_c_is_one_line_and_a_rerun_completes(tmp_path):
    images = photos(tmp_path/'photos', duck=30, swan=30)
    with PhotoServer(latency=3) as srv:  # slow enough to be stopped half-way
        patch = f'''
            import duckling_mirror.download as dl
            dl.folder_search = lambda path: lambda q, n: [dict(image='{srv.url}/' + q + '/' + f.name, title=f.name, url='')
                                                          for f in sorted(__import__('pathlib').Path(path, q).iterdir())]
            real = dl.build_dataset
            dl.build_dataset = lambda *a, **k: real(*a, **{{**k, 'schemes': ('http',), 'allow_private': True}})
        '''
        args = ['--images', images, '--dest', tmp_path/'data']
        proc = subprocess.Popen([sys.executable, script(patch, 'duckling_mirror.download:duckling_mirror_dataset'), *map(str, args)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
        for _ in range(600):  # until the first pictures are in
            if list((tmp_path/'data').glob('*/*.jpg')) or proc.poll() is not None: break
            time.sleep(0.1)
        t = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        assert time.monotonic() - t < 15, 'Ctrl-C took too long'
        assert proc.returncode == 130, (proc.returncode, err[-3000:])
        assert 'stopped (Ctrl-C)' in err and 'Traceback' not in err and len(err.strip().splitlines()) == 1, err[-3000:]
        out = run_with(patch, 'duckling_mirror.download:duckling_mirror_dataset', *args)
        assert out.returncode == 0 and 'duck: 30 ok' in out.stdout and 'swan: 30 ok' in out.stdout, out.stdout + out.stderr[-3000:]

def test_hints_are_shell_quoted(trained, tmp_path):
    d = shutil.copytree(trained['two'], tmp_path/'my data')
    out = ok(run('duckling-mirror-train', '--path', d, *QUICK))
    assert f"duckling-mirror-export --path '{d}'" in out, out

# Silently useless, silently wrong

def test_a_mirror_no_better_than_guessing_says_so(tmp_path):
    ok(run('duckling-mirror-dataset', '--images', photos(tmp_path/'photos', duck=30, goose=4), '--dest', tmp_path/'data'))
    out = ok(run('duckling-mirror-train', '--path', tmp_path/'data', *QUICK))
    assert "Not clearly better than guessing" in out and "always answering 'duck'" in out, out
    out = ok(run('duckling-mirror-export', '--path', tmp_path/'data', '--app', tmp_path/'app'))
    assert 'Not clearly better than guessing' in out, out
    assert 'not clearly better than guessing' in (tmp_path/'app'/'README.md').read_text()

def test_the_space_readme_promises_calibration_only_when_measured():
    from duckling_mirror.export import space_card
    cfg = json.loads((Path(__file__).parent.parent/'app'/'mirror.json').read_text())
    assert '"80% sure"' in space_card(cfg) and 'was right about 80% of the time' in space_card(cfg)
    cfg['temperature_fit'] = dict(calibrated=False, why='the fit ran to its limit (T = 20.00)')
    card = space_card({**cfg, 'temperature': 1.})
    assert 'not calibrated (the fit ran to its limit' in card and 'was right about 80%' not in card

def test_a_cross_validation_of_another_recipe_is_not_used(trained, tmp_path):
    d = shutil.copytree(trained['two'], tmp_path/'two')
    ok(run('duckling-mirror-cv', '--path', d, '--folds', 2, '--epochs', 0, '--freeze-epochs', 1, '--size', 96))
    out = ok(run('duckling-mirror-export', '--path', d, '--app', tmp_path/'app'))
    assert 'The cross-validation is not used: it measured another recipe (size 96, the learner 64)' in out, out
    cfg = json.loads((tmp_path/'app'/'mirror.json').read_text())
    assert 'cross_validated' not in cfg and cfg['neither']['calibrated_on'] == 'the 8 validation pictures', cfg['neither']
    ok(run('duckling-mirror-cv', '--path', d, '--folds', 2, *QUICK))  # the same recipe: used
    ok(run('duckling-mirror-export', '--path', d, '--app', tmp_path/'app'))
    assert json.loads((tmp_path/'app'/'mirror.json').read_text())['cross_validated']['folds'] == 2

def test_a_damaged_cross_validation_is_one_line_and_left_aside(trained, tmp_path):
    d = shutil.copytree(trained['two'], tmp_path/'two')
    for damage in (b'torn', None):
        if damage: (d/'cv.npz').write_bytes(damage)
        else:
            import numpy as np
            np.savez(d/'cv.npz', files=np.array(['duck/a.jpg']), vocab=np.array(['duck', 'swan']), targets=np.array([0, 1]),
                     logits=np.zeros((1, 2, 2)), folds=np.zeros((1, 2), dtype=int), secs=np.array([1.]))  # one file, two targets
        out = run('duckling-mirror-export', '--path', d, '--app', tmp_path/'app')
        assert out.returncode == 0 and 'cv.npz is damaged' in out.stdout and 'Traceback' not in out.stderr, out

def test_export_does_not_overwrite_files_it_did_not_write(trained, tmp_path):
    space = tmp_path/'space'  # a clone of someone's Space
    space.mkdir()
    mine = {'README.md': '---\nsdk: gradio\n---\nMy Space\n', 'app.py': 'print("mine")\n', 'requirements.txt': 'torch\n', '.gitattributes': '*.bin lfs\n'}
    for f, text in mine.items(): (space/f).write_text(text)
    one_line(run('duckling-mirror-export', '--path', trained['two'], '--app', space), 'which this export did not write', 2)
    assert {f: (space/f).read_text() for f in mine} == mine and not (space/'model.onnx').exists()
    ok(run('duckling-mirror-export', '--path', trained['two'], '--app', space, '--overwrite'))
    assert Mirror.load(space).labels == ['duck', 'swan']
