"Push sends the Space's own files and nothing else (no secret, no stray file, no link's target); a damaged mirror, a bad Space id or a malformed token is one line, before anything is sent."
import os, shutil, subprocess
from pathlib import Path
import pytest
from duckling_mirror.testing import FakeHub
from test_commands import ENV, run

ROOT = Path(__file__).resolve().parent.parent
SPACE = {'.gitattributes', 'README.md', 'app.py', 'mirror.json', 'mirror.py', 'model.onnx', 'requirements.txt',
         'examples/cygnet_002.jpg', 'examples/duckling_001.jpg', 'examples/goose_001.jpg', 'examples/provenance.csv'}

@pytest.fixture
def app(tmp_path) -> Path:
    "A copy of the project's exported mirror (`app/`), to spoil"
    return shutil.copytree(ROOT/'app', tmp_path/'app')

@pytest.fixture
def hub(tmp_path):
    "A fake Hub where `hf_alice` is alice's token, and the environment that points the command at it"
    with FakeHub(tokens={'hf_alice': 'alice'}) as h:
        h.env = {**{k: v for k, v in ENV.items() if k not in ('HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN')},
                 'HF_ENDPOINT': h.url, 'HF_HUB_DISABLE_XET': '1', 'HF_HOME': str(tmp_path/'hf')}
        yield h

def push(hub: FakeHub, *args, env: dict = None) -> subprocess.CompletedProcess:
    "`duckling-mirror-push` with `args`, against `hub`"
    return run('duckling-mirror-push', *args, env={**hub.env, **(env or {})}, timeout=120)

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
    assert (f'Uploaded 11 files ({mb:.1f} MB) to {hub.url}/spaces/alice/mirror: .gitattributes, README.md, app.py, '
            'mirror.json, mirror.py, model.onnx, requirements.txt, examples/ (3 pictures, provenance.csv)') in out.stdout, out.stdout

def test_push_without_examples(app, hub):
    shutil.rmtree(app/'examples')
    out = push(hub, 'mirror', '--app', app, '--token', 'hf_alice')
    assert out.returncode == 0 and 'Uploaded 7 files' in out.stdout and 'examples/' not in out.stdout, (out.stdout, out.stderr[-3000:])
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
    (app/'examples'/'big.png').write_bytes(os.urandom(6 * 2**20))
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
    os.rename(app/'examples'/'goose_001.jpg', os.fsencode(app/'examples') + b'/goose\xff.jpg')
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
