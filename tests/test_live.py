"Issue #30 in a real browser (headless Chromium): live mode with a fake camera, and the page offline after a first visit."
import hashlib, json, shutil, sys, time, urllib.error, urllib.request
from pathlib import Path
import pytest
from duckling_mirror.mirror import Mirror
from duckling_mirror.testing import camera_args, fake_camera
from duckling_mirror.web import serve_static
sys.path.insert(0, str(Path(__file__).parent))
from conftest import free_port
from test_e2e import ARGS, CHROMIUM

WEB = Path(__file__).resolve().parent.parent/'web'
PHOTO = WEB/'examples'/'duckling-012.jpg'  # an openly licensed duckling the project ships
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason='needs a browser: apt-get install chromium')

UPLOADED = "async n => window.mirror.answer(await (await fetch(n)).blob())"
COUNT = "window.__answers = []; addEventListener('mirror:answer', e => window.__answers.push(e.detail))"

@pytest.fixture(scope='module')
def browser(tmp_path_factory):
    "Chromium whose camera shows `PHOTO`, given to any page that asks"
    from playwright.sync_api import sync_playwright
    video = fake_camera(PHOTO, tmp_path_factory.mktemp('camera')/'camera.y4m')
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS + camera_args(video))
        yield b
        b.close()

@pytest.fixture
def page(browser):
    "The committed static mirror, open and ready, its live answers counted in `window.__answers`"
    with serve_static(WEB) as url:
        ctx = browser.new_context()
        p = ctx.new_page()
        p.errors = []
        p.on('pageerror', lambda e: p.errors.append(str(e)))
        p.goto(url)
        p.evaluate('window.mirror.ready')
        p.evaluate(COUNT)
        yield p
        ctx.close()

def until(page, js: str, timeout: float = 60):
    "Wait until `js` is true on `page` (polled: the page's CSP allows no `wait_for_function`)"
    for _ in range(int(timeout * 10)):
        if page.evaluate(js): return
        time.sleep(0.1)
    raise AssertionError(f'not true in {timeout} s: {js}')

def answers(page, at_least: int, timeout: float = 60) -> list:
    "The live answers so far, once there are `at_least` (polled: the page's CSP allows no `wait_for_function`)"
    for _ in range(int(timeout * 10)):
        got = page.evaluate('window.__answers')
        if len(got) >= at_least: return got
        time.sleep(0.1)
    raise AssertionError(f'{len(got)} live answers in {timeout} s')

def test_the_camera_gets_the_answer_the_photo_gets(page):
    "Live: the camera showing a photo answers continuously, each time as the photo uploaded does (its colours through YUV)"
    from playwright.sync_api import expect
    want = page.evaluate(UPLOADED, 'examples/duckling-012.jpg')
    assert want == Mirror.load(WEB).answer(PHOTO) | {'confidences': want['confidences']} and want['label'] == 'duckling'
    assert page.evaluate('window.__answers') == []  # nothing before the visitor asks for the camera
    page.locator('#live').click()
    got = answers(page, 5)
    for a in got:
        assert a['label'] == want['label'] and a['sentence'] == want['sentence']
        assert all(abs(a['confidences'][k] - p) < 0.02 for k, p in want['confidences'].items()), (a, want)
    assert page.locator('#video').is_visible() and not page.locator('#preview').is_visible()
    expect(page.locator('#headline')).to_have_text('Duckling')
    expect(page.locator('#sentence')).to_have_text(want['sentence'])
    assert page.get_attribute('#answer', 'aria-live') == 'off'  # a screen reader is not read every frame
    assert page.locator('#live').inner_text() == 'Stop the camera'
    assert not page.errors, page.errors

