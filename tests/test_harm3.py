"""No harm, third pass (issue #28): each fault a hostile look at search, cleaning, export and push found, through the command
a person runs where there is one. Each test failed before its fix."""
import io, json, os, re, shutil, sys, types
from functools import partial
from pathlib import Path
from urllib.error import HTTPError
import pandas as pd, pytest
from test_commands import ENV, ok, run
from test_harm import photos
import duckling_mirror.search as search
from duckling_mirror.dataset import lock_dataset, read_manifest
from duckling_mirror.download import build_dataset, folder_search, folder_terms, search_results, write_card
from duckling_mirror.space import space_card, write_space
from duckling_mirror.interpret import apply_cleaning, undo_cleaning
from duckling_mirror.mirror import listed_examples, make_demo
from duckling_mirror.search import NoConnection, SearchError, SearchTerm, search_commons, search_images, search_serpapi
from duckling_mirror.testing import FakeHub, sample_photos
from duckling_mirror.train import save_learner, train

ROOT = Path(__file__).resolve().parent.parent

@pytest.fixture(scope='module')
def data(tmp_path_factory) -> Path:
    "A dataset of 12 geese (MIT-licensed, their author named) and 6 other things, built from their folder with its credits"
    t = tmp_path_factory.mktemp('harm3')
    images = photos(t/'photos', goose=8, other=6)
    shutil.copy(sample_photos()/'provenance.csv', images/'provenance.csv')
    ok(run('duckling-mirror-dataset', '--images', images, '--dest', t/'data'))
    return t/'data'

def copy(d: Path, to: Path) -> Path: return Path(shutil.copytree(d, to))

# Cleaning never moves a picture out of the dataset

@pytest.mark.parametrize('link', ['.trash', '.trash/goose', 'swan'])
def test_cleaning_into_a_linked_folder_is_refused_before_anything_moves(data, tmp_path, link):
    d, outside = copy(data, tmp_path/'data'), tmp_path/'outside'
    outside.mkdir()
    f = sorted((d/'goose').glob('*.jpg'))[0]
    (d/link).parent.mkdir(parents=True, exist_ok=True); (d/link).symlink_to(outside)
    before = (d/'manifest.csv').read_bytes()
    ask = dict(relabel={f.relative_to(d): 'swan'}, new_labels=True) if link == 'swan' else dict(delete=[f.relative_to(d)])
    with pytest.raises(ValueError, match=f"Nothing was changed: {d/link} is a link: cleaning moves pictures only into folders of the dataset's own"):
        apply_cleaning(d, **ask)
    assert f.exists() and list(outside.iterdir()) == [] and (d/'manifest.csv').read_bytes() == before
    assert not (d/'cleaning.jsonl').exists()

def test_relabelling_keeps_the_label_true_and_undo_says_where_it_went(data, tmp_path):
    d = copy(data, tmp_path/'data')
    f = sorted((d/'goose').glob('*.jpg'))[0].relative_to(d)
    apply_cleaning(d, relabel={f: 'other'})
    row = read_manifest(d).set_index('file').loc[f'other/{f.name}']
    assert (row.label, row.status) == ('other', 'relabelled')
    out = ok(run('duckling-mirror-undo', '--path', d))
    assert f'undone: relabel of {f} to other' in out, out
    assert read_manifest(d).set_index('file').loc[str(f)].label == 'goose'

def test_a_cleaning_under_way_is_not_called_a_build(data, tmp_path):
    d = copy(data, tmp_path/'data')
    with lock_dataset(d), pytest.raises(ValueError, match=r'another command is changing .* \(a build, a cleaning or an undo\); wait for it to finish'):
        apply_cleaning(d, delete=[sorted((d/'goose').glob('*.jpg'))[0]])

# Search: large pages, slow sources, hostile text

def commons_page(n: int, title: str = 'Goose {i}.jpg') -> dict:
    "A Commons answer of `n` pictures, each under CC0, in the API's shape"
    return {'query': {'pages': {str(i): {'index': i, 'title': 'File:' + title.format(i=i), 'imageinfo': [dict(
        url=f'https://upload.example.org/{i}.jpg', descriptionurl=f'https://commons.example.org/{i}',
        extmetadata={'LicenseShortName': {'value': 'CC0'}, 'Artist': {'value': 'Ann'}})]} for i in range(n)}}}

