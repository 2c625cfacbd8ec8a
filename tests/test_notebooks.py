"Every notebook runs top to bottom: each demo is also a test. Cells flagged in `tst_flags` (`web`, `gpu`, `colab`) are skipped."
import tomllib
from pathlib import Path
import pytest
from nbdev.test import test_nb as run_notebook

ROOT = Path(__file__).parent.parent
NBS = sorted((ROOT/'nbs').glob('*.ipynb'))
FLAGS = tomllib.loads((ROOT/'pyproject.toml').read_text())['tool']['nbdev']['tst_flags'].split()

@pytest.mark.parametrize('nb', NBS, ids=[o.stem for o in NBS])
def test_notebook(nb):
    ok, secs = run_notebook(nb, skip_flags=FLAGS, showerr=True)
    assert ok, f'{nb.name} failed: run `nbdev-test {nb}` to see the cell'
