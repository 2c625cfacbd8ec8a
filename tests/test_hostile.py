"""The dataset builder, the cleaner and the command line, tried as a hostile user would: each test is one way they
broke their promises (issue #9), and now keep them."""
import io, os, socket, subprocess, sys, textwrap, time
from pathlib import Path
import pandas as pd
import pytest
from PIL import Image
import duckling_mirror.download as dl
import duckling_mirror.interpret as it
import duckling_mirror.net as net
from duckling_mirror.dataset import check_dataset, read_manifest
from duckling_mirror.download import build_dataset, image_name, search_file
from duckling_mirror.net import fetch
from duckling_mirror.interpret import apply_cleaning, undo_cleaning
from duckling_mirror.search import SearchTerm
from duckling_mirror.testing import PhotoServer, sample_photos

def build(dest, results: dict, srv, labels: dict = None, **kwargs):
    "`build_dataset` over a search answering each query with `results[query]` (paths on `srv`), labelled by `labels`"
    search = lambda q, n: [dict(image=srv.url + p, title=p, url=f'{srv.url}/page{p}') for p in results[q]]
    terms = [SearchTerm(q, (labels or {}).get(q, q)) for q in results]
    return build_dataset(terms, dest, search=search, progress=False, allow_private=True, **kwargs)

def pictures(d: Path) -> dict:
    return {str(f.relative_to(d)): f.read_bytes() for f in sorted(d.rglob('*.jpg'))}

# Data loss

def test_rerun_keeps_a_url_found_by_two_searches_of_one_label(tmp_path):
    res = {'duckling': ['/duck/duck_001.jpg', '/duck/duck_002.jpg'], 'baby duck': ['/duck/duck_001.jpg', '/duck/duck_003.jpg']}
    with PhotoServer() as srv:
        first = build(tmp_path, res, srv, labels={'baby duck': 'duckling'})
        files, manifest = pictures(tmp_path), read_manifest(tmp_path)
        assert (first.status == 'ok').sum() == 3
        for _ in range(2):
            again = build(tmp_path, res, srv, labels={'baby duck': 'duckling'})
            assert again.status.tolist() == first.status.tolist()
            assert pictures(tmp_path) == files
            assert read_manifest(tmp_path).equals(manifest)
            assert check_dataset(tmp_path) == []

# Manifest and downloads

def test_carriage_returns_round_trip(tmp_path):
    with PhotoServer() as srv:
        search = lambda q, n: [dict(image=f'{srv.url}/duck/duck_001.jpg?a\rb', title='two\rlines', url='x\r\ny'),
                               dict(image=f'{srv.url}/duck/duck_002.jpg', title='plain', url='')]
        df = build_dataset([SearchTerm('duck', 'duck')], tmp_path, search=search, progress=False, allow_private=True)
    back = read_manifest(tmp_path)
    assert len(back) == 2 and back.title.tolist() == ['two\rlines', 'plain'] and back.url[0] == 'x\r\ny'
    assert back.image.tolist() == df.image.tolist()
    assert check_dataset(tmp_path) == []

def test_file_names_that_are_not_utf8(tmp_path):
    own = tmp_path/'own'
    for label, name, src in [('duck', 'caf\udce9.jpg', 'duck/duck_001.jpg'), ('swan', '\udcff\udcfe.jpg', 'swan/swan_001.jpg')]:
        (own/label).mkdir(parents=True, exist_ok=True)
        (own/label/name).write_bytes((sample_photos()/src).read_bytes())
    for _ in range(2):
        df = build_dataset(dl.folder_terms(own), tmp_path/'data', search=dl.folder_search(own), schemes=('file',), progress=False)
        assert df.status.tolist() == ['ok', 'ok']
    # a title is text to show: a name's undecodable bytes are shown as U+FFFD (#28), where the file itself keeps them
    assert sorted(read_manifest(tmp_path/'data').title) == sorted(['caf\ufffd.jpg', '\ufffd\ufffd.jpg'])
    assert check_dataset(tmp_path/'data') == []

