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

def test_library_and_app_match_notebooks(tmp_path):
    repo = _copy_repo(tmp_path/'repo')
    bin_ = Path(sys.executable).parent
    subprocess.run([bin_/'nbdev-export'], cwd=repo, check=True)
    subprocess.run([sys.executable, '-c', "from nbdev.export import nb_export; nb_export('05_app.ipynb', '../app')"], cwd=repo/'nbs', check=True)
    assert _tree(repo, 'duckling_mirror/*.py') == _tree(ROOT, 'duckling_mirror/*.py'), 'duckling_mirror/ is stale: run nbdev-export'
    assert (repo/'app'/'app.py').read_text() == (ROOT/'app'/'app.py').read_text(), 'app/app.py is stale: run nbs/05_app.ipynb'

def test_notebooks_are_clean(tmp_path):
    repo = _copy_repo(tmp_path/'repo')
    subprocess.run([Path(sys.executable).parent/'nbdev-clean'], cwd=repo, check=True)
    assert _tree(repo, 'nbs/*.ipynb') == _tree(ROOT, 'nbs/*.ipynb'), 'notebooks are not clean: run nbdev-clean'

def test_readme_matches_index():
    sys.path.insert(0, str(ROOT/'tools'))
    from readme import render
    assert (ROOT/'README.md').read_text() == render(), 'README.md is stale: run `python tools/readme.py`'
