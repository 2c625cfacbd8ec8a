"""Search that never strands a learner (#18): with DuckDuckGo refusing every request, the dataset is still built from the
other sources, trained on and exported with its credits; every way an API misbehaves is one skipped source, said in a line."""
import csv, json, os, subprocess, sys, time
from pathlib import Path
import pytest
from ddgs.exceptions import DDGSException
from duckling_mirror.dataset import read_manifest, trainable
from duckling_mirror.download import build_dataset
from duckling_mirror.export import export_mirror
from duckling_mirror.search import (LICENSES, NoConnection, RateLimited, SearchError, image_sources, license_terms, search_images,
                                    search_commons, search_openverse)
from duckling_mirror.testing import MISSION_TERMS, FakeAPIs, sample_photos
from duckling_mirror.errors import UsageError
from duckling_mirror.train import evidence, train

ENV = {**os.environ, 'PYTHONWARNINGS': 'ignore'}

class RefusingDDGS:
    "DuckDuckGo refusing every request, as ddgs 9 reports a rate limit"
    calls = 0
    def images(self, query, **kw):
        RefusingDDGS.calls += 1
        raise DDGSException('No results found.')

def refusing(api: FakeAPIs, **kw) -> dict:
    "The default sources, DuckDuckGo refusing, Commons and Openverse the fakes'"
    return image_sources(ddg=dict(ddgs=RefusingDDGS, retries=2, pause=0, reachable=lambda: True), **api.sources(), **kw)

def test_ddg_refusing_every_request_still_builds_trains_and_credits(tmp_path, capsys):
    "The issue's goal: n pictures per term from the other sources, trained on and exported, each licensed one credited"
    data, app = tmp_path/'data', tmp_path/'app'
    with FakeAPIs() as api:
        df = build_dataset(MISSION_TERMS, data, n=8, search=refusing(api), allow_private=True, n_workers=4)
    out = capsys.readouterr().out
    for t in MISSION_TERMS: assert f"'{t.query}': ddg skipped (rate-limited), commons" in out, out
    counts = df.groupby('query').size().to_dict()
    assert counts == {t.query: 8 for t in MISSION_TERMS}  # n results per term, from Commons (and Openverse where Commons had too few)
    assert set(df.source) <= {'commons', 'openverse'}
    kept = trainable(read_manifest(data))
    licensed = kept[kept.license != '']
    assert len(licensed) and (licensed.creator != '').all() and set(licensed.source) == {'commons'}
    goose = kept[kept['query'] == 'goose']
    assert set(goose.license) == {'MIT'} and set(goose.creator) == {'Christine Chen'}
    assert 'Licences of the kept pictures' in (data/'README.md').read_text()
    learn = train(data, epochs=1, freeze_epochs=0, size=64, quiet=True)
    export_mirror(learn, app, web=False)
    credits = (app/'CREDITS.md').read_text()
    assert 'Christine Chen' in credits and '[MIT](https://github.com/steggie3/goose-dataset' in credits
    cfg, ev = json.loads((app/'mirror.json').read_text()), evidence(learn)
    m = read_manifest(data).set_index('file')
    free = lambda fs: [f for f in fs if license_terms(m.loc[f, 'license']) == LICENSES['open']]
    assert (cfg['licenses']['pictures'], cfg['licenses']['open']) == (len(ev['files']['train']), len(free(ev['files']['train'])))
    assert 'are openly licensed' in (app/'README.md').read_text()
    ex = list(csv.DictReader(open(app/'examples'/'provenance.csv')))
    assert ex, 'openly licensed geese and other pictures are there to show'
    held = bool(free(ev['files']['valid']))
    for r in ex:  # each example openly licensed and credited, held out from training when a held-out one qualifies
        assert license_terms(r['license']) == LICENSES['open'] and r['creator'] in credits
        assert r['dataset_file'] in (ev['files']['valid'] if held else ev['files']['train']) and r['held_out'] == ('yes' if held else 'no')
    (app/'examples'/'mine.jpg').write_bytes((sample_photos()/'cygnet'/'cygnet_001.jpg').read_bytes())  # unknown copyright, by hand
    with pytest.raises(UsageError, match='has mine.jpg, which this export did not write'): export_mirror(learn, app, web=False)
    (app/'examples'/'mine.jpg').unlink()
    export_mirror(learn, app, web=False, dataset=tmp_path/'elsewhere')  # no record of the licences: no example, none left behind
    assert not (app/'examples').exists() and 'no example picture is shown' in (app/'README.md').read_text()

