#!/usr/bin/env python3
"""Run the notebooks as the tests do, and keep what each cell shows, so that a reader on GitHub sees it.

Usage: python tools/run_nbs.py [NOTEBOOK ...]   (default: every notebook in nbs/ but index.ipynb, the README's source)

Each notebook runs by `nbdev-test --save` (cells flagged `web`, `gpu` or `colab` are skipped, as in the tests: the
outputs are the offline twins', on the project's own photos). Then its outputs lose what belongs to the machine that
ran them (the repository's folder, temporary folders, the local servers' ports, warnings on stderr), and are checked:
no error, and the notebook under 2 MB. `nbdev-clean` last, which keeps outputs."""
import base64, io, json, re, subprocess, sys, tempfile
from pathlib import Path
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
MAX_BYTES = 2_000_000
MAX_PNG = 150_000  # a larger picture is kept as a JPEG: photos compress ten times better so
LOCAL = [(re.escape(str(ROOT)), '..'), (re.escape(tempfile.gettempdir()) + r'/[^/\s\'"`:,)]+', '/tmp/…'),
         (r'(127\.0\.0\.1|localhost):\d+', r'\1:PORT'), (re.escape(str(Path.home())), '~')]

BAR = re.compile(r'(Epoch \d+/\d+ : )?\|[█-]{10,}\|\s*[\d.]+%\s*\[[^\]]*\]')  # a progress bar, at one of its steps

def scrub(text: str) -> str:
    "`text` without progress bars, and without the paths and ports of the machine that ran it"
    text = re.sub(r'Epoch \d+/\d+ :\s*|[ \t]*\r', '', BAR.sub('', text).replace('█', ''))
    for pat, new in LOCAL: text = re.sub(pat, new, text)
    return text

def smaller(data: dict) -> dict:
    "`data` (an output's pictures) with a large PNG turned into a JPEG"
    if len(png := data.get('image/png', '')) <= MAX_PNG: return data
    buf = io.BytesIO()
    Image.open(io.BytesIO(base64.b64decode(png))).convert('RGB').save(buf, 'JPEG', quality=85)
    return {'image/jpeg': base64.b64encode(buf.getvalue()).decode(), **{k: v for k, v in data.items() if k != 'image/png'}}

def scrub_outputs(nb: dict) -> list:
    "Scrub every output of `nb` in place; the errors it shows"
    errors = []
    for c in nb['cells']:
        outs = []
        for o in c.get('outputs', []):
            if o['output_type'] == 'error': errors.append(f"cell {c.get('id')}: {o.get('ename')}: {o.get('evalue')}")
            if o['output_type'] == 'stream' and o.get('name') == 'stderr': continue  # warnings of the libraries, progress bars
            if o['output_type'] == 'display_data' and ''.join(o.get('data', {}).get('text/plain', '')).startswith('<PIL.'):
                continue  # a cleaner's thumbnails, which the widget shows (and a saved notebook cannot)
            if '<iframe' in ''.join(o.get('data', {}).get('text/html', '')): continue  # a live app's page, gone with its server
            if 'data' in o: o['data'] = smaller(o['data'])
            for k in ('text', 'data'):
                if k == 'text' and k in o: o[k] = [t for t in map(scrub, o[k]) if t] if isinstance(o[k], list) else scrub(o[k])
                if k == 'data' and k in o:
                    for mime, v in o[k].items():
                        if mime.startswith('text/') or mime == 'application/json':
                            o[k][mime] = [scrub(t) for t in v] if isinstance(v, list) else scrub(v) if isinstance(v, str) else v
            if o['output_type'] != 'stream' or ''.join(o['text']).strip(): outs.append(o)
        if 'outputs' in c: c['outputs'] = outs
    return errors

def run(nb: Path) -> str:
    "Run `nb`, save its outputs scrubbed; '' if all went well, else why not"
    bin_ = Path(sys.executable).parent
    r = subprocess.run([bin_/'nbdev-test', '--save', str(nb)], cwd=ROOT, capture_output=True, text=True)
    if r.returncode: return f'{nb.name} failed:\n{r.stderr[-3000:]}'
    d = json.loads(nb.read_text())
    errors = scrub_outputs(d)
    nb.write_text(json.dumps(d, indent=1, ensure_ascii=False) + '\n')
    subprocess.run([bin_/'nbdev-clean', '--fname', str(nb)], cwd=ROOT, check=True)
    if errors: return f'{nb.name} shows errors: ' + '; '.join(errors)
    if (size := nb.stat().st_size) > MAX_BYTES: return f'{nb.name} is {size / 1e6:.1f} MB with its outputs (at most {MAX_BYTES / 1e6:.0f})'
    return ''

if __name__ == '__main__':
    nbs = [Path(a).resolve() for a in sys.argv[1:]] or [p for p in sorted((ROOT/'nbs').glob('*.ipynb')) if p.name != 'index.ipynb']
    problems = []
    for nb in nbs:
        why = run(nb)
        print(f'{nb.name}: ' + (why or f'saved, {nb.stat().st_size / 1e3:.0f} kB'), flush=True)
        if why: problems.append(why)
    sys.exit(1 if problems else 0)
