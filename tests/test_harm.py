"""No harm from a shared folder, a full disk or a kill (issue 16). Each test is one way the project hurt a person, left a
torn file or answered with a traceback, tried as a hostile or careless user would; each failed on the code before the
fix. Kills, Ctrl-C and a full disk on the command line run as processes; the rest calls the commands' functions in
this process, where a problem a person can fix is a `MirrorError` (which the command line says in one line: see
`errors`), since starting fastai takes 10 s a process. (The push, the download deadline, the address checks and the
build lock have theirs in test_push.py and test_fetch.py.)"""
import contextlib, errno, io, json, os, shutil, signal, subprocess, sys, textwrap, threading, time
from contextlib import contextmanager
from pathlib import Path
from unittest.mock import patch
import pytest
from PIL import Image, ImageEnhance
from test_commands import ENV, ok, run
from duckling_mirror.errors import MirrorError
from duckling_mirror.dataset import check_dataset, read_manifest, sha256, write_manifest
from duckling_mirror.download import build_dataset, folder_search, folder_terms
from duckling_mirror.train import duckling_mirror_train, save_learner, train
from duckling_mirror.evaluate import duckling_mirror_cv
from duckling_mirror.interpret import apply_cleaning, duckling_mirror_undo, undo_cleaning
from duckling_mirror.export import duckling_mirror_export, export_mirror
from duckling_mirror.space import space_card
from duckling_mirror.cli import duckling_mirror
from duckling_mirror.mirror import Mirror, load_mirror
from duckling_mirror.testing import FakeHub, PhotoServer, sample_photos

QUICK = dict(epochs=0, freeze_epochs=1, size=64)  # a recipe that trains in seconds

def one_line(out: subprocess.CompletedProcess, words: str, code: int = None) -> str:
    "The one line on stderr of a command that failed as a person should see it: no traceback, `words` in it"
    assert out.returncode != 0 and (code is None or out.returncode == code), (out.returncode, out.stderr[-3000:])
    assert words in out.stderr, out.stderr[-3000:]
    assert 'Traceback' not in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr[-3000:]
    return out.stderr

def refused(f, words: str):
    "`f()` stops with a `MirrorError` (one line, on the command line) that says `words`"
    with pytest.raises(MirrorError) as e: f()
    assert words in str(e.value) and '\n' not in str(e.value), str(e.value)
    return str(e.value)

def photos(d: Path, **n) -> Path:
    "A folder of the sample photos, `n[label]` of each label"
    for label, k in n.items():
        (d/label).mkdir(parents=True)
        for f in sorted((sample_photos()/label).glob('*.jpg'))[:k]: shutil.copy(f, d/label)
    return d

def dataset(images: Path, dest: Path) -> Path:
    "A dataset of the photos in `images`, built as `duckling-mirror-dataset --images` builds it"
    build_dataset(folder_terms(images), dest, search=folder_search(images), schemes=('file',), progress=False)
    return dest

def files(d: Path) -> dict:
    return {str(f.relative_to(d)): f.read_bytes() for f in sorted(Path(d).rglob('*')) if f.is_file() and not f.is_symlink()}

@pytest.fixture(scope='module')
def trained(tmp_path_factory) -> dict:
    "Two datasets with their learners (duck/swan, and duck/goose/swan) and the first one's exported app"
    t, res = tmp_path_factory.mktemp('trained'), {}
    for name, n in (('two', dict(duck=20, swan=20)), ('three', dict(duck=12, swan=12, goose=8))):
        res[name] = dataset(photos(t/f'{name}_photos', **n), t/name)
        save_learner(train(res[name], quiet=True, **QUICK))
    res['app'] = export_mirror(train(res['two'], quiet=True, **QUICK), t/'app')
    return res

def copy(d: Path, to: Path) -> Path: return Path(shutil.copytree(d, to))

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
    from duckling_mirror.export import duckling_mirror_export
    duckling_mirror_export()
