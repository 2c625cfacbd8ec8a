"""`app/` is a Hugging Face Space as it is: front matter, requirements, every file the app opens, and the app itself run
as a Space runs it, in an environment with nothing but its own requirements."""
import csv, ast, os, re, shutil, subprocess, sys, time
from pathlib import Path
import pytest, yaml
import gradio
from conftest import free_port
from duckling_mirror.search import LICENSES, license_terms

APP = Path(__file__).resolve().parent.parent/'app'

def front_matter() -> dict:
    m = re.match(r'^---\n(.*?)\n---\n', (APP/'README.md').read_text(), re.S)
    assert m, 'app/README.md needs YAML front matter between --- lines'
    return yaml.safe_load(m.group(1))

def requirements() -> dict:
    return {re.split(r'[=<>~ \[]', l.strip())[0].lower(): l.strip() for l in (APP/'requirements.txt').read_text().splitlines()
            if l.strip() and not l.startswith('#')}

def test_front_matter():
    fm = front_matter()
    for k in ('title', 'emoji', 'colorFrom', 'colorTo', 'sdk', 'sdk_version', 'app_file', 'pinned', 'license', 'short_description'):
        assert k in fm, k
    assert fm['sdk'] == 'gradio'
    assert fm['sdk_version'] == gradio.__version__, 'sdk_version must be the gradio the tests ran with'
    assert re.fullmatch(r'\d+\.\d+\.\d+', fm['sdk_version'])
    assert str(fm['python_version']) == '3.12', 'what ZeroGPU runs, and what the pins resolve for (tests/test_resolve.py)'
    assert fm['colorFrom'] in 'red yellow green blue indigo purple pink gray'.split()
    assert fm['colorTo'] in 'red yellow green blue indigo purple pink gray'.split()
    assert len(fm['short_description']) <= 60
    assert (APP/fm['app_file']).exists()

def test_requirements_cover_imports_and_nothing_heavy():
    reqs = requirements()
    assert all('==' in v for v in reqs.values()), 'pin every requirement'
    assert not {'torch', 'fastai', 'timm', 'torchvision', 'duckling-mirror'} & set(reqs), reqs
    names = {'PIL': 'pillow'}
    mods = set()
    for f in ('app.py', 'mirror.py'):
        for node in ast.walk(ast.parse((APP/f).read_text())):
            if isinstance(node, ast.Import): mods |= {a.name.split('.')[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0: mods.add(node.module.split('.')[0])
    third = {m for m in mods if m not in sys.stdlib_module_names and m not in ('__future__', 'mirror')}
    # the Space's sdk_version installs gradio; `spaces` is the Hub's, imported only where it is there
    missing = {m for m in third if names.get(m, m).lower() not in set(reqs) | {'gradio', 'spaces'}}
    assert not missing, f'app/requirements.txt does not install {missing}'

def test_model_and_examples_are_there():
    for f in ('mirror.json', 'model.onnx', '.gitattributes', 'mirror.py', 'app.py'): assert (APP/f).exists(), f
    assert '*.onnx filter=lfs' in (APP/'.gitattributes').read_text()
    ex = list(csv.DictReader(open(APP/'examples'/'provenance.csv')))
    assert sorted(r['file'] for r in ex) == sorted(o.name for o in (APP/'examples').glob('*.jpg')) and ex  # each example credited
    for r in ex:  # only openly licensed pictures, never one of unknown copyright
        assert license_terms(r['license']) == LICENSES['open'] and r['creator'] and r['creator'] in (APP/'CREDITS.md').read_text()

def start(app_dir: Path, python: str, timeout: float = 180):
    "Run `python app.py` in `app_dir` as a Space does, on a free port; the process and a `gradio_client.Client`"
    from gradio_client import Client
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(('PYTHON', 'VIRTUAL_ENV'))}
    env.update(GRADIO_SERVER_PORT=str(port), GRADIO_SERVER_NAME='127.0.0.1', GRADIO_ANALYTICS_ENABLED='False')
    proc = subprocess.Popen([python, 'app.py'], cwd=app_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url, end = f'http://127.0.0.1:{port}/', time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None: raise RuntimeError(f'app.py exited:\n{proc.stdout.read()}')
        try: return proc, Client(url, verbose=False)
        except Exception: time.sleep(0.5)
    proc.kill()
    raise TimeoutError(f'app.py did not start in {timeout} s')

@pytest.mark.skipif(not os.environ.get('CI') and not os.environ.get('SPACE_TEST'),
                    reason='slow (installs the Space from PyPI): runs in CI, or with SPACE_TEST=1')
def test_the_space_in_a_fresh_environment(tmp_path):
    "A virtual environment with `requirements.txt` and the `sdk_version` Gradio only, `python app.py`, real photos and bad uploads"
    from gradio_client import handle_file
    from duckling_mirror.mirror import Mirror, say
    from duckling_mirror.testing import sample_photos
    from test_e2e import bad_inputs
    venv = tmp_path/'venv'
    subprocess.run([sys.executable, '-m', 'venv', venv], check=True)
    py = str(venv/'bin'/'python')
    pip = subprocess.run([py, '-m', 'pip', 'install', '-q', '--disable-pip-version-check', '-r', APP/'requirements.txt',
                          f"gradio=={front_matter()['sdk_version']}"], capture_output=True, text=True)
    assert pip.returncode == 0, pip.stderr[-3000:]
    for heavy in ('torch', 'fastai', 'duckling_mirror'):
        assert subprocess.run([py, '-c', f'import {heavy}'], capture_output=True, cwd=tmp_path).returncode != 0, f'{heavy} is in the Space'  # not from the repo's folder
    space = shutil.copytree(APP, tmp_path/'space')
    proc, client = start(space, py)
    try:
        mirror = Mirror.load(APP)
        photos = sorted((APP/'examples').glob('*.jpg')) + sorted(sample_photos().glob('*/*_00[12].jpg'))
        for f in photos:
            res, text = client.predict(handle_file(str(f)), api_name='/predict')
            assert (res['label'], text) == (mirror.answer(f)['label'], mirror.answer(f)['sentence']), (f.name, res, text)
        for f, words in bad_inputs(tmp_path).items():
            with pytest.raises(Exception, match=words): client.predict(handle_file(str(f)), api_name='/predict')
    finally:
        proc.terminate(); proc.wait(10)