def test_a_trickling_server_meets_a_deadline(tmp_path):
    t = time.monotonic()
    with PhotoServer() as srv:
        df = build(tmp_path, {'goose': ['/goose/goose_001.jpg', '/fault/trickle']}, srv, timeout=5, deadline=2)
    assert time.monotonic() - t < 10
    assert df.status.tolist() == ['ok', 'failed'] and 'timed out' in df.error[1]

def test_label_folders_named_like_numbers_stay_text(tmp_path):
    with PhotoServer() as srv:
        res = {'0': ['/duck/duck_001.jpg', '/duck/duck_002.jpg'], '1': ['/swan/swan_001.jpg', '/swan/swan_002.jpg']}
        build(tmp_path, res, srv)
        assert read_manifest(tmp_path).label.tolist() == ['0', '0', '1', '1']
        gone = read_manifest(tmp_path).file[0]
        apply_cleaning(tmp_path, delete=[gone])
        df = build(tmp_path, res, srv)  # must not download the removed picture back
    assert df.status.tolist() == ['removed', 'ok', 'ok', 'ok']
    assert not (tmp_path/gone).exists() and check_dataset(tmp_path) == []

@pytest.mark.parametrize('torn', [b'', b'\xff\xd8\xff\xe0 half a jpeg'], ids=['empty', 'corrupt'])
def test_a_torn_file_at_a_pictures_place_is_fetched_again(tmp_path, torn):
    with PhotoServer() as srv:
        (tmp_path/'goose').mkdir()
        (tmp_path/'goose'/image_name(f'{srv.url}/goose/goose_001.jpg')).write_bytes(torn)  # power cut; no manifest
        df = build(tmp_path, {'goose': ['/goose/goose_001.jpg']}, srv)
    assert df.status.tolist() == ['ok'] and check_dataset(tmp_path) == []

def test_a_torn_saved_search_means_search_again(tmp_path):
    with PhotoServer() as srv:
        build(tmp_path, {'goose': ['/goose/goose_001.jpg']}, srv)
        search_file(tmp_path, 'goose').write_text('{"query": "goose", "n": 100, "resul')
        df = build(tmp_path, {'goose': ['/goose/goose_001.jpg', '/goose/goose_003.jpg']}, srv)
    assert df.status.tolist() == ['ok', 'ok']
    assert not list(tmp_path.rglob('.*tmp'))

@pytest.mark.parametrize('label', ['../escaped', '/tmp/absolute', 'a/b', '', '..', '.trash', 'searches'])
def test_labels_that_are_paths_are_refused_before_anything_is_fetched(tmp_path, label):
    asked = []
    search = lambda q, n: asked.append(q) or []
    with pytest.raises(ValueError, match="can't be a label"):
        build_dataset([SearchTerm('fine', 'fine'), SearchTerm('x', label)], tmp_path/'data', search=search, progress=False)
    assert asked == [] and not (tmp_path/'data').exists() and not (tmp_path/'escaped').exists()

def test_private_addresses_are_refused_unless_allowed(tmp_path):
    with PhotoServer() as srv:
        df = build_dataset([SearchTerm('goose', 'goose')], tmp_path,
                           search=lambda q, n: [dict(image=f'{srv.url}/goose/goose_001.jpg', title='', url='')], progress=False)
    assert df.status.tolist() == ['failed'] and 'local or private address' in df.error[0]

def test_each_redirect_hop_is_checked_before_connecting(monkeypatch):
    "A public-looking host redirects to the cloud metadata address, and to ftp: both refused, neither connected to"
    real = net.check_host
    monkeypatch.setattr(net, 'check_host', lambda h, p, allow_private=False: '127.0.0.1' if h == 'photos.test' else real(h, p, allow_private))
    listener = socket.socket(); listener.bind(('127.0.0.1', 0)); listener.listen(); listener.settimeout(0.5)
    with PhotoServer() as srv, listener:
        base = f'http://photos.test:{srv.server_port}'
        assert fetch(f'{base}/goose/goose_001.jpg')[:2] == b'\xff\xd8'
        with pytest.raises(PermissionError, match='local or private address'):
            fetch(f'{base}/fault/redirect?to=http://169.254.169.254/latest/meta-data/', timeout=2)
        with pytest.raises(ValueError, match='not a http/https URL'):
            fetch(f'{base}/fault/redirect?to=ftp://127.0.0.1:{listener.getsockname()[1]}/x.jpg')
        with pytest.raises(socket.timeout): listener.accept()  # nothing connected to the ftp target