def test_one_large_answer_page_is_read_only_as_far_as_needed(monkeypatch):
    read = []
    monkeypatch.setattr(search, 'get_json', lambda *a, **kw: commons_page(32_000))
    real = search.commons_result
    monkeypatch.setattr(search, 'commons_result', lambda *a, **kw: read.append(1) or real(*a, **kw))
    res = search_commons('goose', 100)
    assert len(res) == 100 and len({r['image'] for r in res}) == 100 and len(read) <= 500, len(read)

def test_a_slow_source_is_left_out_of_the_run_and_a_term_has_a_deadline(monkeypatch, tmp_path):
    import time
    asked = []
    def slow_json(api, params, name, **kw):
        asked.append(params.get('gsrsearch')); time.sleep(0.2)
        return {**commons_page(5), 'continue': {'gsroffset': len(asked)}}
    monkeypatch.setattr(search, 'get_json', slow_json)
    with pytest.raises(NoConnection, match='too slow, so it is left out of this run'): search_commons('goose', 100, slow=0.1)
    asked.clear()
    assert len(search_commons('goose', 1000, slow=10, deadline=0.5)) <= 25 and len(asked) <= 4, asked  # not 10 pages
    asked.clear()
    sources = {'commons': partial(search_commons, slow=0.1), 'other': lambda q, n: [search.result(q, 'other', image=f'https://x.org/{q}.jpg')]}
    recs = search_results([SearchTerm('goose', 'goose'), SearchTerm('swan', 'swan')], tmp_path, 10, sources, say=None)
    assert len(asked) == 1 and len(recs) == 2, asked  # the second term does not wait for it again

def test_retries_and_slow_refusals_keep_the_deadline(monkeypatch, tmp_path):
    "Waiting for a Retry-After counts against the term's deadline; a first page that is slow and then refused is slow"
    import time
    from email.message import Message
    calls = []
    def busy(url, timeout, max_bytes):
        calls.append(time.monotonic())
        if len(calls) == 1: return json.dumps({'results': [{'url': f'https://x.org/{i}.jpg', 'id': i} for i in range(20)], 'page_count': 5}).encode()
        h = Message(); h['Retry-After'] = '2'
        raise HTTPError(url, 503, 'busy', h, None)
    monkeypatch.setattr(search, '_read', busy)
    t = time.monotonic()
    res = search.search_openverse('goose', 100, deadline=1, interval=0)
    assert time.monotonic() - t < 1.5 and len(res) == 20, (time.monotonic() - t, len(res))  # before: 4 s of waits
    asked = []
    def slow_refusal(url, timeout, max_bytes):
        asked.append(url); time.sleep(0.3); raise HTTPError(url, 502, 'Bad Gateway', None, None)
    monkeypatch.setattr(search, '_read', slow_refusal)
    sources = {'commons': partial(search_commons, slow=0.1), 'other': lambda q, n: [search.result(q, 'other', image=f'https://x.org/{q}.jpg')]}
    search_results([SearchTerm(q, q) for q in ('goose', 'swan', 'duck')], tmp_path, 10, sources, say=None)
    assert len(asked) == 1, asked

