"Push sends the Space's own files and nothing else (no secret, no stray file, no link's target); a damaged mirror, a bad Space id or a malformed token is one line, before anything is sent. It publishes the static mirror (free) by default, or the Gradio app, and says plainly when the account's plan does not allow a Gradio Space."
import csv, hashlib, os, shutil, subprocess, sys
from pathlib import Path
import pytest
from duckling_mirror.testing import HUB_402, FakeHub, sample_web
from test_commands import ENV, run

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = {f'examples/{p.name}' for p in (ROOT/'app'/'examples').iterdir()}  # the openly licensed pictures it may show
PICTURES = f'{len(EXAMPLES) - 1} picture' + ('s' if len(EXAMPLES) > 2 else '')  # as push counts them
SPACE = {'.gitattributes', 'CREDITS.md', 'README.md', 'app.py', 'mirror.json', 'mirror.py', 'model.onnx', 'requirements.txt', *EXAMPLES}
WEB_SPACE = {'.gitattributes', 'CREDITS.md', 'README.md', 'index.html', 'mirror.js', 'worker.js', 'mirror.json', 'model.onnx',
             'ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm', 'sw.js', *EXAMPLES}

@pytest.fixture
def app(tmp_path) -> Path:
    "A copy of the project's exported mirror (`app/`), to spoil"
    return shutil.copytree(ROOT/'app', tmp_path/'app')

@pytest.fixture
def web(tmp_path) -> Path:
    "A static mirror (`web/`) around the project's model, with the app's examples, to spoil"
    d = sample_web(tmp_path/'web', ROOT/'app')
    shutil.copytree(ROOT/'app'/'examples', d/'examples')
    return d

def fake_hub(tmp_path, **kwargs) -> FakeHub:
    "A fake Hub where `hf_alice` is alice's token, with `env`, the environment that points the command at it"
    h = FakeHub(tokens={'hf_alice': 'alice'}, **kwargs)
    h.env = {**{k: v for k, v in ENV.items() if k not in ('HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN')},
             'HF_ENDPOINT': h.url, 'HF_HUB_DISABLE_XET': '1', 'HF_HOME': str(tmp_path/'hf')}
    return h

@pytest.fixture
def hub(tmp_path):
    "A fake Hub (on a paid plan: it creates any Space)"
    with fake_hub(tmp_path) as h: yield h

@pytest.fixture
def free_hub(tmp_path):
    "A fake Hub on the free plan: static Spaces, and Gradio ones only on ZeroGPU"
    with fake_hub(tmp_path, plan='free') as h: yield h

def push(hub: FakeHub, *args, env: dict = None, cwd: Path = None) -> subprocess.CompletedProcess:
    "`duckling-mirror-push` with `args`, against `hub`, run in `cwd`"
    if cwd is None: return run('duckling-mirror-push', *args, env={**hub.env, **(env or {})}, timeout=120)
    return subprocess.run([Path(sys.executable).parent/'duckling-mirror-push', *map(str, args)], capture_output=True, text=True,
                          env={**hub.env, **(env or {})}, timeout=120, cwd=cwd)

def refused(out: subprocess.CompletedProcess, hub: FakeHub, *words: str):
    "`out` is one line on stderr saying `words`, no traceback, and the Hub was not even asked"
    assert out.returncode in (1, 2), (out.returncode, out.stdout, out.stderr[-3000:])
    assert 'Traceback' not in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr[-3000:]
    for w in words: assert w in out.stderr, (w, out.stderr)
    assert hub.requests == [] and hub.repos == {}, hub.requests

