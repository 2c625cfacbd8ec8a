"The static mirror in a real browser (headless Chromium), offline, as a visitor uses it: the committed `web/` folder."
import io, os, random, sys
from pathlib import Path
import numpy as np, pytest
from PIL import Image
from duckling_mirror.mirror import Mirror, WEB_FILES
from duckling_mirror.testing import _bomb_png, sample_photos
from duckling_mirror.web import serve_static
sys.path.insert(0, str(Path(__file__).parent))
from test_e2e import ARGS, CHROMIUM, odd_versions

ROOT = Path(__file__).resolve().parent.parent
WEB, SHARED = ROOT/'web', ROOT.parent/'shared'/'photos'
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason='needs a browser: apt-get install chromium')

ASK = '''async names => { const out = [];
  for (const n of names) { try { out.push(await window.mirror.answer(await (await fetch(n)).blob())); }
                           catch (e) { out.push({error: e.message}); } }
  return out; }'''

@pytest.fixture(scope='module')
def page():
    "The committed static mirror, served on localhost, open in Chromium, every request it makes recorded"
    from playwright.sync_api import sync_playwright
    with serve_static(WEB) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page()
        page.requests, page.errors, page.pictures = [], [], {}
        page.on('request', lambda r: page.requests.append(r.url))
        page.on('pageerror', lambda e: page.errors.append(str(e)))
        page.add_init_script("window.__csp = []; document.addEventListener('securitypolicyviolation', "
                             "e => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));")
        # pictures to ask about, at the page's own address (route: nothing is written into web/)
        page.route('**/__pictures__/**', lambda route: route.fulfill(body=page.pictures[route.request.url.rsplit('/', 1)[1]]))
        page.goto(url)
        page.evaluate('window.mirror.ready')
        page.url0 = url
        yield page
        browser.close()

def ask(page, pictures: dict) -> dict:
    "The page's answers (`window.mirror.answer`) for `pictures`, {name: bytes}"
    keys = {f'{i}': data for i, data in enumerate(pictures.values())}
    page.pictures.update(keys)
    out = page.evaluate(ASK, [f'__pictures__/{k}' for k in keys])
    return dict(zip(pictures, out))

def photos() -> list:
    "Every photo of the project's own, and every one in ../shared/photos when it is there"
    fs = sorted(p for p in sample_photos().rglob('*') if p.suffix.lower() in ('.jpg', '.jpeg', '.png', '.webp'))
    return fs + sorted(p for p in SHARED.rglob('*') if p.suffix.lower() in ('.jpg', '.jpeg', '.png', '.webp'))

def test_the_committed_static_mirror_is_whole():
    assert sorted(o.name for o in WEB.iterdir()) == sorted(WEB_FILES + ('examples',))
    assert 'sdk: static' in (WEB/'README.md').read_text()

def test_same_answers_as_python(page, tmp_path):
    "Every photo: the same answer and sentence as `Mirror.answer`, every probability within 0.02"
    mirror, fs = Mirror.load(WEB), photos()
    odd = odd_versions(sample_photos()/'duck'/'duck_013.jpg', tmp_path)  # CMYK, RGBA, grey, 16-bit, palette, GIF, EXIF-rotated
    fs += list(odd.values())
    got = ask(page, {str(f): f.read_bytes() for f in fs})
    worst = 0
    for f in fs:
        want, have = mirror.answer(f), got[str(f)]
        assert 'error' not in have, (f, have)
        assert (have['label'], have['sentence']) == (want['label'], want['sentence']), (f, have, want)
        worst = max(worst, max(abs(have['confidences'][k] - p) for k, p in want['confidences'].items()))
        assert worst <= 0.02, (f, have, want)
    print(f'{len(fs)} pictures: the largest difference in probability is {worst:.4f}')

def jpeg_bomb(photo: bytes) -> bytes:
    "`photo` with a frame header that claims 60000 x 60000 pixels (3.6 billion)"
    i = photo.index(b'\xff\xc0')
    return photo[:i + 5] + (60000).to_bytes(2, 'big') * 2 + photo[i + 9:]