def test_addresses_from_an_api_are_addresses_and_its_errors_are_text(monkeypatch, tmp_path):
    "No formula or script in a URL column; no escape sequence from an API's error in a message"
    page = commons_page(1)
    ii = page['query']['pages']['0']['imageinfo'][0]
    ii.update(url='=HYPERLINK("https://evil.example","x")', descriptionurl="@SUM(1+1)*cmd|' /C calc'!A0")
    ii['extmetadata']['LicenseUrl'] = {'value': '+cmd|x'}
    monkeypatch.setattr(search, 'get_json', lambda *a, **kw: page)
    with pytest.raises(search.NoResults): search_commons('goose', 1)  # no address: no picture
    ii['url'] = 'https://upload.example.org/0.jpg'
    (r,) = search_commons('goose', 1)
    assert (r['image'], r['url'], r['license_url']) == ('https://upload.example.org/0.jpg', '', '')
    monkeypatch.setattr(search, 'get_json', lambda *a, **kw: {'error': {'code': 'x\x1b[2J', 'info': '\x1b]52;c;cGF5bG9hZA==\x07\x1b[31mowned'}})
    with pytest.raises(SearchError) as e: search_commons('goose', 5)
    assert '\x1b' not in str(e.value) and '\x07' not in str(e.value) and 'owned' in str(e.value), repr(str(e.value))
    import http.client
    def bad_status(url, timeout, max_bytes): raise http.client.BadStatusLine('\x1b]52;c;cGF5bG9hZA==\x07\x1b[2J owned\r\n')
    monkeypatch.undo()  # the real get_json, reading through a `_read` that meets a hostile status line
    monkeypatch.setattr(search, '_read', bad_status)
    with pytest.raises(SearchError) as e: search.get_json('https://api.example.org', {}, 'Openverse')
    assert '\x1b' not in str(e.value) and '\x07' not in str(e.value) and 'owned' in str(e.value), repr(str(e.value))

def test_hostile_text_from_an_api_is_cleaned_as_it_is_read(monkeypatch, tmp_path):
    monkeypatch.setattr(search, 'get_json', lambda *a, **kw: commons_page(3, title='=HYPERLINK("https://evil.example")\x1b]0;owned\x07 {i} \ud800'))
    res = search_commons('goose', 3)
    assert res[0]['title'] == '\'=HYPERLINK("https://evil.example") ]0;owned  0 \ufffd', res[0]['title']
    srv_photos = photos(tmp_path/'photos', goose=3)
    local = folder_search(srv_photos)
    df = build_dataset([SearchTerm('goose', 'goose')], tmp_path/'data', search=lambda q, n: [{**r, 'title': t['title']} for r, t in zip(local(q, n), res)],
                       schemes=('file',), progress=False)
    assert df.title.str.startswith("'=").all() and not df.title.str.contains('\x1b').any()
    assert read_manifest(tmp_path/'data').title.tolist() == df.title.tolist()

def test_an_apis_error_body_reaches_the_terminal_without_escape_sequences(monkeypatch):
    body = 'Bad Request\n====Error Body====\n{"detail": "\x1b]52;c;cGF5bG9hZA==\x07\x1b[2Jno such thing"}'
    def refuse(url, timeout, max_bytes): raise HTTPError(url, 400, body, None, None)
    monkeypatch.setattr(search, '_read', refuse)
    with pytest.raises(SearchError) as e: search.get_json('https://api.example.org', {}, 'Openverse')
    assert '\x1b' not in str(e.value) and '\x07' not in str(e.value) and 'no such thing' in str(e.value), repr(str(e.value))

def test_serpapi_failures_of_requests_are_the_sources_and_the_next_one_is_asked(monkeypatch):
    import requests, serpapi
    for err in (requests.exceptions.TooManyRedirects('30 redirects'), requests.exceptions.ChunkedEncodingError('cut short'),
                requests.exceptions.ContentDecodingError('bad gzip')):
        def fail(self, *a, err=err, **kw): raise err
        monkeypatch.setattr(serpapi.Client, 'search', fail)
        res = search_images('goose', 1, {'serpapi': partial(search_serpapi, api_key='k'),
                                         'other': lambda q, n: [search.result(q, 'other', image='https://x.org/g.jpg')]}, say=None)
        assert [r['source'] for r in res] == ['other']

@pytest.mark.parametrize('column,encoding', [('creator', 'cp1252'), ('title', 'cp1252'), ('creator', 'utf-16')])
def test_a_manifest_a_spreadsheet_saved_in_another_code_page_is_one_line(data, tmp_path, column, encoding):
    d = copy(data, tmp_path/'data')
    df = read_manifest(d)
    df.loc[0, column] = 'Zoé Müller'
    df.to_csv(d/'manifest.csv', index=False, encoding=encoding)
    out = run('duckling-mirror-check', '--path', d)
    assert out.returncode == 1 and 'is not UTF-8 text' in out.stderr and 'save it as CSV UTF-8' in out.stderr, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and '\0' not in out.stderr