def test_push_sends_only_the_space_files_and_says_which(app, hub, tmp_path):
    (app/'.env').write_text('HF_TOKEN=hf_secret\n')
    (app/'stray.bin').write_bytes(os.urandom(12 * 2**20))
    (tmp_path/'outside.txt').write_text('a secret outside the folder\n')
    (app/'notes.txt').symlink_to(tmp_path/'outside.txt')  # a link that is not the Space's: left behind, not followed
    (app/'examples'/'notes.txt').write_text('not a picture\n')
    (app/'__pycache__').mkdir(); (app/'__pycache__'/'mirror.cpython-311.pyc').write_bytes(b'\0')
    out = push(hub, 'mirror', '--app', app, '--token', 'hf_alice')
    assert out.returncode == 0, out.stderr[-3000:]
    assert set(hub.files['alice/mirror']) == SPACE, sorted(hub.files['alice/mirror'])
    assert all(hub.files['alice/mirror'][f] == (app/f).read_bytes() for f in SPACE)
    assert len(hub.commits) == 1 and 'model.onnx' in hub.lfs['alice/mirror']
    mb = sum((app/f).stat().st_size for f in SPACE) / 1e6
    assert (f'Uploaded {len(SPACE)} files ({mb:.1f} MB) to {hub.url}/spaces/alice/mirror: .gitattributes, CREDITS.md, README.md, app.py, '
            f'mirror.json, mirror.py, model.onnx, requirements.txt, examples/ ({PICTURES}, provenance.csv)') in out.stdout, out.stdout

def test_push_without_examples(app, hub):
    shutil.rmtree(app/'examples')
    out = push(hub, 'mirror', '--app', app, '--token', 'hf_alice')
    assert out.returncode == 0 and 'Uploaded 8 files' in out.stdout and 'examples/' not in out.stdout, (out.stdout, out.stderr[-3000:])
    assert set(hub.files['alice/mirror']) == {f for f in SPACE if not f.startswith('examples/')}

@pytest.mark.parametrize('link,target', [
    ('examples/hostname.jpg', '/etc/hostname'),  # a picture that is a link out of the folder
    ('README.md', 'outside/README.md'),  # a Space file that is a link out of the folder
    ('mirror.json', 'app/examples/provenance.csv'),  # even a link that stays inside: a Space holds files, not links
    ('examples/provenance.csv', '/etc/passwd'),
    ('examples', 'outside/examples'),  # the whole examples folder, elsewhere
])
def test_push_follows_no_link(app, hub, tmp_path, link, target):
    (tmp_path/'outside').mkdir()
    (tmp_path/'outside'/'README.md').write_text('a secret\n')
    shutil.copytree(app/'examples', tmp_path/'outside'/'examples')
    dest = app/link
    if dest.is_dir(): shutil.rmtree(dest)
    else: dest.unlink(missing_ok=True)
    dest.symlink_to(target if target.startswith('/') else tmp_path/target)
    refused(push(hub, 'mirror', '--app', app, '--token', 'hf_alice'), hub, link, 'link')

def test_push_refuses_a_picture_that_is_not_a_file_or_too_big(app, hub):
    (app/'examples'/'folder.jpg').mkdir()
    refused(push(hub, 'mirror', '--app', app, '--token', 'hf_alice'), hub, 'examples/folder.jpg', 'not a file')
    (app/'examples'/'folder.jpg').rmdir()
    big = os.urandom(6 * 2**20)
    (app/'examples'/'big.png').write_bytes(big)
    refused(push(hub, 'mirror', '--app', app, '--token', 'hf_alice'), hub, 'examples/big.png', 'not an example picture the export wrote')
    rows = list(csv.DictReader(open(app/'examples'/'provenance.csv', newline='')))
    rows.append({**rows[0], 'file': 'big.png', 'sha256': hashlib.sha256(big).hexdigest()})  # listed, as if exported
    with open(app/'examples'/'provenance.csv', 'w', newline='') as f:
        w = csv.DictWriter(f, list(rows[0])); w.writeheader(); w.writerows(rows)
    refused(push(hub, 'mirror', '--app', app, '--token', 'hf_alice'), hub, 'examples/big.png', '5 MB')

