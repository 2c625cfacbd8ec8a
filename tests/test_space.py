"`app/` is a Hugging Face Space as it is: front matter, requirements, and every file the app opens."
import ast, re, sys
from pathlib import Path
import gradio, yaml

APP = Path(__file__).resolve().parent.parent/'app'

def front_matter() -> dict:
    m = re.match(r'^---\n(.*?)\n---\n', (APP/'README.md').read_text(), re.S)
    assert m, 'app/README.md needs YAML front matter between --- lines'
    return yaml.safe_load(m.group(1))

def test_front_matter():
    fm = front_matter()
    for k in ('title', 'emoji', 'colorFrom', 'colorTo', 'sdk', 'sdk_version', 'app_file', 'pinned', 'license', 'short_description'):
        assert k in fm, k
    assert fm['sdk'] == 'gradio'
    assert fm['sdk_version'] == gradio.__version__, 'sdk_version must be the gradio the tests ran with'
    assert re.fullmatch(r'\d+\.\d+\.\d+', fm['sdk_version'])
    assert fm['colorFrom'] in 'red yellow green blue indigo purple pink gray'.split()
    assert fm['colorTo'] in 'red yellow green blue indigo purple pink gray'.split()
    assert len(fm['short_description']) <= 60
    assert (APP/fm['app_file']).exists()

def test_requirements_cover_imports():
    reqs = {re.split(r'[=<>~ \[]', l.strip())[0].lower().replace('_', '-') for l in (APP/'requirements.txt').read_text().splitlines()
            if l.strip() and not l.startswith('#')}
    provided = {'gradio'}  # the Space's sdk_version installs gradio
    via = {'fastai': {'torch', 'torchvision', 'fastcore', 'pillow', 'numpy'}}  # installed with fastai
    have = reqs | provided | {d for r in reqs for d in via.get(r, ())}
    names = {'PIL': 'pillow', 'safetensors': 'safetensors'}
    mods = set()
    for node in ast.walk(ast.parse((APP/'app.py').read_text())):
        if isinstance(node, ast.Import): mods |= {a.name.split('.')[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0: mods.add(node.module.split('.')[0])
    third = {m for m in mods if m not in sys.stdlib_module_names and m != '__future__'}
    missing = {m for m in third if names.get(m, m).lower().replace('_', '-') not in have}
    assert not missing, f'app/requirements.txt does not install {missing}'

def test_model_and_examples_are_there():
    for f in ('mirror.json', 'model.safetensors', '.gitattributes'): assert (APP/f).exists(), f
    assert 'model.safetensors filter=lfs' in (APP/'.gitattributes').read_text()
    assert len(list((APP/'examples').glob('*.jpg'))) >= 3