def test_undo_puts_pictures_back_into_a_label_folder_that_is_gone(data, tmp_path):
    "git keeps no empty folder: a label folder emptied by cleaning, then gone, is made again by undo"
    d = copy(data, tmp_path/'data')
    geese = sorted((d/'goose').glob('*.jpg'))
    apply_cleaning(d, delete=[g.relative_to(d) for g in geese[:2]], relabel={g.relative_to(d): 'other' for g in geese[2:]})
    shutil.rmtree(d/'goose')
    ok(run('duckling-mirror-undo', '--path', d))
    assert sorted((d/'goose').glob('*.jpg')) == geese
    assert ok(run('duckling-mirror-check', '--path', d))

def test_examples_listed_by_a_spreadsheet_are_still_listed(tmp_path):
    "A provenance.csv re-saved with a byte-order mark (as Excel saves CSV UTF-8) still lists the export's examples"
    app = Path(shutil.copytree(ROOT/'app', tmp_path/'app'))
    before = listed_examples(app/'examples')
    text = (app/'examples'/'provenance.csv').read_text(encoding='utf-8')
    (app/'examples'/'provenance.csv').write_text(text, encoding='utf-8-sig')
    assert before and listed_examples(app/'examples') == before

# Export and push: whose pictures, and credited

def test_the_export_credits_the_dataset_it_is_told_of(data, tmp_path):
    d = copy(data, tmp_path/'trained_here')
    save_learner(train(d, 'head', size=64, valid_pct=0))
    moved = Path(shutil.move(d, tmp_path/'v1'))  # `mv data/mirror data/v1`, or trained on Colab and exported elsewhere
    ok(run('duckling-mirror-export', '--path', moved, '--app', tmp_path/'app'))
    assert 'Christine Chen' in (tmp_path/'app'/'CREDITS.md').read_text()  # the geese's author, CC BY/MIT ask it
    other = copy(data, tmp_path/'other')
    shutil.copy(moved/'learner.pkl', other)
    df = read_manifest(other)
    df[~df.file.str.startswith('goose/')].to_csv(other/'manifest.csv', index=False)  # its geese not in this manifest
    out = run('duckling-mirror-export', '--path', other, '--app', tmp_path/'app2')
    assert out.returncode == 2 and 'its manifest lacks 8 of the 14 pictures the mirror learned from' in out.stderr, out.stderr
    assert not (tmp_path/'app2').exists()

def test_write_space_credits_a_dataset_after_relabelling(data, tmp_path):
    d = copy(data, tmp_path/'data')
    f = sorted((d/'goose').glob('*.jpg'))[0].relative_to(d)
    apply_cleaning(d, relabel={f: 'other'})
    app = tmp_path/'app'
    from duckling_mirror.export import export_mirror
    export_mirror(train(d, 'head', size=64, valid_pct=0), app, web=False)
    write_space(app, dataset=d)  # it refused the very dataset the mirror learned from
    prov = pd.read_csv(app/'examples'/'provenance.csv')
    assert all(Path(f).parent.name == l for f, l in zip(prov.dataset_file, prov.label))

def test_push_and_the_app_take_only_the_examples_the_export_wrote(tmp_path):
    app = copy(ROOT/'app', tmp_path/'app')
    shutil.copy(sample_photos()/'duck'/'duck_001.jpg', app/'examples'/'my-holiday.jpg')  # dropped in to try the app
    assert 'my-holiday.jpg' not in listed_examples(app/'examples')
    assert all('my-holiday' not in e[0] for e in make_demo(app).examples)
    with FakeHub(tokens={'hf_alice': 'alice'}) as hub:
        env = {**{k: v for k, v in ENV.items() if k not in ('HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN')}, 'HF_ENDPOINT': hub.url,
               'HF_HUB_DISABLE_XET': '1', 'HF_HOME': str(tmp_path/'hf')}
        import subprocess
        out = subprocess.run([Path(sys.executable).parent/'duckling-mirror-push', 'mirror', '--gradio', '--app', app, '--token', 'hf_alice'],
                             capture_output=True, text=True, env=env)
        assert out.returncode == 2 and 'my-holiday.jpg: not an example picture the export wrote' in out.stderr, out.stderr
        assert not hub.files.get('alice/mirror')