def other_format(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.open(sample_photos()/'duck'/'duck_001.jpg').convert('RGB').save(buf, fmt)
    return buf.getvalue()

@pytest.mark.parametrize('fmt', ['PCX', 'TGA', 'ICO', 'PPM'])
def test_only_promised_formats_are_opened(tmp_path, fmt):
    from duckling_mirror.mirror import open_image
    with pytest.raises(ValueError, match='not a picture'): dl.ingest_image(other_format(fmt), tmp_path/'x.jpg')
    with pytest.raises(ValueError, match='not a picture'): open_image(io.BytesIO(other_format(fmt)))
    eps = b'%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n'
    with pytest.raises(ValueError, match='not a picture'): open_image(io.BytesIO(eps))

# Cleaning

@pytest.fixture
def dataset(tmp_path):
    with PhotoServer() as srv:
        build(tmp_path/'data'/'mirror', {'duck': [f'/duck/duck_00{i}.jpg' for i in range(1, 5)],
                                         'swan': [f'/swan/swan_00{i}.jpg' for i in range(1, 5)]}, srv)
    return tmp_path/'data'/'mirror'

def unchanged(d: Path, files: dict, manifest: pd.DataFrame):
    assert pictures(d) == files and read_manifest(d).equals(manifest) and check_dataset(d) == []

@pytest.mark.parametrize('request_', [
    lambda f: dict(delete=[f[0]], relabel={f[0]: 'swan'}),  # the same file twice
    lambda f: dict(delete=[f[0]], relabel={f[1]: 'x/../../outside'}),  # a bad label after a good delete
    lambda f: dict(relabel={f[1]: 'dgo'}),  # a typo would make a new class
    lambda f: dict(delete=[f[0], 'duck/nothing.jpg']),
], ids=['twice', 'path-label', 'typo', 'missing'])
def test_cleaning_checks_the_whole_request_first(dataset, request_):
    files, manifest = pictures(dataset), read_manifest(dataset)
    with pytest.raises(ValueError, match='Nothing was changed'): apply_cleaning(dataset, **request_(list(manifest.file)))
    unchanged(dataset, files, manifest)
    assert not (dataset.parent.parent/'outside').exists()

def test_a_new_label_only_when_asked_for(dataset):
    f = read_manifest(dataset).file[0]
    e = apply_cleaning(dataset, relabel={f: 'goose'}, new_labels=True)[0]
    assert e['to'].startswith('goose/') and check_dataset(dataset) == []

def test_the_manifest_is_written_when_a_move_fails_half_way(dataset, monkeypatch):
    files = list(read_manifest(dataset).file[:3])
    real, calls = os.replace, []
    def flaky(a, b):
        calls.append(a)
        if len(calls) == 2: raise OSError('disk full')
        return real(a, b)
    monkeypatch.setattr(it.os, 'replace', flaky)
    with pytest.raises(OSError, match='disk full'): apply_cleaning(dataset, delete=files)
    monkeypatch.setattr(it.os, 'replace', real)
    df = read_manifest(dataset).set_index('image')
    assert (df.status == 'removed').sum() == 1 and check_dataset(dataset) == []
    undo_cleaning(dataset)
    assert check_dataset(dataset) == [] and set(read_manifest(dataset).status) == {'ok'}

def test_paths_as_fastai_gives_them(dataset, monkeypatch):
    monkeypatch.chdir(dataset.parent.parent)
    f = read_manifest(dataset).file[0]
    done = apply_cleaning('data/mirror', delete=[f'data/mirror/{f}'], relabel={str(dataset/read_manifest(dataset).file[1]): 'swan'})
    assert [e['action'] for e in done] == ['delete', 'relabel'] and check_dataset(dataset) == []

def test_a_torn_journal_line_does_not_stop_undo(dataset):
    files, manifest = pictures(dataset), read_manifest(dataset)
    apply_cleaning(dataset, delete=[manifest.file[0]])
    with open(dataset/'cleaning.jsonl', 'a') as j: j.write('{"id": "abc", "action": "del')
    undo_cleaning(dataset)
    unchanged(dataset, files, manifest)

def test_undo_gives_a_row_back_its_state_before(dataset):
    files, manifest = pictures(dataset), read_manifest(dataset)
    e1 = apply_cleaning(dataset, relabel={manifest.file[0]: 'swan'})[0]
    apply_cleaning(dataset, delete=[e1['to']])
    undo_cleaning(dataset, 1)
    row = read_manifest(dataset).iloc[0]
    assert (row.status, row.file) == ('relabelled', e1['to']) and (dataset/e1['to']).exists()
    assert check_dataset(dataset) == []
    undo_cleaning(dataset)
    unchanged(dataset, files, manifest)

# The command line

def run_cli(tmp_path, *args, patch: str = ''):
    "Run `duckling-mirror` with `args` as its own process (after `patch`, Python run first); its exit code and output"
    script = tmp_path/'run_cli.py'
    script.write_text(textwrap.dedent(patch) + '\nfrom duckling_mirror.cli import duckling_mirror\nduckling_mirror()\n')
    return subprocess.run([sys.executable, script, *map(str, args)], capture_output=True, text=True, cwd=tmp_path, timeout=600)

OFFLINE = '''
    import socket, ddgs
    from ddgs.exceptions import DDGSException
    class Offline:
        def __init__(self, *a, **k): pass
        def images(self, *a, **k): raise DDGSException("DNSError: error sending request > error resolving DNS")
    ddgs.DDGS = Offline
    def no_network(*a, **k): raise socket.gaierror(-2, 'Name or service not known')
    socket.create_connection = no_network
'''

def test_no_internet_says_so_in_one_line(tmp_path):
    out = run_cli(tmp_path, '--dest', tmp_path/'data', patch=OFFLINE)
    assert out.returncode == 1, out.stderr
    assert 'No internet connection' in out.stderr and '--images DIR' in out.stderr
    assert 'Traceback' not in out.stderr and 'rate' not in out.stderr.lower()

def folder(tmp_path, *labels) -> Path:
    d = tmp_path/'photos'
    d.mkdir(exist_ok=True)
    for l in labels:
        (d/l).mkdir()
        (d/l/'a.jpg').write_bytes((sample_photos()/'duck'/'duck_001.jpg').read_bytes())
    return d

@pytest.mark.parametrize('args,words', [
    (lambda t: ['--images', t/'nonexistent'], 'no such folder'),
    (lambda t: ['--images', folder(t)], 'no pictures in label folders'),
    (lambda t: ['--images', folder(t, 'duck')], 'only one label (duck)'),
    (lambda t: ['--images', folder(t, 'duck', 'swan'), '--arch', 'resnet9000'], '--arch resnet9000: unknown'),
    (lambda t: ['--images', folder(t, 'duck', 'swan'), '--epochs', '-1'], '--epochs -1'),
], ids=['missing', 'empty', 'one-label', 'arch', 'epochs'])
def test_bad_arguments_get_one_line_and_exit_code_2_before_any_work(tmp_path, args, words):
    out = run_cli(tmp_path, *args(tmp_path), '--dest', tmp_path/'data')
    assert out.returncode == 2, (out.returncode, out.stderr[-2000:])
    assert words in out.stderr and 'Traceback' not in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert not (tmp_path/'data').exists()

def test_unexpected_errors_keep_their_traceback(tmp_path):
    patch = "import duckling_mirror.cli as c\ndef boom(*a, **k): raise ZeroDivisionError('a bug')\nc.make_dataset = boom\n"
    out = run_cli(tmp_path, '--images', folder(tmp_path, 'duck', 'swan'), '--dest', tmp_path/'data', patch=patch)
    assert out.returncode == 1 and 'Traceback' in out.stderr and 'ZeroDivisionError' in out.stderr
