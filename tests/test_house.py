"""The house a newcomer reads (issue #20): the dataset core apart from the downloader, calibration in one module, commands
that call library functions, one home for the repository's address, and sample photos that travel with the package."""
import ast, json, re, shutil, subprocess, sys, tomllib
from pathlib import Path
import pytest

ROOT = Path(__file__).parent.parent
LIB = ROOT/'duckling_mirror'

def modules() -> dict:
    "{module name: its syntax tree}, for every module of the library"
    return {f.stem: ast.parse(f.read_text()) for f in sorted(LIB.glob('*.py')) if f.stem not in ('_modidx', '__init__')}

def imported(tree: ast.AST) -> set:
    "The project's modules that `tree` imports, at the top or inside a function"
    out = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.ImportFrom):
            mod = n.module or ''
            if n.level == 1: out.add(mod.split('.')[0])
            elif mod.startswith('duckling_mirror.'): out.add(mod.split('.')[1])
        elif isinstance(n, ast.Import):
            out |= {a.name.split('.')[1] for a in n.names if a.name.startswith('duckling_mirror.')}
    return out

def defined(tree: ast.AST) -> set:
    "The names a module defines at its top level"
    names = set()
    for n in tree.body:
        if isinstance(n, (ast.FunctionDef, ast.ClassDef)): names.add(n.name)
        elif isinstance(n, ast.Assign): names |= {t.id for t in n.targets if isinstance(t, ast.Name)}
    return names

def test_only_the_pipeline_imports_the_downloader():
    "`download` is the pipeline; the later steps import the dataset core (`dataset`) and the fetcher (`net`), not it"
    users = {m for m, t in modules().items() if 'download' in imported(t)}
    assert users <= {'cli', 'testing'}, users  # the whole job, and the fixtures that build datasets as a user does
    assert 'download' not in imported(modules()['dataset']) | imported(modules()['net'])

def test_no_two_modules_import_each_other():
    "The library's imports form no circle (issue #29: `export` and `web` did), at the top or inside a function"
    graph = {m: imported(t) - {m} for m, t in modules().items()}
    # the one function-level import allowed: `train(recipe='auto')` chooses its recipe by cross-validating `train` itself
    graph['train'] -= {'evaluate'}
    def reaches(a, b, seen=()):
        return b in graph.get(a, ()) or any(reaches(c, b, seen + (a,)) for c in graph.get(a, ()) if c not in seen)
    assert not (circles := sorted(m for m in graph if reaches(m, m))), circles

def test_the_space_is_written_in_one_module_without_torch():
    "The Space of either kind is written by `space`, which `export` and `web` call, and which needs no PyTorch"
    assert 'space' in imported(modules()['export']) and 'space' in imported(modules()['web'])
    assert {'space_card', 'write_space', 'write_app', 'credits_md'} <= defined(modules()['space'])
    code = "import sys, duckling_mirror.space, duckling_mirror.web; assert 'torch' not in sys.modules, 'torch'"
    subprocess.run([sys.executable, '-c', code], check=True)

def test_calibration_lives_in_one_module():
    mods = modules()
    names = {'answers', 'DEFAULT_THRESHOLD', 'calibrate_neither', 'calibrate', 'fit_temperature', 'calibration_error',
             'cv_mismatch', 'measure', 'load_cv'}
    where = {n: [m for m, t in mods.items() if n in defined(t)] for n in names}
    assert all(w == ['evaluate'] for w in where.values()), where

def test_commands_call_library_functions_not_commands():
    "No command function calls another: the whole job (`cli`) calls each step's library function"
    mods = modules()
    commands = {n.name for t in mods.values() for n in t.body if isinstance(n, ast.FunctionDef) and n.name.startswith('duckling_mirror')}
    assert len(commands) >= 10
    for m, t in mods.items():
        for f in (n for n in t.body if isinstance(n, ast.FunctionDef) and n.name in commands):
            called = {c.func.id for c in ast.walk(f) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)}
            assert not (called & commands) - {f.name}, (m, f.name, called & commands)
            assert len(f.body) <= 16, f'{m}.{f.name} is {len(f.body)} statements: a command is a few lines around a library call'
    assert not imported(mods['cli']) & {'deploy'} and not any(
        a.name.startswith('duckling_mirror') for n in ast.walk(mods['cli']) if isinstance(n, ast.ImportFrom) for a in n.names)