def test_freeze_holds_an_answer_and_go_on_goes_on(page):
    page.locator('#live').click()
    answers(page, 2)
    page.locator('#freeze').click()
    assert page.locator('#freeze').inner_text() == 'Go on'
    assert page.evaluate("document.getElementById('video').paused")
    time.sleep(0.5)
    n = len(page.evaluate('window.__answers'))
    time.sleep(1.5)
    assert len(page.evaluate('window.__answers')) == n  # frozen: no more answers
    assert page.get_attribute('#answer', 'aria-live') == 'polite' and 'duckling' in page.locator('#sentence').inner_text()
    page.locator('#freeze').click()
    answers(page, n + 2)
    assert page.locator('#freeze').inner_text() == 'Freeze'

def test_the_camera_stops_when_asked_and_when_the_tab_is_hidden(page):
    "Stop, and a hidden tab: every track of the camera ended, the video gone; an upload after it is answered"
    from playwright.sync_api import expect
    ended = "window.__stream.getTracks().every(t => t.readyState === 'ended')"
    for stop in ("document.getElementById('live').click()",
                 "Object.defineProperty(document, 'hidden', {value: true, configurable: true}); "
                 "document.dispatchEvent(new Event('visibilitychange')); delete document.hidden"):
        page.locator('#live').click()
        answers(page, len(page.evaluate('window.__answers')) + 1)
        page.evaluate("window.__stream = document.getElementById('video').srcObject")
        page.evaluate(stop)
        assert page.evaluate(ended) and not page.locator('#video').is_visible()
        assert page.locator('#live').inner_text() == 'Live camera' and not page.locator('#freeze').is_visible()
    expect(page.locator('#sentence')).to_have_text('The camera stopped while the page was hidden: press Live camera to look again.')
    page.locator('#file').set_input_files(str(PHOTO))
    expect(page.locator('#sentence')).to_have_text(Mirror.load(WEB).answer(PHOTO)['sentence'], timeout=30_000)

SLOW_CAMERA = """window.__streams = []; window.__given = 0;
const ask = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = async c => { const s = await ask(c); window.__streams.push(s);
  await new Promise(ok => setTimeout(ok, 1500)); window.__given++; return s; };  // a visitor slow to say yes"""
LIVE = "window.__streams.filter(s => s.active).length"
OUTSTANDING = """window.__asked = 0;  // frames sent to the worker and not answered yet
const post = Worker.prototype.postMessage, listen = Worker.prototype.addEventListener;
Worker.prototype.postMessage = function (m, ...a) { if (m?.frame) window.__asked++; return post.call(this, m, ...a); };
Worker.prototype.addEventListener = function (type, f, ...a) {
  return listen.call(this, type, type === 'message' ? e => { if ('probs' in e.data || 'error' in e.data) window.__asked--; f(e); } : f, ...a); };"""

@pytest.mark.parametrize('meanwhile', ['press-live-again', 'upload', 'hide-the-tab', 'freeze-and-go-on', 'unplug'])
def test_the_camera_runs_only_while_wanted_with_one_loop(browser, meanwhile):
    "While the browser asks, or after: the last wish wins, no camera runs unwanted, and one loop answers at a time"
    from playwright.sync_api import expect
    with serve_static(WEB) as url:
        ctx = browser.new_context()
        p = ctx.new_page()
        p.add_init_script(SLOW_CAMERA)
        p.add_init_script(OUTSTANDING)
        p.goto(url)
        p.evaluate('window.mirror.ready')
        p.evaluate(COUNT)
        p.locator('#live').click()
        if meanwhile == 'press-live-again': p.locator('#live').click()
        if meanwhile == 'upload': p.locator('#file').set_input_files(str(PHOTO))
        if meanwhile == 'hide-the-tab':
            p.evaluate("Object.defineProperty(document, 'hidden', {value: true, configurable: true}); "
                       "document.dispatchEvent(new Event('visibilitychange'))")
        presses = 2 if meanwhile == 'press-live-again' else 1
        until(p, f'window.__given >= {presses}')  # the browser has answered each press
        time.sleep(0.5)  # and the page has taken (or stopped) each camera
        if meanwhile in ('upload', 'hide-the-tab'):
            assert p.evaluate(LIVE) == 0 and not p.locator('#video').is_visible()
            if meanwhile == 'upload': expect(p.locator('#sentence')).to_have_text(Mirror.load(WEB).answer(PHOTO)['sentence'])
            assert p.get_attribute('#answer', 'aria-busy') == 'false'
            return ctx.close()
        answers(p, 3)
        assert p.evaluate(LIVE) == 1 and p.get_attribute('#answer', 'aria-busy') == 'false'
        if meanwhile == 'freeze-and-go-on':
            for _ in range(5): p.locator('#freeze').click(); p.locator('#freeze').click()
        if meanwhile == 'unplug':
            p.evaluate("window.__streams.find(s => s.active).getVideoTracks()[0].dispatchEvent(new Event('ended'))")
            expect(p.locator('#sentence')).to_have_text('The camera stopped: press Live camera to look again.')
            assert p.evaluate(LIVE) == 0
            return ctx.close()
        answers(p, len(p.evaluate('window.__answers')) + 5)  # each Freeze asked for its frame: those are answered by now
        asked = [p.evaluate('window.__asked') for _ in range(30) if not time.sleep(0.1)]
        assert max(asked) == 1, asked  # one frame asked at a time: one loop (two would have two frames on the way)
        ctx.close()