@pytest.mark.parametrize('spoil,words', [
    (lambda app: (app/'mirror.json').write_text('{'), 'could not be loaded'),
    (lambda app: (app/'model.onnx').write_bytes(b''), 'could not be loaded'),
    (lambda app: (app/'model.onnx').unlink(), 'model.onnx missing'),
    (lambda app: (app/'.gitattributes').unlink(), '.gitattributes missing'),
], ids=['torn-mirror.json', 'empty-model.onnx', 'no-model.onnx', 'no-.gitattributes'])
def test_push_refuses_a_mirror_that_does_not_load(app, hub, spoil, words):
    spoil(app)
    refused(push(hub, 'mirror', '--app', app, '--token', 'hf_alice'), hub, words)

@pytest.mark.parametrize('repo_id', ['https://huggingface.co/spaces/alice/mirror', 'huggingface.co/spaces/alice/mirror',
                                     'https://huggingface.co/spaces/alice/mirror/', 'https://hf.co/spaces/alice/mirror',
                                     'https://huggingface.co/spaces/alice/mirror/tree/main', ' alice/mirror '])
def test_push_takes_a_pasted_space_address(app, hub, repo_id):
    out = push(hub, repo_id, '--app', app, '--token', 'hf_alice')
    assert out.returncode == 0 and f'{hub.url}/spaces/alice/mirror' in out.stdout, out.stderr[-3000:]
    assert set(hub.repos) == {'alice/mirror'} and set(hub.files['alice/mirror']) == SPACE

@pytest.mark.parametrize('repo_id,words', [
    ('alice/a/b', "'alice/a/b'"), ('alice/x y', "'alice/x y'"), ('alice/', "'alice/'"), ('/mirror', "'/mirror'"),
    ('alice/mirror--x', "'alice/mirror--x'"), ('x' * 97, 'x' * 97),
    ('https://huggingface.co/alice/mirror', "a model's address"),
    ('https://huggingface.co/datasets/alice/mirror', "a dataset's address"),
    ('https://huggingface.co/spaces/alice', "spaces/alice'"),
])
def test_a_bad_space_id_is_one_line(app, hub, repo_id, words):
    out = push(hub, repo_id, '--app', app, '--token', 'hf_alice')
    refused(out, hub, words, 'user/name')
    assert out.returncode == 2

@pytest.mark.parametrize('token', ['hf_alice\n', ' hf_alice ', '\thf_alice\r\n'])
def test_a_token_pasted_with_spaces_around_works(app, hub, token):
    out = push(hub, 'mirror', '--app', app, '--token', token)
    assert out.returncode == 0 and f'{hub.url}/spaces/alice/mirror' in out.stdout, out.stderr[-3000:]

@pytest.mark.parametrize('token,env', [
    ('hf_ali\u201dce', {}), ('\u201chf_alice\u201d', {}), ('hf_ali\nce', {}), ('hf_ali ce', {}),
    (None, {'HF_TOKEN': 'hf_alice\u2019'}),
])
def test_a_malformed_token_is_one_line(app, hub, token, env):
    args = ['mirror', '--app', app] + (['--token', token] if token is not None else [])
    out = push(hub, *args, env=env)
    refused(out, hub, 'token', 'malformed')
    assert 'could not be reached' not in out.stderr and 'hf_ali' not in out.stderr  # and the token is not printed

# Tried as a hostile user, once more (issue 16's closing pass)

@pytest.mark.parametrize('name,data', [('holiday.jpg', b'HF_TOKEN=hf_supersecret\n'), ('notes.png', b'HF_TOKEN=hf_secret2\n')])
def test_push_sends_no_example_that_is_not_a_picture(app, hub, tmp_path, name, data):
    "A secret named like a picture, or a hard link to one (which no link check sees), stays home"
    (tmp_path/'secret.env').write_bytes(data)
    os.link(tmp_path/'secret.env', app/'examples'/name)
    refused(push(hub, 'mirror', '--app', app, '--token', 'hf_alice'), hub, f'examples/{name}', 'not an example picture')