def test_shared_options_are_declared_once():
    "The recipe's options are `check_recipe`'s docments, which every training command borrows"
    from fastcore.docments import docments
    from duckling_mirror.train import check_recipe, duckling_mirror_train
    from duckling_mirror.evaluate import duckling_mirror_cv
    from duckling_mirror.interpret import duckling_mirror_suspects
    from duckling_mirror.cli import duckling_mirror
    want = docments(check_recipe)
    for cmd in (duckling_mirror_train, duckling_mirror_cv, duckling_mirror_suspects, duckling_mirror):
        got = docments(cmd)
        assert all(got[k] == want[k] for k in ('arch', 'epochs', 'freeze_epochs', 'size', 'seed')), cmd.__name__
    declared = [f'{m}.{n.name}' for m, t in modules().items() for n in t.body if isinstance(n, ast.FunctionDef)
                and 'freeze_epochs' in [a.arg for a in n.args.args + n.args.kwonlyargs]]
    assert sorted(declared) == ['train.check_recipe', 'train.fine_tune', 'train.train'], declared  # the library's, and the commands' recipe

def repository() -> str:
    return tomllib.loads((ROOT/'pyproject.toml').read_text())['project']['urls']['Repository']

def test_the_repository_address_has_one_home():
    "Every link to the project's GitHub repository (Colab cells, badges, docs links) is `pyproject.toml`'s `Repository`"
    repo = repository().removeprefix('https://github.com/')
    files = [*ROOT.glob('nbs/*.ipynb'), ROOT/'README.md', *LIB.glob('*.py'), *ROOT.glob('app/*.py'), ROOT/'pyproject.toml']
    seen = 0
    for f in files:
        for m in re.finditer(r'(?:github\.com|githubusercontent\.com|colab\.research\.google\.com/github)/([\w.-]+/[\w.-]+)', f.read_text()):
            if 'duckling' in m[1].lower(): assert m[1] == repo, (f.name, m[0]); seen += 1
        assert 'duckling-mirror.github.io' not in f.read_text(), f'{f.name} links to a docs site that is never built'
    assert seen >= 15
    from duckling_mirror.testing import repo_url
    assert repo_url() == repository()  # as installed: pip copies [project.urls] into the package's metadata

def test_a_wheel_carries_openly_licensed_photos(tmp_path):
    "From a pip-installed wheel (no clone): sample_photos() has the openly licensed photos, builds a dataset of them, and says where the others are"
    src = tmp_path/'src'  # built from a copy: setuptools writes build/ beside the sources, and the clone is not its to write
    src.mkdir()
    for f in ('pyproject.toml', 'README.md', 'LICENSE'): shutil.copy(ROOT/f, src/f)
    shutil.copytree(LIB, src/'duckling_mirror', ignore=shutil.ignore_patterns('__pycache__'))
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps', '--no-build-isolation', '-w', tmp_path/'dist', src],
                   check=True, capture_output=True)
    wheel = next((tmp_path/'dist').glob('duckling_mirror-*.whl'))
    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', '--target', tmp_path/'site', wheel], check=True, capture_output=True)
    code = '''
import json, tempfile, duckling_mirror
from pathlib import Path
from duckling_mirror.testing import sample_photos, sample_dataset, FakeAPIs
from duckling_mirror.search import SearchTerm
p = sample_photos('goose', 'other')
out = dict(module=duckling_mirror.__file__, photos=str(p), cats=sorted(d.name for d in p.iterdir() if d.is_dir()),
           provenance=(p/'provenance.csv').is_file())
df = sample_dataset(Path(tempfile.mkdtemp()), [SearchTerm('goose', 'goose'), SearchTerm('other', 'other')], progress=False)
out['ok'] = int((df.status == 'ok').sum())
with FakeAPIs() as api: out['api'] = bool(api.url)
try: sample_photos('duck')
except FileNotFoundError as e: out['error'] = str(e)
print(json.dumps(out))
'''
    env = {'PYTHONPATH': str(tmp_path/'site'), 'PATH': '/usr/bin:/bin', 'HOME': str(tmp_path)}
    r = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out['module'].startswith(str(tmp_path/'site')) and out['photos'].startswith(str(tmp_path/'site'))
    assert out['cats'] == ['goose', 'other'] and out['provenance'] and out['ok'] >= 10 and out['api']
    assert 'No photos of duck' in out['error'] and repository() in out['error']