@pytest.mark.parametrize('how, words', [
    ('no-permission', 'The camera was not allowed: you can still choose or take a picture.'),
    ('no-camera-api', 'This browser gives this page no camera: you can still choose or take a picture.'),
])
def test_no_camera_is_said_in_one_sentence_and_upload_still_works(browser, how, words):
    from playwright.sync_api import expect
    with serve_static(WEB) as url:
        ctx = browser.new_context()
        p = ctx.new_page()
        if how == 'no-camera-api': p.add_init_script("Object.defineProperty(navigator, 'mediaDevices', {value: undefined})")
        else: p.add_init_script("navigator.mediaDevices.getUserMedia = async () => { throw new DOMException('denied', 'NotAllowedError'); }")
        p.goto(url)
        p.evaluate('window.mirror.ready')
        p.locator('#live').click()
        expect(p.locator('#headline')).to_have_text('No live camera')
        expect(p.locator('#sentence')).to_have_text(words)
        p.locator('#file').set_input_files(str(PHOTO))
        expect(p.locator('#sentence')).to_have_text(Mirror.load(WEB).answer(PHOTO)['sentence'], timeout=30_000)
        ctx.close()

def new_mirror(web: Path, dest: Path, temperature: float) -> Path:
    "A copy of `web` with another model.onnx (the same weights, another doc string) and temperature"
    import onnx
    out = Path(shutil.copytree(web, dest))
    m = onnx.load(out/'model.onnx')
    m.doc_string = f'the same weights, at temperature {temperature}'
    onnx.save(m, out/'model.onnx')
    cfg = json.loads((out/'mirror.json').read_text())
    cfg['temperature'] = temperature
    cfg['files']['model.onnx'] = hashlib.sha256((out/'model.onnx').read_bytes()).hexdigest()
    (out/'mirror.json').write_text(json.dumps(cfg, indent=2))
    return out