def test_push_refuses_an_example_whose_name_is_not_text(app, hub):
    os.rename(next((app/'examples').glob('*.jpg')), os.fsencode(app/'examples') + b'/goose\xff.jpg')
    refused(push(hub, 'mirror', '--app', app, '--token', 'hf_alice'), hub, 'not printable text')

def test_push_refuses_a_readme_that_no_longer_configures_the_space(app, hub):
    (app/'README.md').write_text('# Dataset: cygnet, duckling, neither\n\nBuilt by duckling-mirror from 300 search results.\n')
    refused(push(hub, 'mirror', '--app', app, '--token', 'hf_alice'), hub, 'README.md does not configure the Space')

def test_push_does_not_make_a_public_space_private_by_surprise(app, hub):
    hub.add_repo('alice/mirror', 'space', 'gradio', private=False)
    out = push(hub, 'mirror', '--app', app, '--token', 'hf_alice', '--private')
    assert out.returncode == 1 and 'is a public Space already' in out.stderr and 'Traceback' not in out.stderr, out.stderr[-3000:]
    assert hub.commits == [] and hub.files['alice/mirror'] == {}

def test_push_sends_an_address_on_another_hub_nowhere(app, hub):
    refused(push(hub, 'https://hub.example.com/spaces/alice/mirror', '--app', app, '--token', 'hf_alice'), hub,
            'is a Space on hub.example.com, but the push goes to 127.0.0.1')

def test_an_empty_token_is_not_someone_else_s(app, hub):
    refused(push(hub, 'mirror', '--app', app, '--token', '', env={'HF_TOKEN': 'hf_alice'}), hub, 'The token is empty')

# Two kinds of Space, and the plans (issue 17): the static mirror is free for everyone, the Gradio app needs a paid plan or ZeroGPU

def test_the_command_pushes_the_static_mirror_by_default(app, web, hub, tmp_path):
    out = push(hub, 'mirror', '--token', 'hf_alice', cwd=tmp_path)  # where export wrote app/ and web/
    assert out.returncode == 0, out.stderr[-3000:]
    assert hub.repos['alice/mirror'] == dict(type='space', sdk='static', private=False, hardware=None)
    assert set(hub.files['alice/mirror']) == WEB_SPACE, sorted(hub.files['alice/mirror'])
    assert all(hub.files['alice/mirror'][f] == (web/f).read_bytes() for f in WEB_SPACE)
    assert {'model.onnx', 'ort-wasm-simd-threaded.wasm'} <= hub.lfs['alice/mirror']
    assert f'Uploaded {len(WEB_SPACE)} files' in out.stdout and "runs in each visitor's browser" in out.stdout, out.stdout

def test_push_sends_only_the_static_mirror_files(web, hub, tmp_path):
    (web/'.env').write_text('HF_TOKEN=hf_secret\n')
    (web/'app.py').write_text('a file of the other kind of Space\n')
    (web/'stray.bin').write_bytes(os.urandom(2**20))
    (web/'examples'/'notes.txt').write_text('not a picture\n')
    out = push(hub, 'mirror', '--web', web, '--token', 'hf_alice')
    assert out.returncode == 0, out.stderr[-3000:]
    assert set(hub.files['alice/mirror']) == WEB_SPACE and hub.repos['alice/mirror']['sdk'] == 'static'
    assert ('.gitattributes, CREDITS.md, README.md, index.html, mirror.js, worker.js, mirror.json, model.onnx, ort.wasm.min.mjs, '
            f'ort-wasm-simd-threaded.mjs, ort-wasm-simd-threaded.wasm, sw.js, examples/ ({PICTURES}, provenance.csv)') in out.stdout, out.stdout

def test_gradio_pushes_the_app(app, web, hub, tmp_path):
    out = push(hub, 'mirror', '--gradio', '--token', 'hf_alice', cwd=tmp_path)
    assert out.returncode == 0 and 'builds it in a minute or two' in out.stdout, out.stderr[-3000:]
    assert hub.repos['alice/mirror']['sdk'] == 'gradio' and set(hub.files['alice/mirror']) == SPACE

