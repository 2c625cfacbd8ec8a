"""A download ends by its deadline whatever the server does, goes only to public addresses in every IPv6 spelling, and
two builds into one folder never run at once (issue #16)."""
import socket, subprocess, sys, textwrap, threading, time
from pathlib import Path
from urllib.parse import quote
import pytest
import duckling_mirror.net as net
from duckling_mirror.dataset import DatasetError, check_dataset, read_manifest
from duckling_mirror.download import build_dataset
from duckling_mirror.net import check_host, fetch
from duckling_mirror.search import SearchTerm
from duckling_mirror.testing import PhotoServer

def build(dest, results: dict, srv, search=None, **kwargs):
    "`build_dataset` over a search answering each query with `results[query]` (paths on `srv`), labelled by the query"
    search = search or (lambda q, n: [dict(image=srv.url + p, title=p, url='') for p in results[q]])
    return build_dataset([SearchTerm(q, q) for q in results], dest, search=search, progress=False, allow_private=True, **kwargs)

# A deadline that holds

def within(secs: float, f, *args, **kwargs):
    "What `f(*args, **kwargs)` returns or raises, in under `secs` seconds: a download that hangs fails the test instead of hanging it"
    out = {}
    def run():
        try: out['value'] = f(*args, **kwargs)
        except BaseException as e: out['error'] = e
    worker = threading.Thread(target=run, daemon=True)
    worker.start(); worker.join(secs)
    assert not worker.is_alive(), f'still running after {secs} s'
    if 'error' in out: raise out['error']
    return out['value']

TRICKLES = ['/fault/trickle-body', '/fault/trickle']  # the body a byte every 0.1 s after prompt headers; the headers too

@pytest.mark.parametrize('path', TRICKLES, ids=['body', 'headers'])
def test_a_trickling_server_meets_the_deadline(path):
    with PhotoServer() as srv, pytest.raises(TimeoutError, match='timed out: no picture after 2 s'):
        within(4, fetch, srv.url + path, timeout=2, deadline=2, allow_private=True)

@pytest.mark.parametrize('path', TRICKLES, ids=['body', 'headers'])
def test_a_trickling_server_meets_the_deadline_in_a_build(tmp_path, path):
    with PhotoServer() as srv: df = within(4, build, tmp_path, {'goose': ['/goose/goose_001.jpg', path]}, srv, timeout=5, deadline=2)
    assert df.status.tolist() == ['ok', 'failed'] and 'timed out' in df.error[1]

def redirects(n: int, to: str = '/goose/goose_003.jpg') -> str:
    "A path that redirects `n` times before it reaches `to`"
    for _ in range(n): to = '/fault/redirect?to=' + quote(to, safe='')
    return to

def test_a_slow_redirect_chain_shares_one_deadline(monkeypatch):
    "Six hops, each with a slow name lookup and a slow answer: the deadline passes during the second, and no hop goes on past it"
    real = net.check_host
    def slow_lookup(*args, **kwargs): time.sleep(0.25); return real(*args, **kwargs)
    monkeypatch.setattr(net, 'check_host', slow_lookup)
    with PhotoServer(latency=0.1) as srv, pytest.raises(TimeoutError, match='no picture after 0.5 s'):
        within(1.2, fetch, srv.url + redirects(5), deadline=0.5, allow_private=True)

def test_a_server_that_does_not_answer_is_given_timeout_seconds_each_time():
    with PhotoServer() as srv, pytest.raises(TimeoutError, match='no answer in 0.5 s'):
        fetch(srv.url + '/fault/slow', timeout=0.5, allow_private=True)

# Only public addresses, however they are written

LOCAL = ['127.0.0.1', '::1', '::ffff:127.0.0.1', '::7f00:1', '::8.8.8.8', '64:ff9b::7f00:1', '64:ff9b::a9fe:a9fe',
         '64:ff9b:1::808:808', '2002:7f00:1::', '2002:a00:1::1', '2001:0:4136:e378:8000:63bf:80ff:fffe', 'fe80::1%2', 'fd00::1']
PUBLIC = ['8.8.8.8', '::ffff:8.8.8.8', '64:ff9b::808:808', '2606:4700:4700::1111', '2001:4860:4860::8888']

@pytest.fixture
def resolve(monkeypatch):
    "Make `photos.test` resolve to the addresses given, and fail the test if anything connects"
    answer = []
    def getaddrinfo(host, port, *args, **kwargs):
        assert host == 'photos.test'
        return [(socket.AF_INET6 if ':' in a else socket.AF_INET, socket.SOCK_STREAM, 6, '',
                 (a, port, 0, 0) if ':' in a else (a, port)) for a in answer]
    def create_connection(*args, **kwargs): raise AssertionError(f'connected to {args[0]}')
    monkeypatch.setattr(socket, 'getaddrinfo', getaddrinfo)
    monkeypatch.setattr(socket, 'create_connection', create_connection)
    return lambda *addrs: answer.__setitem__(slice(None), addrs)