def zero_gpu(fn=None, **kw):
    "A fake `spaces.GPU` that runs `fn` as ZeroGPU does: in a thread of a forked worker process, its result pickled back"
    import multiprocessing as mp
    from concurrent.futures import ThreadPoolExecutor
    if fn is None: return lambda f: zero_gpu(f)
    def handler(*a, **k):
        ctx = mp.get_context('fork'); q = ctx.Queue()
        def work():
            with ThreadPoolExecutor() as ex:
                try: q.put(('ok', ex.submit(fn, *a, **k).result()))
                except Exception as e: q.put(('error', e))
        p = ctx.Process(target=work, daemon=True); p.start()
        kind, out = q.get(timeout=120); p.join(10)
        if kind == 'error': raise out
        return out
    handler.zerogpu = True
    return handler

def test_the_app_starts_on_zerogpu(tmp_path, monkeypatch):
    "Where `spaces` can be imported (a Space), the predict handler carries `@spaces.GPU`, as ZeroGPU requires; elsewhere not"
    import gradio as gr
    monkeypatch.setitem(sys.modules, 'spaces', types.SimpleNamespace(GPU=zero_gpu))
    fns = [f.fn for f in make_demo(ROOT/'app').fns.values() if getattr(f.fn, 'zerogpu', False)]
    assert len(fns) == 1  # the one function the Space's startup reports
    f = sample_photos()/'duckling'/'duckling_001.jpg'
    from duckling_mirror.mirror import Mirror
    answer, sentence = fns[0](str(f))  # the model loaded before the fork answers in the worker, as it does in the app
    assert (answer['label'], sentence) == (Mirror.load(ROOT/'app').answer(f)['label'], Mirror.load(ROOT/'app').answer(f)['sentence'])
    (tmp_path/'not.jpg').write_text('not a picture')
    with pytest.raises(gr.Error, match='not a picture|cannot be read|could not'): fns[0](str(tmp_path/'not.jpg'))
    monkeypatch.setitem(sys.modules, 'spaces', None)  # not importable, as on a machine of one's own
    assert not any(getattr(f.fn, 'zerogpu', False) for f in make_demo(ROOT/'app').fns.values())

def test_the_app_runs_beside_the_real_spaces_package():
    "Hugging Face's own `spaces` (a dev dependency), off a Space: `spaces.GPU` leaves the handler as it is, and it answers"
    spaces = pytest.importorskip('spaces')
    demo = make_demo(ROOT/'app')
    (fn,) = [f.fn for f in demo.fns.values() if f.name == 'predict']
    assert fn(str(sample_photos()/'duckling'/'duckling_001.jpg'))[0]['label'] == 'duckling'

# What goes into Markdown and spreadsheets

def test_labels_and_queries_are_text_in_the_space_card_and_the_dataset_card(tmp_path):
    cfg = json.loads((ROOT/'app'/'mirror.json').read_text())
    for label, evil in (('cygnet', 'duck](https://evil.example)'), ('duckling', '<img src=x>')):  # wherever a label is named
        cfg = json.loads(json.dumps(cfg).replace(json.dumps(label), json.dumps(evil)))
    assert cfg['labels'] == ['duck](https://evil.example)', '<img src=x>', 'neither'] and '<img src=x>' in cfg['trained_on']['train']
    card = space_card(cfg)
    assert not re.search(r'(?<!\\)\]\(https://evil|(?<!\\)<img', card), card
    df = pd.DataFrame(dict(file=['a/1.jpg'], label=['[x](https://evil.example)'], query=['# heading'], status=['ok'], url=[''], phash=['0']))
    text = write_card(df, tmp_path, [SearchTerm('# heading', '[x](https://evil.example)')]).read_text()
    text = re.sub(r'\n```\n.*?\n```\n', '\n', text, flags=re.S)  # a fenced block's text is shown as it is
    assert not re.search(r'(?<!\\)\]\(https://evil', text) and '\n# heading' not in text and '"\\# heading"' in text
