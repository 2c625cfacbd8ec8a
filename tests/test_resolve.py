"The Gradio Space installs on the Python it asks for: `app/requirements.txt` and the Gradio of its card resolve, from PyPI, to wheels for CPython 3.12 on manylinux x86_64 (what ZeroGPU runs, and what the card says)."
import json, os, re, socket, subprocess, sys
from pathlib import Path
import pytest
from huggingface_hub import SpaceCard

ROOT = Path(__file__).resolve().parent.parent
PYTHON = '3.12'  # ZeroGPU runs 3.12 or 3.10 only, and onnxruntime has no 3.10 wheels since 1.24.1
# The Space's image is Debian (glibc >= 2.28): any wheel for manylinux up to glibc 2.28 installs there. pip takes
# `--platform manylinux_2_28_x86_64` literally, so every tag it accepts is named.
PLATFORMS = [f'manylinux_2_{v}_x86_64' for v in range(28, 4, -1)] + ['manylinux2014_x86_64', 'manylinux2010_x86_64', 'manylinux1_x86_64']

def card() -> dict:
    "The front matter of the Gradio Space's README.md"
    return SpaceCard((ROOT/'app'/'README.md').read_text()).data.to_dict()

def pins() -> dict:
    "{name: version} of `app/requirements.txt`, each pinned with =="
    lines = [l.split('#')[0].strip() for l in (ROOT/'app'/'requirements.txt').read_text().splitlines()]
    return dict(re.fullmatch(r'([A-Za-z0-9._-]+)==([^\s;]+)', l).groups() for l in lines if l)

def pypi_reachable() -> bool:
    try:
        with socket.create_connection(('pypi.org', 443), timeout=5): return True
    except OSError: return False

def test_the_space_asks_for_python_3_12():
    assert str(card().get('python_version')) == PYTHON, f"app/README.md says python_version: {card().get('python_version')!r}, not {PYTHON!r}"

def test_the_requirements_resolve_to_wheels_for_python_3_12(tmp_path):
    if not pypi_reachable(): pytest.skip('pypi.org:443 cannot be reached: the resolve needs PyPI')
    gradio = card()['sdk_version']
    env = {k: v for k, v in os.environ.items() if not k.startswith('PIP_') or k in ('PIP_CERT', 'PIP_CLIENT_CERT')}
    env['PIP_CONFIG_FILE'] = os.devnull  # PyPI only, as the Space installs: no local wheels, indexes or constraints
    cmd = [sys.executable, '-m', 'pip', 'install', '--dry-run', '--ignore-installed', '--only-binary=:all:', '--python-version', PYTHON,
           '--implementation', 'cp', *(a for p in PLATFORMS for a in ('--platform', p)), '--index-url', 'https://pypi.org/simple',
           '--target', str(tmp_path/'t'), '--quiet', '--report', str(tmp_path/'r.json'), '--disable-pip-version-check',
           '-r', str(ROOT/'app'/'requirements.txt'), f'gradio=={gradio}']
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, f'app/requirements.txt + gradio=={gradio} do not resolve for CPython {PYTHON}:\n{out.stderr[-3000:]}'
    got = {i['metadata']['name'].lower().replace('_', '-'): i for i in json.loads((tmp_path/'r.json').read_text())['install']}
    for name, version in {**pins(), 'gradio': gradio}.items():
        i = got[name.lower().replace('_', '-')]
        wheel = i['download_info']['url'].rsplit('/', 1)[-1]
        assert i['metadata']['version'] == version and wheel.endswith('.whl'), (name, version, wheel)
        assert re.search(r'-(cp312|py3|py2\.py3)-(cp312|abi3|none)-', wheel), (name, wheel)  # built for 3.12, or for any Python 3