def test_the_static_mirror_needs_no_paid_plan(web, free_hub):
    out = push(free_hub, 'mirror', '--web', web, '--token', 'hf_alice')
    assert out.returncode == 0, out.stderr[-3000:]
    assert free_hub.repos['alice/mirror']['sdk'] == 'static' and set(free_hub.files['alice/mirror']) == WEB_SPACE

def test_a_free_account_is_told_of_the_static_mirror(app, free_hub):
    "The Hub's 402 for a Gradio Space on a free plan is one line that says so and names the free way, not 'you cannot create a Space under that name'"
    out = push(free_hub, 'mirror', '--gradio', '--app', app, '--token', 'hf_alice')
    assert out.returncode == 1 and 'Traceback' not in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr[-3000:]
    for words in ("will not create the Gradio Space alice/mirror on alice's plan", 'paid plan (PRO)', '--hardware zero-a10g',
                  'The static mirror is free for every account: `duckling-mirror-push alice/mirror` publishes web/', HUB_402['cpu-basic']):
        assert words in out.stderr, (words, out.stderr)
    assert 'cannot create a Space under' not in out.stderr
    assert free_hub.repos == {} and free_hub.commits == []

def test_a_free_account_past_its_zero_gpu_spaces_is_told_of_the_static_mirror(app, tmp_path):
    with fake_hub(tmp_path, plan='free', zero_gpu=0) as h:
        out = push(h, 'mirror', '--app', app, '--hardware', 'zero-a10g', '--token', 'hf_alice')
        assert out.returncode == 1 and len(out.stderr.strip().splitlines()) == 1, out.stderr[-3000:]
        for words in ('will not host alice/mirror on ZeroGPU for alice', '`duckling-mirror-push alice/mirror` publishes web/', HUB_402['zero-a10g']):
            assert words in out.stderr, (words, out.stderr)
        assert h.repos == {}

@pytest.mark.parametrize('plan,hardware', [('free', 'zero-a10g'), ('pro', 'zero-a10g'), ('pro', 't4-small'), ('pro', 'CPU-Basic')])
def test_hardware_goes_to_create_repo(app, tmp_path, plan, hardware):
    with fake_hub(tmp_path, plan=plan) as h:
        out = push(h, 'mirror', '--gradio', '--app', app, '--hardware', hardware, '--token', 'hf_alice')
        assert out.returncode == 0, out.stderr[-3000:]
        assert h.repos['alice/mirror'] == dict(type='space', sdk='gradio', private=False, hardware=hardware.lower())
        assert set(h.files['alice/mirror']) == SPACE

@pytest.mark.parametrize('args,words', [
    (['--gradio', '--hardware', 'a100'], ["--hardware a100: not a Space's hardware", 'zero-a10g is ZeroGPU', 'a100-large']),
    (['--hardware', 'zero-a10g'], ['--hardware zero-a10g: only for the Gradio app (--gradio)']),
    (['--web', 'web', '--gradio'], ['--web web and --gradio: one Space at a time']),
    (['--gradio', '--app', 'web'], ['--app web: that folder is the static mirror (its README.md says sdk: static)', '--app app']),
    (['--web', 'app'], ['--web app: that folder is the Gradio app (its README.md says sdk: gradio)', 'add --gradio']),
], ids=['unknown-hardware', 'hardware-for-the-static-mirror', 'both-folders', 'gradio-of-the-static-mirror', 'static-of-the-app'])
def test_a_push_that_cannot_be_is_one_line(app, web, hub, tmp_path, args, words):
    out = push(hub, 'mirror', *args, '--token', 'hf_alice', cwd=tmp_path)
    refused(out, hub, *words)
    assert out.returncode == 2

