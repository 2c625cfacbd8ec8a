#!/usr/bin/env python3
"""Write README.md from nbs/index.ipynb (quarto, which `nbdev-readme` needs, cannot be installed here), after putting the
repository's address (`pyproject.toml`'s `[project.urls]` Repository, its one home) into every notebook's Colab cell and badge.
Usage: python tools/readme.py [--check]   (--check: exit 1 if README.md or a notebook's address is out of date)"""
import json, re, sys, tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def render(nb: Path = ROOT/'nbs'/'index.ipynb') -> str:
    "The markdown of `nb`: markdown cells as they are, code cells (but `#| hide` and `#| colab` ones) as python blocks, text outputs"
    out = []
    for c in json.loads(Path(nb).read_text())['cells']:
        src = ''.join(c['source']).strip()
        if c['cell_type'] == 'markdown': out.append(src)
        elif c['cell_type'] == 'code' and not any(l.replace(' ', '') in ('#|hide', '#|colab') for l in src.splitlines()):
            code = '\n'.join(l for l in src.splitlines() if not l.startswith('#|')).strip()
            if code: out.append(f'```python\n{code}\n```')
            text = ''.join(''.join(o.get('text', '')) for o in c.get('outputs', []) if o.get('output_type') == 'stream')
            if text.strip(): out.append(f'```\n{text.strip()}\n```')
    return '<!-- Generated from nbs/index.ipynb by tools/readme.py: edit the notebook, not this file. -->\n\n' + '\n\n'.join(out) + '\n'

def repository() -> str:
    "owner/name of the repository, from `pyproject.toml`"
    url = tomllib.loads((ROOT/'pyproject.toml').read_text())['project']['urls']['Repository']
    return re.fullmatch(r'https://github\.com/([\w.-]+/[\w.-]+?)/?', url)[1]

CLONE = re.compile(r'(git clone -q --depth 1 https://github\.com/)([\w.-]+/[\w.-]+?)( /content/)')

def stamp(check: bool = False) -> list:
    "The notebooks whose Colab cell or badges named another repository than `pyproject.toml`'s; rewritten unless `check`"
    repo, changed = repository(), []
    for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
        txt = nb.read_text()
        olds = {m[2] for m in CLONE.finditer(txt)} - {repo}
        new = txt
        for old in olds:
            new = new.replace(f'github.com/{old}', f'github.com/{repo}').replace(f'colab.research.google.com/github/{old}/',
                                                                              f'colab.research.google.com/github/{repo}/')
        if new != txt:
            changed.append(nb.name)
            if not check: nb.write_text(new)
    return changed

if __name__ == '__main__':
    check = '--check' in sys.argv
    stale = stamp(check)
    readme, txt = ROOT/'README.md', render()
    if check:
        ok = readme.exists() and readme.read_text() == txt and not stale
        print('README.md matches nbs/index.ipynb' if ok else
              f'out of date: {", ".join(stale + ([] if readme.exists() and readme.read_text() == txt else ["README.md"]))}: run `python tools/readme.py`')
        sys.exit(0 if ok else 1)
    if stale: print(f'the repository is now {repository()} in {", ".join(stale)}')
    readme.write_text(txt)
    print(f'wrote {readme}')