'''

def killed_export(data: Path, app: Path, k: int):
    "Export the learner of `data` into `app` in a process killed as it moves the `k`-th file into `app`"
    script = app.parent/'export.py'
    script.write_text(textwrap.dedent(KILL_AT.format(app=str(app), k=k)))
    out = subprocess.run([sys.executable, script, '--path', data, '--app', app], capture_output=True, text=True, env=ENV, timeout=600)
    assert out.returncode == -signal.SIGKILL, out.stderr[-3000:]

@pytest.mark.parametrize('k', [1, 5])
def test_an_export_killed_at_any_moment_leaves_one_whole_app(trained, tmp_path, k):
    "Killed before the export's commit (1), or half-way through moving its files into place (5): one whole app, old or new"
    app = copy(trained['app'], tmp_path/'app')
    killed_export(trained['three'], app, k)
    m = Mirror.load(app)  # finishes a committed export
    assert m.labels == (['duck', 'swan'] if k == 1 else ['duck', 'goose', 'swan']), m.labels
    assert m.logits([sample_photos()/'goose'/'goose_001.jpg']).shape == (1, len(m.labels))
    duckling_mirror_export(path=str(trained['three']), app=str(app))  # and the next export goes through
    assert Mirror.load(app).labels == ['duck', 'goose', 'swan']
    assert sorted(f.name for f in app.iterdir()) == sorted(f.name for f in trained['app'].iterdir())

def test_a_push_after_a_killed_export_sends_the_export_whole(trained, tmp_path):
    from duckling_mirror.deploy import push_mirror
    import huggingface_hub.constants
    app = copy(trained['app'], tmp_path/'app')
    killed_export(trained['three'], app, 5)
    with FakeHub(tokens={'hf_alice': 'alice'}) as hub, patch.object(huggingface_hub.constants, 'HF_HUB_DISABLE_XET', True):
        push_mirror(app, 'alice/m', token='hf_alice', endpoint=hub.url)
        sent = hub.files['alice/m']
    cfg = json.loads(sent['mirror.json'])
    assert cfg['labels'] == ['duck', 'goose', 'swan'] and all(sha256_of(sent[f]) == h for f, h in cfg['files'].items())

def sha256_of(b: bytes) -> str:
    import hashlib
    return hashlib.sha256(b).hexdigest()

def test_a_learner_save_that_dies_keeps_the_learner_before(trained, tmp_path):
    d = copy(trained['two'], tmp_path/'two')
    before = (d/'learner.pkl').read_bytes()
    def dies(*a): raise KeyboardInterrupt
    with patch('os.rename', dies), pytest.raises(KeyboardInterrupt): duckling_mirror_train(path=str(d), **QUICK)
    assert (d/'learner.pkl').read_bytes() == before

def test_the_app_refuses_a_mirror_json_that_does_not_fit_its_model(trained, tmp_path):
    cfg = json.loads((trained['app']/'mirror.json').read_text())
    for change, words in [(dict(temperature=0), 'temperature 0'), (dict(temperature=float('nan')), 'temperature nan'),
                          (dict(temperature=-1), 'temperature -1'), (dict(size=20000), 'size 20000'),
                          (dict(labels=['duck', 'swan', 'neither']), 'has 3 labels, but model.onnx gives 2 outputs')]:
        app = copy(trained['app'], tmp_path/str(len(list(tmp_path.iterdir()))))
        (app/'mirror.json').write_text(json.dumps({**cfg, **change}))
        with pytest.raises(ValueError, match=words): Mirror.load(app)
    (app/'model.onnx').write_bytes((trained['app']/'model.onnx').read_bytes()[:1000])  # torn
    (app/'mirror.json').write_text((trained['app']/'mirror.json').read_text())
    assert 'another model.onnx' in load_mirror(app)[1]
    one_line(run('duckling-mirror-serve', '--app', app), 'another model.onnx', 2)

def test_an_export_ready_folder_that_is_not_an_export_moves_nothing(trained, tmp_path):
    "A cloned app holding `.export-ready` as a link to someone's folder, or as a folder of files that are no export"
    victim = tmp_path/'victim'
    victim.mkdir(); (victim/'README.md').write_text('notes'); (victim/'id_key').write_text('secret')
    app = copy(trained['app'], tmp_path/'clone')
    (app/'.export-ready').symlink_to(victim)
    before = files(app)
    Mirror.load(app)
    refused(lambda: duckling_mirror_export(path=str(trained['two']), app=str(app)), '.export-ready is not an export of this project')
    assert sorted(os.listdir(victim)) == ['README.md', 'id_key'] and files(app) == before
    (app/'.export-ready').unlink(); (app/'.export-ready').mkdir(); (app/'.export-ready'/'README.md').write_text('# Pwned\n')
    Mirror.load(app)
    assert (app/'README.md').read_bytes() == before['README.md']

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
    (d/'filler').write_bytes(bytes(max(0, shutil.disk_usage(d).free - leave_kb * 1024)))
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
        assert set(read_manifest(disk/'data').status) == {'ok'} and check_dataset(disk/'data') == []

def test_a_full_disk_while_saving_the_learner_keeps_the_one_before(trained, tmp_path):
    with small_disk(tmp_path/'disk', 60) as disk:
        d = copy(trained['two'], disk/'two')
        before = (d/'learner.pkl').read_bytes()
        fill(disk, 2000)
        with pytest.raises(OSError) as e: duckling_mirror_train(path=str(d), **QUICK)
        assert e.value.errno == errno.ENOSPC  # the command line says "no space left on the disk", in one line (see `errors`)
        assert (d/'learner.pkl').read_bytes() == before and not [f for f in d.iterdir() if f.name.startswith('.') and f.name != '.features']

def test_a_full_disk_while_exporting_keeps_the_app_before(trained, tmp_path):
    with small_disk(tmp_path/'disk', 60) as disk:
        app = copy(trained['app'], disk/'app')
        before = files(app)
        fill(disk, 5000)
        with pytest.raises(OSError) as e: duckling_mirror_export(path=str(trained['three']), app=str(app))
        assert e.value.errno == errno.ENOSPC
        assert files(app) == before and not list(app.glob('.export*'))
        Mirror.load(app)

# No path leaves the dataset

def test_a_manifest_row_outside_the_dataset_deletes_nothing(trained, tmp_path):
    d, again = copy(trained['two'], tmp_path/'two'), photos(tmp_path/'again', duck=20, swan=20)
    victim = tmp_path/'precious.jpg'
    victim.write_bytes((d/read_manifest(d).file[0]).read_bytes())  # the same bytes as the first picture: a "duplicate"
    df = read_manifest(d)
    df.loc[1, ['file', 'sha256', 'phash']] = str(victim), df.sha256[0], df.phash[0]
    write_manifest(df, d)
    words = f"manifest.csv line 3: '{victim}' is not a picture's place in the dataset"
    one_line(run('duckling-mirror-dataset', '--images', again, '--dest', d), words, 1)
    one_line(run('duckling-mirror-check', '--path', d), words, 1)
    refused(lambda: duckling_mirror_train(path=str(d), **QUICK), words)
    refused(lambda: duckling_mirror_cv(path=str(d), folds=2, **QUICK), words)
    refused(lambda: duckling_mirror_undo(path=str(d)), words)
    assert victim.exists()

@pytest.mark.parametrize('name', ['cleaning.jsonl', 'learner.pkl', 'duck', ''])
def test_a_manifest_row_naming_the_datasets_own_files_deletes_nothing(trained, tmp_path, name):
    d = copy(trained['two'], tmp_path/'two')
    apply_cleaning(d, delete=[read_manifest(d).file[5]])
    df, before = read_manifest(d), files(d)
    df.loc[3, ['file', 'sha256']] = name, df.sha256[2]
    write_manifest(df, d)
    one_line(run('duckling-mirror-dataset', '--images', photos(tmp_path/'again', duck=20, swan=20), '--dest', d), 'manifest.csv line 5', 1)
    kept = lambda fs: {f: b for f, b in fs.items() if f != 'manifest.csv' and not f.startswith('searches/')}  # searches are made anew
    assert kept(files(d)) == kept(before)

def test_a_manifest_row_listed_twice_is_refused(trained, tmp_path):
    d = copy(trained['two'], tmp_path/'two')
    df = read_manifest(d)
    import pandas as pd
    write_manifest(pd.concat([df, df.iloc[[0]]], ignore_index=True), d)
    refused(lambda: check_dataset(d), 'is listed again (first on line 2)')
    refused(lambda: duckling_mirror_cv(path=str(d), folds=2, **QUICK), 'is listed again')

def test_a_label_folder_that_is_a_link_writes_nothing_outside(tmp_path):
    images, outside = photos(tmp_path/'photos', duck=5, swan=5), tmp_path/'outside'
    outside.mkdir()
    (tmp_path/'data').mkdir(); (tmp_path/'data'/'swan').symlink_to(outside)
    one_line(run('duckling-mirror-dataset', '--images', images, '--dest', tmp_path/'data'), 'swan is a link or a file', 1)
    assert not list(outside.iterdir())

def test_a_journal_naming_files_outside_moves_nothing(trained, tmp_path):
    d = copy(trained['two'], tmp_path/'two')
    (tmp_path/'escaped').mkdir()
    (tmp_path/'escaped'/'evil.jpg').write_bytes(b'evil'); (tmp_path/'secret2.txt').write_text('secret')
    f = read_manifest(d).file[0]
    for entries in ([dict(id='a1', action='delete', file='../escaped/evil.jpg', to=f, sha256=sha256(d/f))],
                    [dict(id='a2', action='delete', file=f, to='../secret2.txt', sha256=sha256(tmp_path/'secret2.txt'))],
                    [dict(id='a3', action='delete', file=f, to=f'.trash/{f}', sha256=sha256(d/f), before='ok')]):
        (d/'cleaning.jsonl').write_text(''.join(json.dumps(e) + '\n' for e in entries))
        before = files(tmp_path)
        refused(lambda: duckling_mirror_undo(path=str(d)), 'cleaning.jsonl line 1')
        assert files(tmp_path) == before

def killed(f, *args, at: int = 6, after: bool = False, **kwargs):
    "Run `f` as if killed as it moves its `at`-th file (before or `after` the move): nothing it would write after that is written"
    import duckling_mirror.interpret as it
    real, n, dead = (os.replace, it.write_manifest, it._journal_add), [0], []
    def move(a, b):
        n[0] += 1
        if n[0] == at and after: real[0](a, b)
        if n[0] == at: dead.append(True); raise KeyboardInterrupt
        return real[0](a, b)
    alive = lambda g: lambda *a, **k: None if dead else g(*a, **k)
    with patch('os.replace', move), patch.object(it, 'write_manifest', alive(real[1])), patch.object(it, '_journal_add', alive(real[2])):
        with pytest.raises(KeyboardInterrupt): f(*args, **kwargs)

@pytest.mark.parametrize('after', [False, True], ids=['before-a-move', 'after-a-move'])
def test_a_killed_cleaning_or_undo_is_put_right_by_undo(trained, tmp_path, after):
    d = copy(trained['two'], tmp_path/'two')
    pictures, manifest = {f: b for f, b in files(d).items() if f.endswith('.jpg')}, read_manifest(d)
    fs, jpgs = list(manifest.file), lambda: {f: b for f, b in files(d).items() if f.endswith('.jpg')}
    killed(apply_cleaning, d, delete=fs[:10], relabel={f: 'swan' for f in fs[20:24]}, after=after)
    undo_cleaning(d)
    assert check_dataset(d) == [] and read_manifest(d).equals(manifest) and jpgs() == pictures
    apply_cleaning(d, delete=fs[:10], relabel={f: 'swan' for f in fs[20:24]})
    killed(undo_cleaning, d, after=after)
    undo_cleaning(d)  # finishes what the killed undo began
    assert check_dataset(d) == [] and read_manifest(d).equals(manifest) and jpgs() == pictures

# A traceback where a line belongs

def burst(src: Path, d: Path, n: int = 6) -> Path:
    "`n` look-alike shots of the photo `src` in `d` (a little brighter or cropped each time), as a burst gives"
    d.mkdir(parents=True)
    im = Image.open(src).convert('RGB')
    for i in range(n):
        ImageEnhance.Brightness(im).enhance(1 + 0.04 * i).crop((i, i, im.width - i, im.height - i)).save(d/f'shot_{i}.jpg', quality=92)
    return d

def test_cross_validating_labels_of_look_alike_photos_is_one_line_before_training(tmp_path):
    from duckling_mirror.dataset import file_info
    shots = burst(sample_photos()/'duck'/'duck_001.jpg', tmp_path/'plain'/'duck')
    hashes = [int(file_info(f)['phash'], 16) for f in sorted(shots.iterdir())]
    assert max((a ^ b).bit_count() for a, b in zip(hashes, hashes[1:])) <= 10  # look-alikes, in a chain
    photos(tmp_path/'plain', swan=6)
    with patch('duckling_mirror.evaluate.fold_logits', side_effect=AssertionError('trained')):
        refused(lambda: duckling_mirror_cv(path=str(tmp_path/'plain'), folds=2, **QUICK), 'duck: its 6 pictures are 1 group of look-alike photos')

def test_no_picture_to_validate_on_is_one_line_before_training(trained, tmp_path):
    refused(lambda: duckling_mirror_train(path=str(trained['two']), valid_pct=0.01, **QUICK),
            '--valid-pct 0.01: a validation share of 0.01 of 40 pictures is not one picture')
    few = photos(tmp_path/'few', duck=2, swan=2)
    refused(lambda: duckling_mirror(images=str(few), dest=str(tmp_path/'data'), app=str(tmp_path/'app'), recipe='fine_tune', **QUICK),
            'is not one picture')
    assert not (tmp_path/'app').exists()
    duckling_mirror(images=str(few), dest=str(tmp_path/'data'), app=str(tmp_path/'app'))  # a head, chosen by a 2-fold cross-validation
    assert json.loads((tmp_path/'app'/'mirror.json').read_text())['cross_validated']['folds'] == 2

def rewrite_manifest(d: Path, change):
    "Hand-edit `d/manifest.csv`: `change(rows)` on its rows as lists of text, header first"
    import csv
    with open(d/'manifest.csv', newline='') as f: rows = list(csv.reader(f))
    change(rows)
    with open(d/'manifest.csv', 'w', newline='') as f: csv.writer(f).writerows(rows)

def test_a_damaged_manifest_is_one_line_for_every_command(trained, tmp_path):
    def rename(old, new): return lambda rows: rows[0].__setitem__(rows[0].index(old), new)
    def cell(col, v): return lambda rows: rows[2].__setitem__(rows[0].index(col), v)
    again = photos(tmp_path/'again', duck=20, swan=20)
    for change, words in [(rename('status', 'state'), 'lost its status column'), (rename('file', 'fichier'), 'lost its file column'),
                          (rename('label', 'class'), 'lost its label column'), (rename('image', 'url_'), 'lost its image column'),
                          (cell('width', '400.5'), "line 3: width '400.5' is not a whole number"),
                          (cell('phash', 'zz'), "line 3: phash 'zz' is not a perceptual hash"), (cell('phash', 'f' * 40), 'is not a perceptual hash')]:
        d = copy(trained['two'], tmp_path/str(len(list(tmp_path.iterdir()))))
        rewrite_manifest(d, change)
        for f in (lambda: check_dataset(d), lambda: duckling_mirror_train(path=str(d), **QUICK),
                  lambda: duckling_mirror_cv(path=str(d), folds=2, **QUICK), lambda: duckling_mirror_undo(path=str(d))):
            refused(f, words)
    one_line(run('duckling-mirror-dataset', '--images', again, '--dest', d), words, 1)
    one_line(run('duckling-mirror-check', '--path', d), words, 1)

def test_a_plain_folder_with_a_stray_file_is_one_line_before_training(tmp_path):
    plain = photos(tmp_path/'plain', duck=10, swan=10)
    for stray, words in [('duck/logo.svg', 'duck/logo.svg (not a picture)'), ('swan/empty.jpg', 'swan/empty.jpg (empty)'),
                         ('duck/pipe.jpg', 'duck/pipe.jpg (not a file)'), ('swan/loop.jpg', 'swan/loop.jpg (not a file)')]:
        f = plain/stray
        if 'svg' in stray: f.write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
        elif 'pipe' in stray: os.mkfifo(f)  # reading it would wait forever
        elif 'loop' in stray: f.symlink_to(f)
        else: f.write_bytes(b'')
        with patch('duckling_mirror.train.train', side_effect=AssertionError('trained')):
            refused(lambda: duckling_mirror_train(path=str(plain), **QUICK), words)
        f.unlink()

def test_a_label_folder_whose_name_is_not_text_is_one_line(tmp_path):
    images = photos(tmp_path/'photos', duck=5, swan=5)
    os.rename(images/'swan', os.fsencode(images) + b'/caf\xe9')
    one_line(run('duckling-mirror-dataset', '--images', images, '--dest', tmp_path/'data'), "can't be a label", 2)
    refused(lambda: duckling_mirror_train(path=str(images), **QUICK), "can't be a label")
    assert not (tmp_path/'data').exists()

def test_a_label_named_like_what_training_writes_is_refused(tmp_path):
    images = photos(tmp_path/'photos', duck=5, swan=5)
    os.rename(images/'swan', images/'learner.pkl')
    one_line(run('duckling-mirror-dataset', '--images', images, '--dest', tmp_path/'data'), "'learner.pkl' can't be a label", 2)

def test_a_seed_out_of_range_is_one_line(trained):
    for f in (duckling_mirror_train, duckling_mirror_cv): refused(lambda: f(path=str(trained['two']), seed=-1), '--seed -1: a whole number from 0')

@pytest.mark.parametrize('sig,words,rc', [(signal.SIGINT, 'stopped (Ctrl-C)', 130), (signal.SIGTERM, 'stopped (SIGTERM)', 143)],
                         ids=['ctrl-c', 'sigterm'])
def test_ctrl_c_is_one_line_and_a_rerun_completes(tmp_path, sig, words, rc):
    images = photos(tmp_path/'photos', duck=30, swan=30)
    with PhotoServer(latency=3) as srv:  # slow enough to be stopped half-way
        script = tmp_path/'dataset.py'
        script.write_text(textwrap.dedent(f'''
            import pathlib, duckling_mirror.download as dl
            dl.folder_search = lambda path: lambda q, n: [dict(image='{srv.url}/' + q + '/' + f.name, title=f.name, url='')
                                                          for f in sorted(pathlib.Path(path, q).iterdir())]
            real = dl.build_dataset
            dl.build_dataset = lambda *a, **k: real(*a, **{{**k, 'schemes': ('http',), 'allow_private': True}})
            dl.duckling_mirror_dataset()
        '''))
        args = [sys.executable, script, '--images', images, '--dest', tmp_path/'data']
        # as from a terminal: an xdist worker ignores SIGINT, and a child would inherit that (then Ctrl-C does nothing)
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        for _ in range(3000):  # until the first pictures are in (a loaded CI machine may take a minute just to import)
            if list((tmp_path/'data').glob('*/*.jpg')) or proc.poll() is not None: break
            time.sleep(0.1)
        assert proc.poll() is None and list((tmp_path/'data').glob('*/*.jpg')), 'the build was not downloading when Ctrl-C was to come'
        t = time.monotonic()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
        assert time.monotonic() - t < 15, f'{words} took too long'
        assert proc.returncode == rc, (proc.returncode, err[-3000:], out[-1000:])
        assert words in err and 'Traceback' not in err and len(err.strip().splitlines()) == 1, err[-3000:]
        out = subprocess.run(args, capture_output=True, text=True, env=ENV, timeout=600)
        assert out.returncode == 0 and 'duck: 30 ok' in out.stdout and 'swan: 30 ok' in out.stdout, out.stdout + out.stderr[-3000:]

def test_hints_are_shell_quoted(trained, tmp_path, capsys):
    d = copy(trained['two'], tmp_path/'my data')
    duckling_mirror_train(path=str(d), **QUICK)
    assert f"duckling-mirror-export --path '{d}'" in capsys.readouterr().out

# Silently useless, silently wrong

def test_a_mirror_no_better_than_guessing_says_so(tmp_path, capsys):
    images = photos(tmp_path/'photos', duck=30)
    (images/'goose').mkdir()
    for f in sorted((images/'duck').iterdir())[::8]: f.rename(images/'goose'/f.name)  # 4 ducks called geese: nothing to learn
    d = dataset(images, tmp_path/'data')
    duckling_mirror_train(path=str(d), **QUICK)
    out = capsys.readouterr().out
    assert "Not clearly better than guessing" in out and "always answering 'duck'" in out, out
    duckling_mirror_export(path=str(d), app=str(tmp_path/'app'))
    assert 'Not clearly better than guessing' in capsys.readouterr().out
    assert 'not clearly better than guessing' in (tmp_path/'app'/'README.md').read_text()

def test_the_space_readme_promises_calibration_only_when_measured():
    cfg = json.loads((Path(__file__).parent.parent/'app'/'mirror.json').read_text())
    assert '"80% sure"' in space_card(cfg) and 'was right about 80% of the time' in space_card(cfg)
    cfg['temperature_fit'] = dict(calibrated=False, why='the fit ran to its limit (T = 20.00)')
    card = space_card({**cfg, 'temperature': 1.})
    assert 'not calibrated (the fit ran to its limit' in card and 'was right about 80%' not in card

def test_a_learner_saved_by_fastai_alone_publishes_no_figures(trained, tmp_path, capsys):
    d = copy(trained['two'], tmp_path/'two')
    train(d, quiet=True, **QUICK).export('learner.pkl')  # as the original tutorial saves it
    duckling_mirror_export(path=str(d), app=str(tmp_path/'app'))
    card = (tmp_path/'app'/'README.md').read_text()
    assert 'Not measured: the learner was saved without the record of its pictures' in card and 'on 0 pictures' not in card and 'on pictures it kept no record of' in card, card
    assert 'keeps no record of its pictures' in capsys.readouterr().out

def test_a_cross_validation_of_another_recipe_is_not_used(trained, tmp_path, capsys):
    d = copy(trained['two'], tmp_path/'two')
    duckling_mirror_cv(path=str(d), folds=2, **{**QUICK, 'size': 96})
    duckling_mirror_export(path=str(d), app=str(tmp_path/'app'))
    out = capsys.readouterr().out
    assert 'The cross-validation is not used: it measured another recipe (' in out and 'size 96, the learner 64' in out, out
    assert 'is calibrated on the cross-validation that chose its recipe instead' in out, out
    cfg = json.loads((tmp_path/'app'/'mirror.json').read_text())
    assert cfg['cross_validated']['folds'] == 5 and cfg['neither']['calibrated_on'].startswith('out-of-fold predictions of a 1 x 5-fold')
    d = copy(trained['two'], tmp_path/'again')
    learn = train(d, 'head', size=64, quiet=True)  # no cross-validation of its own
    save_learner(learn)
    duckling_mirror_cv(path=str(d), folds=2, recipe='head', size=96)
    duckling_mirror_export(path=str(d), app=str(tmp_path/'app2'))
    assert 'it measured another recipe (size 96, the learner 64)' in capsys.readouterr().out
    cfg = json.loads((tmp_path/'app2'/'mirror.json').read_text())
    assert 'cross_validated' not in cfg and cfg['neither']['calibrated_on'] == 'the 8 validation pictures', cfg['neither']

def test_a_damaged_cross_validation_is_one_line_and_left_aside(trained, tmp_path, capsys):
    import numpy as np
    d = copy(trained['two'], tmp_path/'two')
    arrays = dict(files=np.array(['duck/a.jpg', 'swan/b.jpg']), vocab=np.array(['duck', 'swan']), targets=np.array([0, 1]),
                  logits=np.zeros((1, 2, 2)), folds=np.array([[0, 1]]), secs=np.array([1., 1.]))
    for damage in (dict(files=np.array(['duck/a.jpg'])), dict(targets=np.array([0., 1.])), dict(recipe=np.array('[1]')),
                   dict(folds=np.array([[0, 0]])), dict(secs=np.array([1.]))):
        np.savez(d/'cv.npz', **{**arrays, **damage})
        duckling_mirror_export(path=str(d), app=str(tmp_path/'app'))
        assert 'cv.npz is not used' in capsys.readouterr().out
    (d/'cv.npz').write_bytes(b'torn')
    duckling_mirror_export(path=str(d), app=str(tmp_path/'app'))
    assert 'cv.npz is not used' in capsys.readouterr().out

def test_export_does_not_overwrite_files_it_did_not_write(trained, tmp_path):
    space = tmp_path/'space'  # a clone of someone's Space
    space.mkdir()
    mine = {'README.md': '---\nsdk: gradio\n---\nMy Space\n', 'app.py': 'print("mine")\n', 'requirements.txt': 'torch\n', '.gitattributes': '*.bin lfs\n'}
    for f, text in mine.items(): (space/f).write_text(text)
    refused(lambda: duckling_mirror_export(path=str(trained['two']), app=str(space)), 'which this export did not write')
    assert {f: (space/f).read_text() for f in mine} == mine and not (space/'model.onnx').exists()
    duckling_mirror_export(path=str(trained['two']), app=str(space), overwrite=True)
    assert Mirror.load(space).labels == ['duck', 'swan']
    refused(lambda: duckling_mirror_export(path=str(trained['two']), app=str(trained['two'])), 'is a dataset (it has manifest.csv)')
