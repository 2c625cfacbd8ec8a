"The committed Gradio app in Chromium, used as a person uses it: an answer, Clear, another picture."
import shutil
from pathlib import Path
import pytest
from duckling_mirror.mirror import Mirror
from duckling_mirror.testing import sample_photos
from test_e2e import ARGS, CHROMIUM, start_app

ROOT = Path(__file__).resolve().parent.parent

@pytest.fixture(scope='module')
def app_url(tmp_path_factory):
    "The committed app/, copied (Gradio writes beside it), started as a Space starts it"
    app = Path(shutil.copytree(ROOT/'app', tmp_path_factory.mktemp('space')/'app'))
    proc, client = start_app(app)
    yield client.url
    proc.terminate(); proc.wait(10)

@pytest.mark.skipif(not CHROMIUM.exists(), reason='needs a browser: apt-get install chromium')
def test_after_clear_the_bars_agree_with_the_answer(app_url, tmp_path):
    "A duckling, Clear, then a goose: the headline, the bars and the sentence all say the goose's answer, and no error"
    from playwright.sync_api import sync_playwright, expect
    mirror = Mirror.load(ROOT/'app')
    duckling, goose = sample_photos()/'duckling'/'duckling_001.jpg', sample_photos()/'goose'/'goose_001.jpg'
    first, then = mirror.answer(duckling), mirror.answer(goose)
    assert (first['label'], then['label']) == ('duckling', 'neither')
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page()
        errors = []
        page.on('pageerror', lambda e: errors.append(str(e)))
        page.on('console', lambda m: m.type == 'error' and errors.append(m.text))
        page.goto(app_url)
        for f, want in ((duckling, first), (goose, then)):
            page.locator('input[type=file]').first.set_input_files(str(f))
            page.get_by_role('button', name='Submit').click()
            expect(page.get_by_label('The mirror says')).to_have_value(want['sentence'], timeout=60_000)
            label = page.get_by_test_id('label-output-value')
            expect(label).to_have_text(want['label'], timeout=10_000)
            page.screenshot(path=str(tmp_path/f'{want["label"]}.png'))
            if f == duckling: page.get_by_role('button', name='Clear').click()
        top = max(then['confidences'], key=then['confidences'].get)
        text = page.locator('.output-class, [data-testid="label-output-value"]').first.locator('xpath=..').inner_text()
        lines = text.splitlines()  # the headline, then each label and its share, likeliest first
        assert (lines[0], lines[1], lines[2]) == (then['label'], top, f"{round(then['confidences'][top] * 100)}%"), text
        assert not errors, errors
        browser.close()
