#!/usr/bin/env python3
"""Write README.md from nbs/index.ipynb (quarto, which `nbdev-readme` needs, cannot be installed here).
Usage: python tools/readme.py [--check]   (--check: exit 1 if README.md is not what index.ipynb gives)"""
import json, sys
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

if __name__ == '__main__':
    readme, txt = ROOT/'README.md', render()
    if '--check' in sys.argv:
        ok = readme.exists() and readme.read_text() == txt
        print('README.md matches nbs/index.ipynb' if ok else 'README.md is out of date: run `python tools/readme.py`')
        sys.exit(0 if ok else 1)
    readme.write_text(txt)
    print(f'wrote {readme}')