@pytest.mark.parametrize('kind', ['web', 'app'])
@pytest.mark.parametrize('card,said', [
    ('---\ntitle: Duckling Mirror\nsdk: docker\napp_file: index.html\n---\n', 'its front matter says sdk: docker'),
    ('---\ntitle: Duckling Mirror\nsdk: streamlit\n---\n', 'its front matter says sdk: streamlit'),
    ('---\ntitle: Duckling Mirror\n---\n', 'its front matter names no sdk'),
    ('# Duckling Mirror\n\nNo front matter at all.\n', 'its front matter names no sdk'),
], ids=['docker', 'streamlit', 'no-sdk', 'no-front-matter'])
def test_a_readme_with_no_or_another_sdk_is_refused(app, web, hub, kind, card, said):
    folder = dict(web=web, app=app)[kind]
    (folder/'README.md').write_text(card)
    out = push(hub, 'mirror', f'--{kind}', folder, '--token', 'hf_alice')
    refused(out, hub, f'{folder} is not an exported mirror: its README.md does not configure the Space', said, 'sdk: static', 'sdk: gradio')

def test_a_static_readme_without_its_page_is_refused(web, hub):
    (web/'README.md').write_text('---\ntitle: Duckling Mirror\nsdk: static\napp_file: app.py\n---\n')
    refused(push(hub, 'mirror', '--web', web, '--token', 'hf_alice'), hub, 'README.md does not configure the Space', 'app_file: index.html')

@pytest.mark.parametrize('there,kind', [('gradio', 'web'), ('static', 'app')])
def test_a_space_of_the_other_kind_is_not_overwritten(app, web, hub, there, kind):
    "Its README.md is the Space's settings: pushing the other kind there would turn the Space into another"
    hub.add_repo('alice/mirror', 'space', there)
    out = push(hub, 'mirror', f'--{kind}', dict(web=web, app=app)[kind], '--token', 'hf_alice')
    assert out.returncode == 1 and len(out.stderr.strip().splitlines()) == 1, out.stderr[-3000:]
    assert f'alice/mirror is a {dict(gradio="Gradio", static="static")[there]} Space already' in out.stderr, out.stderr
    assert 'Nothing was sent' in out.stderr and hub.commits == [] and hub.files['alice/mirror'] == {}

def test_a_free_account_still_updates_the_gradio_space_it_has(app, free_hub):
    "A Space made before the plans changed is updated, not created again: the Hub's plan check is not asked"
    free_hub.add_repo('alice/mirror', 'space', 'gradio')
    out = push(free_hub, 'mirror', '--app', app, '--token', 'hf_alice')
    assert out.returncode == 0, out.stderr[-3000:]
    assert set(free_hub.files['alice/mirror']) == SPACE and ('POST', '/api/repos/create') not in free_hub.requests

def test_a_namespace_not_yours_is_still_said_so(web, free_hub):
    out = push(free_hub, 'bob/mirror', '--web', web, '--token', 'hf_alice')
    assert out.returncode == 1 and "You (as alice) cannot create a Space under 'bob'" in out.stderr, out.stderr[-3000:]

