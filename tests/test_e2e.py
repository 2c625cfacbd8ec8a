"""The whole path, as a user runs it: a dataset built over real HTTP, one epoch of efficientnet_lite0, the export (the
model as ONNX, and the Space around it), and the exported `app.py` started as its own process and asked through
`gradio_client` about photos it never saw."""
import os, shutil, subprocess, sys, time
from pathlib import Path
import pytest
from gradio_client import Client, handle_file
from conftest import free_port
from duckling_mirror.testing import sample_dataset, sample_photos, WATERFOWL_TERMS, HELD_OUT as HELD
from duckling_mirror.train import train
from duckling_mirror.export import export_mirror
from duckling_mirror.mirror import Mirror, say

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
    return export_mirror(learn, tmp_path_factory.mktemp('space')/'app')

def start_app(app_dir: Path):
    "Run `python app.py` in `app_dir` as a Space does, on a free port; returns the process and its URL"
    port = free_port()
    env = {**os.environ, 'GRADIO_SERVER_PORT': str(port), 'GRADIO_SERVER_NAME': '127.0.0.1', 'GRADIO_ANALYTICS_ENABLED': 'False'}
    proc = subprocess.Popen([sys.executable, 'app.py'], cwd=app_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f'http://127.0.0.1:{port}/'
    for _ in range(240):
        if proc.poll() is not None: raise RuntimeError(f'app.py exited:\n{proc.stdout.read()}')
        try:
            client = Client(url, verbose=False)
            client.url = url
            return proc, client
        except Exception: time.sleep(0.5)
    proc.kill()
    raise TimeoutError('app.py did not start in 2 minutes')

def test_mirror_matches_learn_predict(learn, app_dir):
    mirror = Mirror.load(app_dir)
    for f in HELD_OUT:
        with learn.no_bar(): probs = learn.predict(f)[2].tolist()
        assert list(mirror.predict(f, calibrated=False).values()) == pytest.approx(probs, abs=1e-4)

@pytest.fixture(scope='module')
def client(app_dir):
    "The generated app.py, running as its own process as on a Space"
    proc, client = start_app(app_dir)
    yield client
    proc.terminate(); proc.wait(10)

def test_app_answers_held_out_photos(app_dir, client):
    "6 photos the model never saw: one epoch on 44 photos gets at least 5 right, and the app says what the mirror says"
    mirror, right = Mirror.load(app_dir), []
    for f, label in HELD_OUT.items():
        res, text = client.predict(handle_file(str(f)), api_name='/predict')
        a = mirror.answer(f)
        assert (res['label'], text) == (a['label'], a['sentence']), (f.name, res, text)
        right.append(res['label'] == label)
    assert len(right) == 6 and sum(right) >= 5, right

def test_app_without_model_says_so(tmp_path):
    for f in ('app.py', 'mirror.py'): shutil.copy(ROOT/'app'/f, tmp_path/f)
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
    assert 'Chose head efficientnet_lite' in out.stdout and 'Training head efficientnet_lite' in out.stdout, out.stdout[-3000:]
    assert Mirror.load(tmp_path/'app').labels == ['duck', 'swan']

CHROMIUM = Path('/usr/bin/chromium')
ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync']

@pytest.mark.skipif(not CHROMIUM.exists(), reason='needs a browser: apt-get install chromium')
def test_in_a_real_browser(app_dir, client, tmp_path):
    "Open the app in Chromium, upload a photo, press Submit, read the answer on the page"
    from playwright.sync_api import sync_playwright, expect
    f = next(iter(HELD_OUT))
    expected = Mirror.load(app_dir).answer(f)['sentence']
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page()
        page.goto(client.url)
        page.locator('input[type=file]').first.set_input_files(str(f))
        page.get_by_role('button', name='Submit').click()
        expect(page.get_by_label('The mirror says')).to_have_value(expected, timeout=60_000)
        page.screenshot(path=str(tmp_path/'answer.png'))
        browser.close()

def bad_inputs(d: Path) -> dict:
    "Files a user might upload by mistake, and words the app's answer must contain"
    photo = (sample_photos()/'duck'/'duck_013.jpg').read_bytes()
    from duckling_mirror.testing import _bomb_png
    files = {'corrupt.jpg': (os.urandom(5000), 'not a picture'), 'truncated.jpg': (photo[:len(photo) // 2], 'damaged'),
             'empty.jpg': (b'', 'not a picture'), 'notes.txt': (b'just some words', 'not a picture'),
             'bomb.png': (_bomb_png(), 'too large')}
    for name, (data, _) in files.items(): (d/name).write_bytes(data)
    return {d/name: words for name, (_, words) in files.items()}

def test_bad_inputs_get_clear_errors(client, tmp_path):
    for f, words in bad_inputs(tmp_path).items():
        with pytest.raises(Exception, match=words): client.predict(handle_file(str(f)), api_name='/predict')
    with pytest.raises(Exception, match='upload a picture first'): client.predict(None, api_name='/predict')

def test_huge_upload_is_refused(client, tmp_path):
    (tmp_path/'huge.jpg').write_bytes(bytes(60_000_000))
    with pytest.raises(Exception, match='(?i)too large|size|limit'): client.predict(handle_file(str(tmp_path/'huge.jpg')), api_name='/predict')

def odd_versions(f: Path, d: Path) -> dict:
    "The photo `f` saved in each odd-but-valid way a user's picture can come"
    from PIL import Image
    im = Image.open(f).convert('RGB')
    out = {}
    def save(name, img, **kw): img.save(d/name, **kw); out[name] = d/name
    save('cmyk.jpg', im.convert('CMYK'))
    rgba = im.convert('RGBA'); save('rgba.png', rgba)
    save('gray.jpg', im.convert('L'))
    save('gray16.png', Image.fromarray((np.asarray(im.convert('L'), dtype=np.uint16) * 257)))
    save('palette.png', im.quantize(256))
    save('animated.gif', im, save_all=True, append_images=[Image.new('RGB', im.size)], duration=100)
    exif = Image.Exif(); exif[0x0112] = 6  # orientation: rotate 90° clockwise to show upright
    save('rotated.jpg', im.transpose(Image.Transpose.ROTATE_90), exif=exif)
    return out

import numpy as np

def test_odd_but_valid_pictures_are_answered(app_dir, client, tmp_path):
    mirror = Mirror.load(app_dir)
    for f, label in list(HELD_OUT.items())[:1] + list(HELD_OUT.items())[-1:]:
        want = mirror.answer(f)['label']
        for name, g in odd_versions(f, tmp_path).items():
            res, text = client.predict(handle_file(str(g)), api_name='/predict')
            assert res['label'] == want, (f.name, name, res)
