"Each step's command, run as a user runs it (its console script, its own process), offline, on the fixture photos."
import json, os, shutil, subprocess, sys, time, tomllib
from pathlib import Path
import pytest
from conftest import free_port
from duckling_mirror.testing import FakeHub, sample_photos

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = tomllib.loads((ROOT/'pyproject.toml').read_text())['project']['scripts']
ENV = {**os.environ, 'GRADIO_ANALYTICS_ENABLED': 'False', 'PYTHONWARNINGS': 'ignore::DeprecationWarning'}

def run(cmd: str, *args, env: dict = None, timeout: float = 600) -> subprocess.CompletedProcess:
    "Run the console script `cmd` with `args`; its exit code and output"
    exe = Path(sys.executable).parent/cmd
    assert exe.exists(), f'{cmd} is not installed: pip install -e .'
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, env=env or ENV, timeout=timeout)

def ok(out: subprocess.CompletedProcess) -> str:
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout

@pytest.fixture(scope='module')
def photos(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp('photos')
    for c in ('duck', 'swan'): shutil.copytree(sample_photos()/c, d/c)
    return d

@pytest.fixture(scope='module')
def steps(photos, tmp_path_factory) -> dict:
    "The steps one after the other, as a learner would run them: what each printed, and where things went"
    t = tmp_path_factory.mktemp('steps')
    data, app = t/'data', t/'app'
    res = dict(data=data, app=app)
    res['dataset'] = ok(run('duckling-mirror-dataset', '--images', photos, '--dest', data))
    res['check'] = ok(run('duckling-mirror-check', '--path', data))
    res['train'] = ok(run('duckling-mirror-train', '--path', data, '--recipe', 'head', '--size', 64))
    res['cv'] = ok(run('duckling-mirror-cv', '--path', data, '--folds', 2, '--recipe', 'head', '--size', 64))
    res['export'] = ok(run('duckling-mirror-export', '--path', data, '--app', app))
    return res

def test_every_command_is_listed_and_answers_help():
    assert set(SCRIPTS) == {'duckling-mirror', 'duckling-mirror-dataset', 'duckling-mirror-check', 'duckling-mirror-train',
                            'duckling-mirror-cv', 'duckling-mirror-undo', 'duckling-mirror-export', 'duckling-mirror-serve',
                            'duckling-mirror-push', 'duckling-mirror-suspects'}
    for cmd in SCRIPTS:
        out = ok(run(cmd, '--help'))
        assert out.startswith('usage: ') and len(out.splitlines()) > 3, (cmd, out)
    assert 'one folder of pictures per label' in ok(run('duckling-mirror-train', '--help'))  # its docments

def test_help_and_a_typo_import_no_torch(tmp_path):
    "Every command's --help, and an option it does not have, are answered with a torch on the path that cannot be imported"
    (tmp_path/'torch').mkdir(); (tmp_path/'torch'/'__init__.py').write_text('raise ImportError("torch was imported")')
    env = {**ENV, 'PYTHONPATH': os.pathsep.join([str(tmp_path), os.environ.get('PYTHONPATH', '')])}
    for cmd in SCRIPTS:
        assert ok(run(cmd, '--help', env=env)).startswith(f'usage: {cmd} '), cmd
        out = run(cmd, '--hepl', env=env)
        assert (out.returncode, out.stderr) == (2, f'{cmd}: no option --hepl; did you mean --help? ({cmd} --help lists them)\n'), out.stderr
    out = run('duckling-mirror', '--imges', 'photos', env=env)
    assert 'no option --imges; did you mean --images?' in out.stderr

def test_a_job_with_its_output_in_a_pipe_says_each_line_as_it_goes(photos, tmp_path):
    "As under `tee` or `nohup`: the first line arrives while the job still runs, not when it ends"
    exe = Path(sys.executable).parent/'duckling-mirror'
    proc = subprocess.Popen([exe, '--images', photos, '--dest', tmp_path/'data', '--app', tmp_path/'app', '--recipe', 'head',
                             '--size', '64'], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    first = proc.stdout.readline()
    running = proc.poll() is None
    out, err = proc.communicate(timeout=600)
    assert first and running, (first, err[-2000:])
    assert proc.returncode == 0, err[-2000:]

def test_a_torchvision_that_does_not_match_torch_is_one_line(tmp_path):
    "The error a mismatched pair raises, from a stand-in torchvision: one line naming both versions and the fix"
    (tmp_path/'torchvision').mkdir()
    (tmp_path/'torchvision'/'__init__.py').write_text('raise RuntimeError("operator torchvision::nms does not exist")')
    env = {**ENV, 'PYTHONPATH': os.pathsep.join([str(tmp_path), os.environ.get('PYTHONPATH', '')])}
    for cmd in ('duckling-mirror', 'duckling-mirror-train', 'duckling-mirror-undo'):
        out = run(cmd, '--path' if cmd != 'duckling-mirror' else '--images', tmp_path, env=env)
        assert out.returncode == 1 and out.stderr.count('\n') == 1, out.stderr[-2000:]
        assert out.stderr.startswith(f'{cmd}: torch ') and 'were not built together' in out.stderr and '--index-url' in out.stderr

def test_dataset_and_check(steps, photos):
    assert 'duck: 30 ok' in steps['dataset'] and 'swan: 30 ok' in steps['dataset']
    assert 'the files and the manifest agree' in steps['check']
    again = ok(run('duckling-mirror-dataset', '--images', photos, '--dest', steps['data']))  # resumes: the same dataset
    assert 'duck: 30 ok' in again

def test_check_finds_a_stray_file(steps, tmp_path):
    d = shutil.copytree(steps['data'], tmp_path/'data')
    (d/'duck'/'stray.jpg').write_bytes(b'x')
    out = run('duckling-mirror-check', '--path', d)
    assert out.returncode == 1 and 'duck/stray.jpg: on disk but not in the manifest' in out.stdout, out

def test_train_cv_export(steps):
    assert 'Training on 60 pictures' in steps['train'] and '(head efficientnet_lite0)' in steps['train'] and (steps['data']/'learner.pkl').exists()
    assert 'Error rate on the 12 validation pictures' in steps['train']
    assert '2 trainings (2 folds x 1 repeats) over 60 pictures' in steps['cv'] and (steps['data']/'cv.npz').exists()
    cfg = json.loads((steps['app']/'mirror.json').read_text())
    assert 'cross-validation over 60 pictures' in cfg['neither']['calibrated_on'], cfg['neither']
    assert cfg['cross_validated']['folds'] == 2 and cfg['labels'] == ['duck', 'swan']
    assert {'model.onnx', 'app.py', 'mirror.py', 'requirements.txt', 'README.md'} <= {f.name for f in steps['app'].iterdir()}
    assert 'duckling-mirror-serve --app' in steps['export']

def test_train_on_every_picture(steps, tmp_path):
    d = shutil.copytree(steps['data'], tmp_path/'data')
    out = run('duckling-mirror-train', '--path', d, '--epochs', 0, '--freeze-epochs', 1, '--size', 64, '--valid-pct', 0)
    assert out.returncode == 0 and (d/'learner.pkl').exists(), out.stderr[-3000:]
    assert 'Error rate' not in out.stdout and 'generator is empty' not in out.stdout + out.stderr, out  # no validation, no noise about it

def test_undo(steps, tmp_path):
    from duckling_mirror.interpret import apply_cleaning
    from duckling_mirror.dataset import read_manifest
    d = shutil.copytree(steps['data'], tmp_path/'data')
    before = read_manifest(d)
    assert 'Nothing to undo' in ok(run('duckling-mirror-undo', '--path', d))
    apply_cleaning(d, delete=['duck/' + sorted(os.listdir(d/'duck'))[0]], relabel={'swan/' + sorted(os.listdir(d/'swan'))[0]: 'duck'})
    out = ok(run('duckling-mirror-undo', '--path', d, '--n', 1))
    assert '1 cleaning actions undone' in out
    assert '1 cleaning actions undone' in ok(run('duckling-mirror-undo', '--path', d))
    assert read_manifest(d).equals(before)

def test_suspects(steps, tmp_path):
    import pandas as pd
    d = shutil.copytree(steps['data'], tmp_path/'data')
    out = ok(run('duckling-mirror-suspects', '--path', d, '--folds', 2, '--epochs', 0, '--size', 64))
    assert out.startswith(f'Using the cross-validation in {d/"cv.npz"}: 2 trainings'), out  # the one duckling-mirror-cv made
    sus = pd.read_csv(d/'suspects.csv', keep_default_na=False)
    assert list(sus.columns) == ['file', 'label', 'suggestion', 'score', 'flagged', 'reason', 'image', 'url', 'title', 'query', 'source']
    assert len(sus) == 60 and sus.flagged.is_monotonic_decreasing
    assert f'{sus.flagged.sum()} of 60 pictures flagged' in out and str(d/'suspects.csv') in out
    (d/'cv.npz').write_bytes(b'torn')
    out = ok(run('duckling-mirror-suspects', '--path', d, '--folds', 2, '--epochs', 0, '--size', 64, '--accept'))
    assert out.startswith(f'Cross-validating, as {d/"cv.npz"} is damaged'), out
    n = pd.read_csv(d/'suspects.csv').flagged.sum()
    assert (f'{n} suggestions applied' in out) if n else 'suggestions applied' not in out, out
    assert f'{n} cleaning actions undone' in ok(run('duckling-mirror-undo', '--path', d)) if n else True

def test_serve_answers_a_photo(steps):
    from gradio_client import Client, handle_file
    port = free_port()
    proc = subprocess.Popen([Path(sys.executable).parent/'duckling-mirror-serve', '--app', steps['app'], '--port', str(port)],
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(240):
            assert proc.poll() is None, proc.stdout.read()
            try: client = Client(f'http://127.0.0.1:{port}/', verbose=False); break
            except Exception: time.sleep(0.5)
        else: raise TimeoutError('duckling-mirror-serve did not start in 2 minutes')
        res, text = client.predict(handle_file(str(sample_photos()/'swan'/'swan_001.jpg')), api_name='/predict')
        assert {c['label'] for c in res['confidences']} <= {'duck', 'swan', 'neither'}, res
    finally: proc.kill()

def test_push_to_a_fake_hub(steps):
    with FakeHub(tokens={'hf_alice': 'alice'}, repos={'alice/taken': 'model'}) as hub:
        env = {**{k: v for k, v in ENV.items() if k != 'HF_TOKEN'}, 'HF_ENDPOINT': hub.url, 'HF_HUB_DISABLE_XET': '1',
               'HF_HOME': str(steps['data'].parent/'hf')}
        out = ok(run('duckling-mirror-push', 'mirror', '--app', steps['app'], '--token', 'hf_alice', env=env))
        assert f'{hub.url}/spaces/alice/mirror' in out
        assert ('Uploaded 8 files' in out and '.gitattributes, CREDITS.md, README.md, app.py, mirror.json, mirror.py, model.onnx, requirements.txt'
                in out), out  # what export wrote; no examples in this app: its ducks and swans have no licence
        assert hub.repos['alice/mirror']['sdk'] == 'gradio'
        assert hub.files['alice/mirror']['model.onnx'] == (steps['app']/'model.onnx').read_bytes()
        app, data = steps['app'], steps['data']
        for args, words in [(['x', '--app', app, '--token', 'hf_wrong'], 'does not accept this token'),
                            (['x', '--app', app], 'No Hugging Face token'),
                            (['alice/taken', '--app', app, '--token', 'hf_alice'], 'already taken by a model repository'),
                            (['bob/x', '--app', app, '--token', 'hf_alice'], 'cannot create a Space under'),
                            (['x', '--app', data, '--token', 'hf_alice'], 'is not an exported mirror')]:
            out = run('duckling-mirror-push', *args, env=env)
            assert out.returncode in (1, 2) and words in out.stderr and 'Traceback' not in out.stderr, (args, out.stderr)
        assert set(hub.repos) == {'alice/taken', 'alice/mirror'}

@pytest.mark.parametrize('cmd,args,words', [
    ('duckling-mirror-dataset', ['--images', '/nonexistent'], 'no such folder'),
    ('duckling-mirror-dataset', ['--n', '0'], '--n 0: must be at least 1'),
    ('duckling-mirror-check', ['--path', '/nonexistent'], 'no dataset there'),
    ('duckling-mirror-train', ['--path', '/nonexistent'], 'no dataset'),
    ('duckling-mirror-train', ['--lr', 'fast'], "--lr fast: a number"),
    ('duckling-mirror-cv', ['--folds', '1'], '--folds 1: at least 2'),
    ('duckling-mirror-cv', ['--epochs', '0', '--freeze-epochs', '0'], 'nothing would be trained'),
    ('duckling-mirror', ['--freeze-epochs', '-1'], '--freeze-epochs -1: must be 0 or more'),
    ('duckling-mirror-export', ['--path', '/nonexistent'], 'no trained learner'),
    ('duckling-mirror-undo', ['--path', '/nonexistent'], 'no dataset there'),
    ('duckling-mirror-suspects', ['--path', '/nonexistent'], 'no dataset'),
    ('duckling-mirror-suspects', ['--folds', '1'], '--folds 1: at least 2'),
    ('duckling-mirror-serve', ['--app', '/nonexistent'], 'no mirror here'),
    ('duckling-mirror-push', ['x', '--app', '/nonexistent'], 'is not an exported mirror'),
    ('duckling-mirror-train', ['--epochs', 'many'], 'invalid int value'),  # argparse's own check, also exit code 2
])
def test_bad_arguments_get_one_line_and_exit_code_2(cmd, args, words):
    out = run(cmd, *args)
    assert out.returncode == 2, (out.returncode, out.stderr[-2000:])
    assert words in out.stderr and 'Traceback' not in out.stderr, out.stderr
    if 'invalid' not in words: assert len(out.stderr.strip().splitlines()) == 1, out.stderr

def test_damaged_files_and_unwritable_places_get_one_line(steps, photos, tmp_path):
    d, afile = shutil.copytree(steps['data'], tmp_path/'data'), tmp_path/'afile'
    afile.write_text('')
    (d/'learner.pkl').write_bytes(b'torn')
    (tmp_path/'bad'/'duck').mkdir(parents=True)
    shutil.copy(d/'manifest.csv', tmp_path/'bad'/'manifest.csv')
    with open(tmp_path/'bad'/'manifest.csv', 'a') as f: f.write('"unclosed,\n')
    one = tmp_path/'one'
    shutil.copytree(photos/'duck', one/'duck')
    cases = [(['duckling-mirror-dataset', '--images', photos, '--dest', afile], 2, 'a file, not a folder'),
             (['duckling-mirror-export', '--path', steps['data'], '--app', afile], 2, 'a file, not a folder'),
             (['duckling-mirror', '--images', photos, '--dest', tmp_path/'new', '--app', afile], 2, 'a file, not a folder'),
             (['duckling-mirror-export', '--path', d, '--app', tmp_path/'app'], 2, 'learner.pkl cannot be read'),
             (['duckling-mirror-check', '--path', tmp_path/'bad'], 1, 'manifest.csv is damaged'),
             (['duckling-mirror-cv', '--path', d, '--folds', 31], 2, 'more folds than pictures of duck (30)'),
             (['duckling-mirror-suspects', '--path', d, '--folds', 31], 2, 'more folds than pictures of duck (30)'),
             (['duckling-mirror-suspects', '--path', one], 2, 'pictures of one label only (duck)'),
             (['duckling-mirror-train', '--path', d, '--lr', 'nan'], 2, '--lr nan: must be a number more than 0'),
             (['duckling-mirror-train', '--path', d, '--valid-pct', 0.99], 2, '--valid-pct 0.99'),
             (['duckling-mirror-serve', '--app', steps['app'], '--port', 99999], 2, '--port 99999'),
             (['duckling-mirror-push', 'x', '--app', steps['app'], '--token', 'hf_x', '--endpoint', 'http://127.0.0.1:9'], 1, 'could not be reached')]
    for (cmd, *args), code, words in cases:
        out = run(cmd, *args)
        assert out.returncode == code and words in out.stderr, (cmd, args, out.returncode, out.stderr[-2000:])
        assert 'Traceback' not in out.stderr and len(out.stderr.strip().splitlines()) == 1, (cmd, out.stderr)
    assert not (tmp_path/'new').exists() and not (tmp_path/'app').exists()  # refused before any work

def test_a_first_own_mirrors_card_speaks_of_its_own_photos(steps):
    "Trained on a folder of photos (--images), the Space's card does not call them web search results, and leads with use"
    card = (steps['app']/'README.md').read_text()
    assert 'web search results' not in card and "The web's biases" not in card and 'photos from a folder' in card, card
    assert card.index('## How good is it?') < card.index('## Credits') < card.index('## How it was made'), card
    examples = [f for f in (steps['app']/'examples').glob('*') if f.name != 'provenance.csv'] if (steps['app']/'examples').exists() else []
    assert ('The example pictures are openly licensed ones' in card) == bool(examples), card

def test_a_pipe_closed_early_is_no_traceback(photos, tmp_path):
    "`cmd | head -1`: when the reader leaves, the command stops quietly, as command-line tools do"
    exe = Path(sys.executable).parent/'duckling-mirror-dataset'
    proc = subprocess.Popen([exe, '--images', photos, '--dest', tmp_path/'data'], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=ENV)
    proc.stdout.readline(); proc.stdout.close()  # what `head -1` does
    err = proc.stderr.read().decode(); proc.wait(timeout=600)
    assert 'Traceback' not in err and 'BrokenPipeError' not in err, err[-3000:]
    assert proc.returncode in (0, 141), (proc.returncode, err[-2000:])

def test_a_second_sigterm_ends_it_at_once(photos, tmp_path):
    "SIGTERM, and another before the first is through: the command ends (it never hangs on a lock the first left)"
    import signal
    exe = Path(sys.executable).parent/'duckling-mirror-dataset'
    proc = subprocess.Popen([exe, '--images', photos, '--dest', tmp_path/'data'], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=ENV)
    proc.stdout.readline()  # it has started its work
    for _ in range(3): proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode in (143, -signal.SIGTERM), proc.returncode

@pytest.mark.parametrize('spec', ['[1, 2]', '{"duckling-mirror-check": "str"}', '{"duckling-mirror-check": {"help": "x"}}'])
def test_a_damaged_commands_json_leaves_the_answer_to_the_parser(tmp_path, spec):
    "A commands.json of another shape: the command's own parser answers, as with none"
    import duckling_mirror
    pkg = Path(shutil.copytree(Path(duckling_mirror.__file__).parent, tmp_path/'duckling_mirror'))
    (pkg/'commands.json').write_text(spec)
    out = run('duckling-mirror-check', '--bogus', env={**ENV, 'PYTHONPATH': str(tmp_path)})
    assert out.returncode == 2 and 'unrecognized arguments: --bogus' in out.stderr and 'Traceback' not in out.stderr, out.stderr[-2000:]
    assert ok(run('duckling-mirror-check', '--help', env={**ENV, 'PYTHONPATH': str(tmp_path)})).startswith('usage: duckling-mirror-check')