def test_model_and_dataset_go_to_the_hub_beside_the_space(web, free_hub, tmp_path):
    "Issue #30: --model publishes model.onnx, mirror.json and a model card; --dataset only the openly licensed pictures, with metadata.csv and a card; the Space's card links both"
    from duckling_mirror.dataset import read_manifest, trainable
    from duckling_mirror.search import LICENSES, license_terms
    from duckling_mirror.testing import sample_dataset
    ds = tmp_path/'mission'
    sample_dataset(ds, progress=False)
    out = push(free_hub, 'duckling-mirror', '--web', web, '--model', 'duckling-mirror-model', '--dataset', 'duckling-mirror-photos',
               '--path', ds, '--token', 'hf_alice')
    assert out.returncode == 0, out.stderr[-3000:]
    kinds = {r: free_hub.repos[r]['type'] for r in ('alice/duckling-mirror', 'alice/duckling-mirror-model', 'alice/duckling-mirror-photos')}
    assert kinds == {'alice/duckling-mirror': 'space', 'alice/duckling-mirror-model': 'model', 'alice/duckling-mirror-photos': 'dataset'}
    model = free_hub.files['alice/duckling-mirror-model']
    assert set(model) == {'model.onnx', 'mirror.json', 'README.md', '.gitattributes'}
    assert model['model.onnx'] == (web/'model.onnx').read_bytes() and model['mirror.json'] == (web/'mirror.json').read_bytes()
    mcard = model['README.md'].decode()
    for k in ('license: apache-2.0', 'pipeline_tag: image-classification', 'base_model:', 'model-index:', 'onnxruntime',
              f'{free_hub.url}/spaces/alice/duckling-mirror', f'{free_hub.url}/datasets/alice/duckling-mirror-photos'): assert k in mcard, k
    space = free_hub.files['alice/duckling-mirror']['README.md'].decode()
    assert f'{free_hub.url}/alice/duckling-mirror-model' in space and f'{free_hub.url}/datasets/alice/duckling-mirror-photos' in space
    rows = trainable(read_manifest(ds))
    open_ = {r.file for r in rows.itertuples() if license_terms(r.license) == LICENSES['open']}
    photos = free_hub.files['alice/duckling-mirror-photos']
    assert set(photos) == open_ | {'metadata.csv', 'README.md'}, set(photos) ^ (open_ | {'metadata.csv', 'README.md'})
    meta = list(csv.DictReader(photos['metadata.csv'].decode().splitlines()))
    assert {m['file_name'] for m in meta} == open_ and all(m['license'] and m['source_page'] for m in meta)
    card = photos['README.md'].decode()
    assert f'Only {len(open_)} of the {len(rows)} pictures' in card and 'task_categories:' in card

def test_a_dataset_without_licences_is_one_line_and_nothing_sent(web, free_hub, tmp_path):
    (tmp_path/'empty').mkdir()
    refused(push(free_hub, 'duckling-mirror', '--web', web, '--dataset', 'photos', '--path', tmp_path/'empty', '--token', 'hf_alice'),
            free_hub, 'no manifest.csv')

def test_model_and_dataset_ids_and_pictures_are_checked_before_the_hub_is_asked(web, free_hub, tmp_path):
    "A malformed --model or --dataset id, or a dataset with no openly licensed picture, is one line, and nothing is sent"
    import pandas as pd
    from duckling_mirror.testing import sample_dataset
    refused(push(free_hub, 'duckling-mirror', '--web', web, '--model', 'bad id!!', '--token', 'hf_alice'), free_hub,
            "--model 'bad id!!' is not a model repository id")
    refused(push(free_hub, 'duckling-mirror', '--web', web, '--dataset', 'a/b/c', '--path', tmp_path, '--token', 'hf_alice'), free_hub,
            "--dataset 'a/b/c' is not a dataset repository id")
    ds = tmp_path/'mission'
    sample_dataset(ds, progress=False)
    m = pd.read_csv(ds/'manifest.csv', dtype=str, keep_default_na=False)
    m.assign(license='').to_csv(ds/'manifest.csv', index=False)  # by hand: every licence gone
    refused(push(free_hub, 'duckling-mirror', '--web', web, '--dataset', 'photos', '--path', ds, '--token', 'hf_alice'), free_hub,
            'none of its pictures is openly licensed')

def test_a_space_the_hub_refuses_publishes_nothing_else(app, free_hub, tmp_path):
    "The Space goes first: a Gradio Space the free plan refuses leaves no model and no dataset behind"
    from duckling_mirror.testing import sample_dataset
    sample_dataset(tmp_path/'mission', progress=False)
    out = push(free_hub, 'duckling-mirror', '--app', app, '--model', 'm', '--dataset', 'd', '--path', tmp_path/'mission', '--token', 'hf_alice')
    assert out.returncode == 1 and 'Traceback' not in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr[-2000:]
    assert free_hub.repos == {} and free_hub.commits == [], free_hub.repos
