"Every fault the web throws at a downloader ends with the right status, and an interrupted build resumes to the same result."
import os, signal, subprocess, sys, textwrap, time
from pathlib import Path
import pytest
from duckling_mirror.dataset import check_dataset, read_manifest
from duckling_mirror.download import build_dataset
from duckling_mirror.search import SearchTerm
from duckling_mirror.testing import PhotoServer, sample_photos

def build(dest, results: dict, srv=None, **kwargs):
    "`build_dataset` over a search that answers each label's query with `results[label]` (paths on a PhotoServer)"
    if srv is None:
        with PhotoServer() as srv: return build(dest, results, srv, **kwargs)
    search = lambda q, n: [dict(image=srv.url + p, title=p, url=f'{srv.url}/page{p}') for p in results[q]]
    return build_dataset([SearchTerm(q, q) for q in results], dest, search=search, progress=False, allow_private=True, **kwargs)

FAULTS = [  # (path, status, words in the error)
    ('/nothing/here.jpg', 'failed', '404'),
    ('/fault/500', 'failed', '500'),
    ('/fault/slow', 'failed', 'timed out'),
    ('/fault/html', 'broken', 'not a picture'),
    ('/fault/truncated.jpg', 'broken', 'damaged'),
    ('/fault/empty.jpg', 'broken', 'empty'),
    ('/fault/big.jpg', 'failed', 'larger than'),
    ('/fault/bomb.png', 'broken', 'too large'),
]

@pytest.mark.parametrize('path,status,error', FAULTS, ids=[f[0].split('/')[-1] for f in FAULTS])
def test_fault(tmp_path, path, status, error):
    df = build(tmp_path, {'goose': ['/goose/goose_001.jpg', path]}, timeout=1, max_bytes=1_000_000)
    assert df.status.tolist() == ['ok', status]
    assert error in df.error[1], df.error[1]
    assert df.file[1] == '' and len(list(tmp_path.glob('goose/*.jpg'))) == 1
    assert check_dataset(tmp_path) == []

def test_redirect_is_followed(tmp_path):
    df = build(tmp_path, {'goose': ['/fault/redirect']})
    assert df.status.tolist() == ['ok']
    assert df.sha256[0] == build(tmp_path/'direct', {'goose': ['/goose/goose_003.jpg']}).sha256[0]

def test_same_bytes_and_resized_copy_are_duplicates(tmp_path):
    df = build(tmp_path, {'goose': ['/goose/goose_001.jpg', '/goose/goose_001.jpg?again', '/fault/resized/goose/goose_001.jpg',
                                    '/goose/goose_004.jpg']})
    assert df.status.tolist() == ['ok', 'duplicate', 'duplicate', 'ok']
    assert df.error[2] == f'same picture as {df.file[0]}'
    assert len(list(tmp_path.glob('goose/*.jpg'))) == 2
    assert check_dataset(tmp_path) == []

def test_same_photo_under_two_labels_is_a_conflict(tmp_path):
    df = build(tmp_path, {'duck': ['/duck/duck_001.jpg', '/duck/duck_002.jpg'], 'swan': ['/fault/resized/duck/duck_001.jpg']})
    assert df.status.tolist() == ['conflict', 'ok', 'conflict']
    assert not list(tmp_path.glob('swan/*.jpg')) and len(list(tmp_path.glob('duck/*.jpg'))) == 1
    assert len(list(tmp_path.glob('.conflicts/*/*.jpg'))) == 2
    assert check_dataset(tmp_path) == []

def test_failures_are_retried_only_when_asked(tmp_path):
    root, res = tmp_path/'web', {'goose': ['/goose/goose_001.jpg', '/goose/later.jpg']}
    (root/'goose').mkdir(parents=True)
    (root/'goose'/'goose_001.jpg').write_bytes((sample_photos()/'goose'/'goose_001.jpg').read_bytes())
    with PhotoServer(root) as srv:
        assert build(tmp_path/'data', res, srv).status.tolist() == ['ok', 'failed']
        (root/'goose'/'later.jpg').write_bytes((sample_photos()/'goose'/'goose_003.jpg').read_bytes())
        assert build(tmp_path/'data', res, srv).status.tolist() == ['ok', 'failed']  # not downloaded again
        assert build(tmp_path/'data', res, srv, retry=True).status.tolist() == ['ok', 'ok']
    assert check_dataset(tmp_path/'data') == []

BUILD = textwrap.dedent('''
    import sys
    from pathlib import Path
    from duckling_mirror.download import build_dataset
    from duckling_mirror.testing import fake_search, MISSION_TERMS
    build_dataset(MISSION_TERMS, Path(sys.argv[2]), search=fake_search(sys.argv[1]), n_workers=2, progress=False, allow_private=True)
''')

def test_sigkill_then_rerun_equals_an_uninterrupted_run(tmp_path):
    "A build killed mid-download and run again ends with the same files and manifest as one never interrupted"
    with PhotoServer(latency=0.1) as srv:
        run = lambda dest: subprocess.Popen([sys.executable, '-c', BUILD, srv.url, str(dest)])
        assert run(tmp_path/'whole').wait(300) == 0
        p = run(tmp_path/'killed')
        deadline = time.time() + 120
        while len(list((tmp_path/'killed').glob('*/*.jpg'))) < 10 and time.time() < deadline: time.sleep(0.05)
        p.send_signal(signal.SIGKILL); p.wait()
        assert not (tmp_path/'killed'/'manifest.csv').exists(), 'killed too late to test anything'
        assert run(tmp_path/'killed').wait(300) == 0
    files = lambda d: {str(f.relative_to(d)): f.read_bytes() for f in sorted(d.rglob('*')) if f.is_file() and f.suffix in ('.jpg', '.json', '.part')
                       and f.parent.name != 'searches'}
    assert files(tmp_path/'killed') == files(tmp_path/'whole')
    assert read_manifest(tmp_path/'killed').equals(read_manifest(tmp_path/'whole'))
    assert check_dataset(tmp_path/'killed') == []
