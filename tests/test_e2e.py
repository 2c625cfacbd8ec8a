"""The whole path, as a user runs it: a dataset built over real HTTP, one epoch of efficientnet_lite0, the export, and
the generated `app/app.py` started as its own process and asked through `gradio_client` about photos it never saw."""
import os, shutil, subprocess, sys, time
from pathlib import Path
import pytest
from gradio_client import Client, handle_file
from conftest import free_port
from duckling_mirror.testing import sample_dataset, sample_photos, WATERFOWL_TERMS, HELD_OUT as HELD
from duckling_mirror.train import train
from duckling_mirror.export import export_mirror
from duckling_mirror.app import Mirror

ROOT = Path(__file__).resolve().parent.parent
HELD_OUT = {f: f.parent.name for f in sorted(sample_photos().glob('*/*.jpg')) if f.stem in HELD and f.parent.name in ('duck', 'swan')}

@pytest.fixture(scope='module')
def learn(tmp_path_factory):
    path = tmp_path_factory.mktemp('data')/'waterfowl'
    df = sample_dataset(path, WATERFOWL_TERMS)
    assert set(df.status) == {'ok', 'failed', 'broken'}
    return train(path, epochs=1, size=192)

@pytest.fixture(scope='module')
def app_dir(learn, tmp_path_factory):
    d = export_mirror(learn, tmp_path_factory.mktemp('space')/'app')
    shutil.copy(ROOT/'app'/'app.py', d/'app.py')
    return d

def start_app(app_dir: Path):
    "Run `python app.py` in `app_dir` as a Space does, on a free port; returns the process and its URL"
    port = free_port()
    env = {**os.environ, 'GRADIO_SERVER_PORT': str(port), 'GRADIO_SERVER_NAME': '127.0.0.1', 'GRADIO_ANALYTICS_ENABLED': 'False'}
    proc = subprocess.Popen([sys.executable, 'app.py'], cwd=app_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f'http://127.0.0.1:{port}/'
    for _ in range(240):
        if proc.poll() is not None: raise RuntimeError(f'app.py exited:\n{proc.stdout.read()}')
        try: return proc, Client(url, verbose=False)
        except Exception: time.sleep(0.5)
    proc.kill()
    raise TimeoutError('app.py did not start in 2 minutes')

def test_mirror_matches_learn_predict(learn, app_dir):
    mirror = Mirror.load(app_dir)
    for f in HELD_OUT:
        with learn.no_bar(): probs = learn.predict(f)[2].tolist()
        assert list(mirror.predict(f).values()) == pytest.approx(probs, abs=1e-4)

def test_app_answers_held_out_photos(app_dir):
    "6 photos the model never saw: one epoch on 44 photos gets at least 5 right, and the app says what the mirror says"
    proc, client = start_app(app_dir)
    mirror, right = Mirror.load(app_dir), []
    try:
        for f, label in HELD_OUT.items():
            res, text = client.predict(handle_file(str(f)), api_name='/predict')
            assert res['label'] == mirror.answer(f)[0], (f.name, res)
            assert text.startswith(f"You are a {res['label']}."), text
            right.append(res['label'] == label)
    finally:
        proc.terminate(); proc.wait(10)
    assert len(right) == 6 and sum(right) >= 5, right

def test_app_without_model_says_so(tmp_path):
    shutil.copy(ROOT/'app'/'app.py', tmp_path/'app.py')
    proc, client = start_app(tmp_path)
    try:
        with pytest.raises(Exception, match='no model yet'): client.predict(handle_file(str(next(iter(HELD_OUT)))), api_name='/predict')
    finally:
        proc.terminate(); proc.wait(10)

def test_command_line_main_job(tmp_path):
    "`duckling-mirror --images DIR` (no web search) writes a mirror the app loads"
    for c in ('duck', 'swan'): shutil.copytree(sample_photos()/c, tmp_path/'photos'/c)
    out = subprocess.run([Path(sys.executable).parent/'duckling-mirror', '--images', tmp_path/'photos', '--dest', tmp_path/'data',
                          '--app', tmp_path/'app', '--epochs', '1', '--size', '160'], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'duck: 30 ok' in out.stdout and 'swan: 30 ok' in out.stdout, out.stdout[-3000:]
    assert 'Error rate on the' in out.stdout
    assert Mirror.load(tmp_path/'app').labels == ['duck', 'swan']
