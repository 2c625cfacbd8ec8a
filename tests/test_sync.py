"The notebooks are the source: the library, app/app.py and README.md must be what they give, and the notebooks clean."
import shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def _copy_repo(dest: Path) -> Path:
    files = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard'], cwd=ROOT, capture_output=True, text=True).stdout.split()
    if not files: files = [str(p.relative_to(ROOT)) for p in ROOT.rglob('*') if p.is_file() and '.venv' not in p.parts and '.git' not in p.parts]
    for f in files:
        if (ROOT/f).is_file():
            (dest/f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT/f, dest/f)
    return dest

def _tree(d: Path, pat: str) -> dict:
    return {str(p.relative_to(d)): p.read_text() for p in sorted(d.glob(pat))}

def test_library_matches_notebooks(tmp_path):
    repo = _copy_repo(tmp_path/'repo')
    subprocess.run([Path(sys.executable).parent/'nbdev-export'], cwd=repo, check=True)
    assert _tree(repo, 'duckling_mirror/*.py') == _tree(ROOT, 'duckling_mirror/*.py'), 'duckling_mirror/ is stale: run nbdev-export'

def test_app_is_what_export_writes(tmp_path):
    "app/'s code, requirements and card are what `write_space` writes for its mirror.json: nothing in it is kept by hand"
    from duckling_mirror.space import write_space
    app = tmp_path/'app'
    app.mkdir()
    shutil.copy(ROOT/'app'/'mirror.json', app/'mirror.json')
    write_space(app)
    for f in ('mirror.py', 'app.py', 'requirements.txt', 'README.md', '.gitattributes'):
        assert (app/f).read_text() == (ROOT/'app'/f).read_text(), f'app/{f} is stale: export the mirror again (or write_space("app"))'

def test_notebooks_are_clean(tmp_path):
    repo = _copy_repo(tmp_path/'repo')
    subprocess.run([Path(sys.executable).parent/'nbdev-clean'], cwd=repo, check=True)
    assert _tree(repo, 'nbs/*.ipynb') == _tree(ROOT, 'nbs/*.ipynb'), 'notebooks are not clean: run nbdev-clean'

def test_readme_matches_index():
    sys.path.insert(0, str(ROOT/'tools'))
    from readme import render
    assert (ROOT/'README.md').read_text() == render(), 'README.md is stale: run `python tools/readme.py`'

def test_every_notebook_opens_on_colab():
    "Each notebook's first cell installs the project on Colab and is skipped by nbdev-test; the README has its badge"
    import json, tomllib
    readme = (ROOT/'README.md').read_text()
    assert 'colab' in tomllib.loads((ROOT/'pyproject.toml').read_text())['tool']['nbdev']['tst_flags'].split()
    for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
        first = ''.join(json.loads(nb.read_text())['cells'][0]['source'])
        assert first.startswith('#| colab\n') and "'google.colab' in sys.modules" in first, nb.name
        assert 'git clone' in first and 'pip install -q -e' in first, nb.name
        if nb.stem != 'index':
            assert f'colab.research.google.com/github/duckling-mirror/duckling-mirror/blob/main/nbs/{nb.name}' in readme, nb.name

def test_web_is_what_export_writes(tmp_path):
    "web/, the static mirror, is what `write_web` writes from app/: its page, worker and runtime are the library's"
    from duckling_mirror.web import write_web
    web = write_web(tmp_path/'web', ROOT/'app')
    ours = lambda d: {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob('*')) if p.is_file()}
    assert ours(web).keys() == ours(ROOT/'web').keys()
    for f, data in ours(web).items(): assert data == (ROOT/'web'/f).read_bytes(), f'web/{f} is stale: write_web("web", "app")'

def test_notebook_outputs_are_small_and_machine_free():
    "What the notebooks show (saved by tools/run_nbs.py) holds no error, no path of the machine that made it, and fits in 2 MB"
    import json
    for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
        assert nb.stat().st_size <= 2_000_000, f'{nb.name}: over 2 MB with its outputs'
        outs = [o for c in json.loads(nb.read_text())['cells'] for o in c.get('outputs', [])]
        assert not [o for o in outs if o['output_type'] == 'error'], f'{nb.name} shows an error: run tools/run_nbs.py'
        text = json.dumps(outs)
        for local in {str(ROOT), str(Path.home())} - {'/'}:
            assert local not in text, f'{nb.name} shows a path of this machine ({local}): run tools/run_nbs.py'