@pytest.mark.parametrize('addr', LOCAL)
def test_every_spelling_of_a_local_address_is_refused_before_connecting(resolve, addr):
    resolve(addr)
    with pytest.raises(PermissionError, match='photos.test is a local or private address'): check_host('photos.test', 80)
    with pytest.raises(PermissionError, match='is a local or private address'): fetch('http://photos.test/x.jpg')

def test_a_host_with_one_local_address_among_public_ones_is_refused(resolve):
    resolve('2606:4700:4700::1111', '64:ff9b::7f00:1')
    with pytest.raises(PermissionError, match='is a local or private address'): check_host('photos.test', 443)

@pytest.mark.parametrize('addr', PUBLIC)
def test_public_addresses_pass(resolve, addr):
    resolve(addr)
    assert check_host('photos.test', 443) == addr
    assert check_host('photos.test', 443, allow_private=True) == addr

# One build at a time

def listing(d: Path) -> dict:
    "Every file under `d`, hidden ones too, with its bytes"
    return {str(f.relative_to(d)): f.read_bytes() for f in sorted(d.rglob('*')) if f.is_file()}

RESULTS = {'goose': ['/goose/goose_001.jpg', '/goose/goose_003.jpg']}

def test_a_second_build_into_the_same_folder_is_refused_and_changes_nothing(tmp_path):
    with PhotoServer() as srv:
        build(tmp_path, RESULTS, srv)
        searching, go_on = threading.Event(), threading.Event()
        def held_search(q, n):
            searching.set(); go_on.wait(10)
            return [dict(image=srv.url + p, title=p, url='') for p in RESULTS[q] + ['/goose/goose_004.jpg']]
        first = threading.Thread(target=build, args=(tmp_path, RESULTS, srv, held_search), kwargs=dict(refresh=True))
        first.start()
        try:
            assert searching.wait(10)
            before = {k: v for k, v in listing(tmp_path).items() if k != '.lock'}
            with pytest.raises(DatasetError) as e: build(tmp_path, RESULTS, srv, refresh=True, retry=True)
            assert str(e.value) == f'another command is changing {tmp_path} (a build, a cleaning or an undo); wait for it to finish'
            assert {k: v for k, v in listing(tmp_path).items() if k != '.lock'} == before
        finally: go_on.set(); first.join(10)
        assert read_manifest(tmp_path).status.tolist() == ['ok'] * 3
        df = build(tmp_path, RESULTS, srv)  # the first is done: the folder is free again
    assert df.status.tolist() == ['ok'] * 3 and check_dataset(tmp_path) == [] and not (tmp_path/'.lock').exists()

def test_a_build_in_another_process_holds_the_folder(tmp_path):
    holder = subprocess.Popen([sys.executable, '-c', textwrap.dedent(f'''
        import sys
        from duckling_mirror.download import build_dataset
        from duckling_mirror.search import SearchTerm
        def search(q, n): print('searching', flush=True); sys.stdin.readline(); return []
        build_dataset([SearchTerm('goose', 'goose')], {str(tmp_path)!r}, search=search, progress=False)
        print('built', flush=True)''')], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == 'searching\n'
        with pytest.raises(DatasetError, match='another command is changing'):
            build_dataset([SearchTerm('goose', 'goose')], tmp_path, search=None, progress=False)
        holder.stdin.write('\n'); holder.stdin.flush()
        assert holder.stdout.readline() == 'built\n'
    finally:
        holder.kill(); holder.wait()
    with PhotoServer() as srv: assert build(tmp_path, RESULTS, srv, refresh=True).status.tolist() == ['ok', 'ok']

def test_the_lock_is_released_when_a_build_fails(tmp_path):
    def failing(q, n): raise ConnectionError('no internet')
    with pytest.raises(ConnectionError): build_dataset([SearchTerm('goose', 'goose')], tmp_path, search=failing, progress=False)
    with PhotoServer() as srv: assert build(tmp_path, RESULTS, srv).status.tolist() == ['ok', 'ok']
    assert not (tmp_path/'.lock').exists()

def test_a_killed_build_leaves_no_lock_behind(tmp_path):
    "The system releases the lock of a killed build; the lock file it leaves is taken over and removed"
    holder = subprocess.Popen([sys.executable, '-c', textwrap.dedent(f'''
        import time
        from duckling_mirror.dataset import lock_dataset
        with lock_dataset({str(tmp_path)!r}): print('held', flush=True); time.sleep(60)''')], stdout=subprocess.PIPE, text=True)
    try: assert holder.stdout.readline() == 'held\n'
    finally: holder.kill(); holder.wait()
    assert (tmp_path/'.lock').exists()
    with PhotoServer() as srv: assert build(tmp_path, RESULTS, srv).status.tolist() == ['ok', 'ok']
    assert not (tmp_path/'.lock').exists() and check_dataset(tmp_path) == []
