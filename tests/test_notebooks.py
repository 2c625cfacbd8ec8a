"Every notebook runs top to bottom: each demo is also a test. Cells flagged `web` or `gpu` are skipped (no internet, no GPU)."
from pathlib import Path
import pytest
from nbdev.test import test_nb as run_notebook

NBS = sorted((Path(__file__).parent.parent/'nbs').glob('*.ipynb'))

@pytest.mark.parametrize('nb', NBS, ids=[o.stem for o in NBS])
def test_notebook(nb):
    ok, secs = run_notebook(nb, skip_flags=['web', 'gpu'], showerr=True)
    assert ok, f'{nb.name} failed: run `nbdev-test --path {nb}` to see the cell'