def test_a_rerun_asks_no_source_again(tmp_path):
    "DuckDuckGo's refusal is saved once the term is answered: a re-run has the same files and manifest, and asks nobody"
    terms = MISSION_TERMS[:2]
    with FakeAPIs() as api:
        first = build_dataset(terms, tmp_path, n=5, search=refusing(api), allow_private=True, progress=False)
        asked, RefusingDDGS.calls = len(api.requests), 0
        again = build_dataset(terms, tmp_path, n=5, search=refusing(api), allow_private=True, progress=False)
        assert len(api.requests) == asked and RefusingDDGS.calls == 0
        assert again.equals(first)
        build_dataset(terms, tmp_path, n=5, search=refusing(api), allow_private=True, progress=False, refresh=True)
        assert RefusingDDGS.calls > 0  # --refresh asks again

def test_a_rate_limited_source_is_asked_once_in_a_run(tmp_path):
    "Retry-After is waited for once; a source still limited is not asked again for the next terms of the run"
    with FakeAPIs() as api:
        api.behave['commons'] = 'limited'
        RefusingDDGS.calls = 0
        df = build_dataset(MISSION_TERMS[:4], tmp_path, n=3, search=refusing(api), allow_private=True, progress=False)
        assert len(api.params('commons')) == 1 and RefusingDDGS.calls == 3  # ddg: two tries and the probe, for the first term only
    assert set(df.source) == {'openverse'}

def test_an_unreachable_source_is_saved_too(tmp_path):
    "DuckDuckGo out of reach while Commons answers: the skip is saved, so a re-run where it answers changes nothing"
    class AnsweringDDGS:
        def images(self, query, page=1, **kw): return [dict(title='new', image=f'http://img.test/{query}.jpg', url='', thumbnail='', width=1, height=1, source='Bing')]
    with FakeAPIs() as api:
        gone = image_sources(ddg=dict(ddgs=RefusingDDGS, retries=1, pause=0, reachable=lambda: False), **api.sources())
        first = build_dataset(MISSION_TERMS[:2], tmp_path, n=3, search=gone, allow_private=True, progress=False)
        back = image_sources(ddg=dict(ddgs=AnsweringDDGS), **api.sources())
        assert build_dataset(MISSION_TERMS[:2], tmp_path, n=3, search=back, allow_private=True, progress=False).equals(first)

@pytest.mark.parametrize('how, why', [('limited', 'rate-limited'), ('refuse', 'refused'), ('empty', 'no results'),
                                      ('malformed', 'refused'), ('garbage', 'refused')])
def test_a_misbehaving_source_hands_over(how, why, capsys):
    "Commons misbehaving in each way the fake knows: skipped with its reason, and Openverse answers"
    with FakeAPIs() as api:
        api.behave['commons'] = how
        t = time.monotonic()
        res = search_images('goose', 5, refusing(api))
        assert time.monotonic() - t < 10  # a Retry-After of an hour is not waited for
    assert [r['source'] for r in res] == ['openverse'] * 5
    assert f"'goose': ddg skipped (rate-limited), commons skipped ({why}), openverse 5" in capsys.readouterr().out

def test_no_source_answering_is_one_clear_error():
    with FakeAPIs() as api:
        api.behave.update(commons='limited', openverse='limited')
        with pytest.raises(RateLimited, match="No source found pictures for 'goose': ddg: DuckDuckGo is limiting"):
            search_images('goose', 5, refusing(api), say=None)
    gone = image_sources('commons,openverse', commons=dict(api='http://127.0.0.1:9/w/api.php'), openverse=dict(api='http://127.0.0.1:9/v1/images/'))
    with pytest.raises(NoConnection, match="No internet connection: none of commons, openverse could be reached"):
        search_images('goose', 5, gone, say=None)