def test_the_page_answers_offline_after_a_first_visit_and_takes_a_new_model(browser, tmp_path):
    "Visit once; the server gone, the page answers. A new model on the server replaces the kept one, checked; a torn one does not"
    from playwright.sync_api import expect
    port, ctx = free_port(), browser.new_context()
    p = ctx.new_page()
    want = lambda web: Mirror.load(web).answer(PHOTO)
    old = Path(shutil.copytree(WEB, tmp_path/'old'))
    new = new_mirror(WEB, tmp_path/'new', 3.0)
    torn = new_mirror(WEB, tmp_path/'torn', 0.5)
    shutil.copy(WEB/'model.onnx', torn/'model.onnx')  # its model.onnx is not the one its mirror.json lists (an upload cut short)
    assert want(new)['confidences'] != want(old)['confidences']

    def offline_answer():
        "The page reloaded with no server at its address: its answer to the example picture"
        with pytest.raises(urllib.error.URLError): urllib.request.urlopen(f'http://127.0.0.1:{port}/', timeout=5)
        p.reload()
        p.evaluate('window.mirror.ready')
        return p.evaluate(UPLOADED, 'examples/duckling-012.jpg')

    with serve_static(old, port=port) as url:
        p.goto(url)
        p.evaluate('window.mirror.ready')
        p.evaluate('navigator.serviceWorker.ready.then(() => true)')  # installed: the page, runtime and model are kept
    got = offline_answer()
    assert got['sentence'] == want(old)['sentence'] and abs(got['confidences']['duckling'] - want(old)['confidences']['duckling']) < 1e-4
    with serve_static(torn, port=port) as url, p.expect_console_message(lambda m: 'stays as it is' in m.text, timeout=60_000) as said:
        p.goto(url)  # each visit looks for a new mirror.json: this one's model fails its check, and is not kept
    assert 'model.onnx is not the one mirror.json lists' in said.value.text
    assert abs(offline_answer()['confidences']['duckling'] - want(old)['confidences']['duckling']) < 1e-4
    with serve_static(new, port=port) as url:
        p.goto(url)
        expect(p.locator('#update')).to_be_visible(timeout=60_000)  # kept whole: the page says so
    got = offline_answer()
    assert abs(got['confidences']['duckling'] - want(new)['confidences']['duckling']) < 1e-4
    assert not p.locator('#update').is_visible()
    assert len([n for n in p.evaluate('caches.keys()') if n.startswith('duckling-mirror ')]) == 1  # the old copy is gone
    ctx.close()

def test_a_new_sw_js_with_a_new_mirror_leaves_one_whole_copy(browser, tmp_path):
    "A release that changes sw.js and the model: the old worker and the new one both update; one at a time, one copy stays"
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
    old, new = Path(shutil.copytree(WEB, tmp_path/'old')), new_mirror(WEB, tmp_path/'new', 3.0)
    (new/'sw.js').write_text((new/'sw.js').read_text() + '\n// the next release\n')
    cfg = json.loads((new/'mirror.json').read_text())
    cfg['files']['sw.js'] = hashlib.sha256((new/'sw.js').read_bytes()).hexdigest()
    (new/'mirror.json').write_text(json.dumps(cfg, indent=2))
    served = {'root': old, 'slow': 0}
    class Slow(SimpleHTTPRequestHandler):  # a slow link: the model takes seconds, so that the two updates overlap
        def log_message(self, *a): pass
        def translate_path(self, path): return str(served['root']/path.split('?')[0].lstrip('/'))
        def do_GET(self):
            if self.path.endswith('model.onnx'): time.sleep(served['slow'])
            return super().do_GET()
    server = ThreadingHTTPServer(('127.0.0.1', 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url, ctx = f'http://127.0.0.1:{server.server_port}/', browser.new_context()
    p = ctx.new_page()
    copies = "caches.keys().then(ks => ks.filter(k => k.startsWith('duckling-mirror ')))"
    try:
        p.goto(url)
        p.evaluate('navigator.serviceWorker.ready.then(() => true)')
        served.update(root=new, slow=4)
        p.goto(url)
        time.sleep(15)  # both updates over (each fetches the model once, in 4 s)
        assert len(p.evaluate(copies)) == 1, p.evaluate(copies)
        served['root'] = tmp_path/'nowhere'  # the pond: every request a 404
        p.reload()
        p.evaluate('window.mirror.ready')
        got = p.evaluate(UPLOADED, 'examples/duckling-012.jpg')
        assert abs(got['confidences']['duckling'] - Mirror.load(new).answer(PHOTO)['confidences']['duckling']) < 1e-4
    finally:
        ctx.close(); server.shutdown(); server.server_close()