def test_bad_and_awkward_pictures(page):
    "Each gets an answer or one sentence; the page never hangs and still answers afterwards"
    photo = (sample_photos()/'duck'/'duck_013.jpg').read_bytes()
    big = io.BytesIO()
    Image.open(io.BytesIO(photo)).convert('RGB').resize((12000, 8400)).save(big, 'JPEG', quality=60)  # 100 MP
    tiff = io.BytesIO(); Image.open(io.BytesIO(photo)).save(tiff, 'TIFF')
    rng = random.Random(0)  # the same bytes every run
    heic = b'\0\0\0\x18ftypheic\0\0\0\0mif1heic' + rng.randbytes(2000)  # an iPhone's HEIC, as far as its header goes
    got = ask(page, {'empty': b'', 'page.jpg': b'<html><body>not a picture</body></html>', 'text.jpg': b'just words',
                     'truncated': photo[:len(photo) // 3], 'bomb': _bomb_png(), 'big': big.getvalue(), 'tiff': tiff.getvalue(),
                     'heic': heic, 'noise.jpg': b'\xff\xd8\xff' + rng.randbytes(3000), 'jpeg bomb': jpeg_bomb(photo)})
    for name in ('empty', 'page.jpg', 'text.jpg'): assert 'not a picture' in got[name]['error'], got[name]
    assert any(w in got['noise.jpg']['error'] for w in ('damaged or cut short', 'too large')), got['noise.jpg']  # noise may claim any size
    assert 'label' in got['truncated'] or 'damaged' in got['truncated']['error'], got['truncated']  # browsers show what arrived
    for name in ('bomb', 'jpeg bomb'): assert 'too large' in got[name]['error'], got[name]
    assert got['big']['label'] in ('cygnet', 'duckling', 'neither'), got['big']  # shrunk at decode
    assert 'TIFF' in got['tiff']['error'], got['tiff']
    assert 'label' in got['heic'] or 'HEIC' in got['heic']['error'], got['heic']
    assert page.evaluate("window.mirror.answer('not a file').catch(e => e.message)") == 'Please choose a picture first.'
    assert 'label' in ask(page, {'again': photo})['again']
    assert not page.errors, page.errors

def test_nothing_leaves_the_page(page):
    "Every request the page made went to its own address: no CDN, no third party"
    assert page.requests and all(r.startswith(page.url0) for r in page.requests), sorted(set(page.requests))

def test_as_a_visitor_uses_it(page, tmp_path):
    "Upload, an example, the headline, the bars and the sentence agreeing; the picture shown; keyboard and accessibility"
    from playwright.sync_api import expect
    f = sample_photos()/'cygnet'/'cygnet_001.jpg'
    want = Mirror.load(WEB).answer(f)
    page.locator('#file').set_input_files(str(f))
    expect(page.locator('#sentence')).to_have_text(want['sentence'], timeout=30_000)
    headline = page.locator('#headline').inner_text()
    assert headline.lower().startswith(want['label']), headline
    bars = page.locator('#bars li')
    assert bars.count() == 3
    assert page.locator('#bars li.picked').inner_text().startswith(want['label'])
    assert page.locator('#preview').is_visible()
    import csv
    neither = next(r['file'] for r in csv.DictReader(open(WEB/'examples'/'provenance.csv')) if r['label'] == 'neither')
    page.get_by_role('button', name='Example: ' + Path(neither).stem.replace('-', ' ')).click()
    expect(page.locator('#sentence')).to_have_text('Neither a cygnet nor a duckling, I am afraid.', timeout=30_000)
    page.locator('h1').click()
    page.keyboard.press('Tab')  # by keyboard alone: the first stop is the upload, and Space opens it
    assert page.evaluate('document.activeElement.id') == 'file'
    with page.expect_file_chooser() as chooser: page.keyboard.press('Space')
    chooser.value.set_files(str(f))
    expect(page.locator('#sentence')).to_have_text(want['sentence'], timeout=30_000)
    from axe_playwright_python.sync_playwright import Axe
    found = Axe().run(page)
    assert found.violations_count == 0, found.generate_report()
    page.set_viewport_size(dict(width=390, height=844))  # a phone
    assert page.evaluate('document.documentElement.scrollWidth') <= 390
    page.screenshot(path=str(tmp_path/'phone.png'), full_page=True)

def test_drop_and_paste(page):
    "A picture dropped on the page, or pasted into it, is answered like an upload"
    from playwright.sync_api import expect
    f = sample_photos()/'duckling'/'duckling_001.jpg'
    want = Mirror.load(WEB).answer(f)['sentence']
    page.pictures['drop'] = f.read_bytes()
    give = '''async ([event, target]) => {
        const file = new File([await (await fetch('__pictures__/drop')).blob()], 'duckling.jpg', {type: 'image/jpeg'});
        const data = new DataTransfer(); data.items.add(file);
        const e = event === 'drop' ? new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true})
                                   : new ClipboardEvent('paste', {clipboardData: data, bubbles: true});
        document.querySelector(target).dispatchEvent(e); }'''
    for event, target in (('drop', '#drop'), ('paste', 'body')):
        page.evaluate("document.getElementById('sentence').textContent = ''")
        page.evaluate(give, [event, target])
        expect(page.locator('#sentence')).to_have_text(want, timeout=30_000)

def test_bytes_and_many_at_once(page):
    "An embedder's bytes are a picture too; twenty answers asked at once each get their own, one decode at a time"
    fs = sorted(sample_photos().glob('*/*.jpg'))[:20]
    page.pictures.update({f'many{i}': f.read_bytes() for i, f in enumerate(fs)})
    got = page.evaluate('''n => Promise.all(Array.from({length: n}, async (_, i) =>
        window.mirror.answer(await (await fetch(`__pictures__/many${i}`)).arrayBuffer())))''', len(fs))
    mirror = Mirror.load(WEB)
    assert [g['label'] for g in got] == [mirror.answer(f)['label'] for f in fs]

@pytest.mark.parametrize('harm,words', [
    (lambda w: (w/'mirror.json').unlink(), 'its mirror.json is missing (404)'),
    (lambda w: (w/'mirror.json').write_text('{"labels": ['), 'its mirror.json is damaged'),
    (lambda w: (w/'model.onnx').write_text('version https://git-lfs.github.com/spec/v1\n'), 'not the one its mirror.json was written for'),
    (lambda w: (w/'ort-wasm-simd-threaded.wasm').unlink(), 'this browser cannot run ONNX Runtime Web'),
], ids=['no-config', 'torn-config', 'lfs-pointer', 'no-runtime'])
def test_a_broken_static_mirror_says_so(page, tmp_path, harm, words):
    "A static Space missing or mangling a file says what, in one sentence, and is no longer busy; it never answers"
    import shutil
    from playwright.sync_api import expect
    web = Path(shutil.copytree(WEB, tmp_path/'web'))
    harm(web)
    with serve_static(web) as url:
        page = page.context.browser.new_page()  # the same browser: Playwright's sync API runs one at a time
        page.goto(url)
        expect(page.locator('#sentence')).to_contain_text(words, timeout=30_000)
        assert page.locator('#sentence').inner_text().startswith('The mirror could not start: ')
        assert page.get_attribute('#answer', 'aria-busy') == 'false'
        assert words in page.evaluate("window.mirror.answer(new Blob(['x'])).catch(e => e.message)")
        page.close()

def test_the_page_works_under_its_content_security_policy(page):
    "The page declares a Content-Security-Policy (its own address only, wasm allowed), and nothing it did broke it"
    assert "default-src 'self'" in page.locator('meta[http-equiv="Content-Security-Policy"]').get_attribute('content')
    assert 'label' in ask(page, {'duck': (sample_photos()/'duck'/'duck_013.jpg').read_bytes()})['duck']
    assert page.evaluate('window.__csp') == [] and not page.errors, (page.evaluate('window.__csp'), page.errors)

def test_a_label_named_like_an_objects_property_is_a_label(page, tmp_path):
    "A mirror whose labels are `constructor` and `toString` says 'You are a constructor.', not JavaScript's source of Object"
    import json, shutil
    web = Path(shutil.copytree(WEB, tmp_path/'web'))
    cfg = json.loads((web/'mirror.json').read_text())
    cfg['labels'] = ['constructor', 'toString', 'neither']
    (web/'mirror.json').write_text(json.dumps(cfg))
    f = sample_photos()/'cygnet'/'cygnet_001.jpg'
    want = Mirror.load(WEB).answer(f)
    assert want['label'] == 'cygnet'
    with serve_static(web) as url:
        p = page.context.browser.new_page()
        p.goto(url)
        p.locator('#file').set_input_files(str(f))
        from playwright.sync_api import expect
        expect(p.locator('#sentence')).to_contain_text('You are a constructor.', timeout=30_000)
        assert 'native code' not in p.locator('main').inner_text()
        p.close()

def test_a_phone_is_told_to_choose_or_take_a_picture_and_the_confidence_is_said_once(page):
    "On a touch screen the page does not ask to drop or paste; the headline names the answer, the sentence says how sure"
    from playwright.sync_api import expect
    phone = page.context.browser.new_context(is_mobile=True, has_touch=True, viewport=dict(width=390, height=844))
    p = phone.new_page()
    p.goto(page.url0)
    p.wait_for_load_state()
    assert p.locator('#hint').inner_text() == 'Choose a picture, or take one:'  # what is shown, not what is hidden
    phone.close()
    assert page.locator('#hint').inner_text() == 'Drop a picture here, paste one, or choose:'  # with a mouse
    f = sample_photos()/'duckling'/'duckling_001.jpg'
    want = Mirror.load(WEB).answer(f)
    page.evaluate("document.getElementById('sentence').textContent = ''")  # the page may show this answer already
    page.locator('#file').set_input_files(str(f))
    expect(page.locator('#sentence')).to_have_text(want['sentence'], timeout=30_000)
    expect(page.locator('#headline')).to_have_text(want['label'].capitalize())  # the answer, named once
    assert '%' in want['sentence'] and '%' not in page.locator('#headline').inner_text()

def test_a_mirror_without_examples_offers_none(page, tmp_path):
    "A first own mirror, with no openly licensed picture to show, has no 'Or try an example' heading over nothing"
    import shutil
    from duckling_mirror.web import web_index
    web = Path(shutil.copytree(WEB, tmp_path/'web'))
    shutil.rmtree(web/'examples'); (web/'index.html').write_bytes(web_index([]))
    with serve_static(web) as url:
        p = page.context.browser.new_page()
        p.goto(url)
        assert not p.get_by_text('Or try an example').is_visible()
        p.close()

def test_the_page_credits_its_examples_and_links_its_credits(page):
    "Issue #30: a line names each example picture's author and licence, and a visible link opens CREDITS.md"
    import csv
    rows = list(csv.DictReader(open(WEB/'examples'/'provenance.csv', encoding='utf-8-sig')))
    line = page.locator('#example-credits')
    assert line.is_visible()
    for r in rows:  # every example, by its author, under its licence, linked to its page and its licence
        assert f"{r['title']} by {r['creator']} ({r['license']})" in line.inner_text()
        assert line.get_by_role('link', name=r['title']).get_attribute('href') == r['url']
    link = page.get_by_role('link', name='Credits')
    assert link.is_visible()
    got = page.request.get(page.url0 + link.get_attribute('href'))
    assert got.ok and got.text() == (WEB/'CREDITS.md').read_text()
    assert 'openly licensed' in got.text()