def test_retry_after_is_waited_then_answered():
    with FakeAPIs() as api:
        api.behave['commons'] = 'limited-twice'
        t = time.monotonic()
        assert len(search_commons('swan', 5, api=api.commons)) == 5
        assert time.monotonic() - t >= 2
        assert len(api.params('commons')) == 3

def test_licence_filter_reaches_each_source():
    with FakeAPIs() as api:
        res = search_commons('other', 20, license='open', api=api.commons)
        assert res and all(license_terms(r['license']) == LICENSES['open'] for r in res)
        assert {r['license'] for r in res} >= {'CC0 1.0', 'Public domain', 'CC BY 2.0'}
        assert 'Unsplash License' not in {r['license'] for r in res}  # a licence, but not an open one
        res = search_openverse('other', 20, license='commercial', api=api.openverse, interval=0)
        assert api.params('openverse')[-1]['license_type'] == 'commercial' and all('commercial' in license_terms(r['license']) for r in res)
        with pytest.raises(SearchError, match='no pictures .* under --license open'): search_commons('duckling', 5, license='open', api=api.commons)

def test_the_same_picture_from_two_sources_is_kept_once(tmp_path):
    "Openverse indexes Commons: the same photo at two addresses is one picture, the other row `duplicate`"
    with FakeAPIs() as api:
        srcs = image_sources('commons,openverse', **api.sources())
        df = build_dataset(MISSION_TERMS[1:2], tmp_path, n=12, search=srcs, allow_private=True, progress=False)  # cygnet: 6 photos
    assert df.groupby(['source', 'status']).size().to_dict() == {('commons', 'ok'): 6, ('openverse', 'duplicate'): 6}

def run(cmd, *args, env=None):
    return subprocess.run([Path(sys.executable).parent/cmd, *map(str, args)], capture_output=True, text=True, env=env or ENV, timeout=300)

def test_help_documents_sources_and_license():
    for cmd in ('duckling-mirror-dataset', 'duckling-mirror'):
        out = run(cmd, '--help').stdout
        assert '--sources' in out and '--license' in out and 'commons' in out and 'open' in out, out

def test_bad_sources_and_license_are_one_line(tmp_path):
    for args, msg in ((['--sources', 'ddg,bing'], "'bing' is not a source"), (['--license', 'cc-by'], 'choose any, open'),
                      (['--sources', 'serpapi'], 'serpapi needs a key')):
        out = run('duckling-mirror-dataset', '--dest', tmp_path/'d', *args, env={**ENV, 'SERPAPI_KEY': ''})
        assert out.returncode != 0 and msg in out.stderr and 'Traceback' not in out.stderr, out.stderr
        assert not (tmp_path/'d').exists()

def test_the_command_falls_through_to_the_apis_it_is_given(tmp_path):
    "The console script, DuckDuckGo out of reach (no internet here), Commons and Openverse the fakes' through the environment"
    with FakeAPIs() as api:
        env = {**ENV, 'DUCKLING_MIRROR_COMMONS_API': api.commons, 'DUCKLING_MIRROR_OPENVERSE_API': api.openverse}
        out = run('duckling-mirror-dataset', '--dest', tmp_path/'d', '--n', 3, env=env)
    assert "'duckling': ddg skipped (unreachable), commons 3" in out.stdout, out.stdout + out.stderr
    # the fakes' pictures are on 127.0.0.1, which a real build never downloads from: one line says so, no traceback
    assert out.returncode != 0 and 'Traceback' not in out.stderr and 'could be kept as a picture' in out.stderr, out.stderr
    rows = read_manifest(tmp_path/'d')
    assert set(rows.source) == {'commons'} and rows.error.str.contains('local or private address').all()
