"""What a new user and a shared demo still hit (issue 21), in a real browser: one `streamlit run app.py` and one
Chromium for the whole module (two cores run CI), each test on runs of its own in that server's workspace.
Screenshots at 1400 and 820 px go to test-artifacts/screenshots/issue21/."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nnlab.store.runs import RunStore
from tests.helpers import fill_store, wait_until
from tests.test_browser import CHROMIUM_FLAGS, ROOT, chromium_or_skip, free_port, missing, settle, wait_healthy

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = ROOT / "test-artifacts" / "screenshots" / "issue21"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The workspace of the module's server."""
    return tmp_path_factory.mktemp("issue21") / "workspace"


@pytest.fixture(scope="module")
def server(home: Path) -> Iterator[str]:
    """One dashboard for the module, on a free localhost port; its URL."""
    chromium_or_skip()  # no browser: no server either
    port, log_path = free_port(), home.parent / "streamlit.log"
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.address"]
    cmd += ["127.0.0.1", "--server.port", str(port), "--server.fileWatcherType", "none"]
    cmd += ["--browser.gatherUsageStats", "false"]
    with open(log_path, "w") as log:
        env = {**os.environ, "NNLAB_HOME": str(home), "NNLAB_ISOLATE": "0"}
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, proc, log_path)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One headless Chromium for the module."""
    executable = chromium_or_skip()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("Playwright for Python is not installed; run `pip install -r requirements-dev.txt`.")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    """A fresh tab (its own session) at 1400 x 1000."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    context.close()


@pytest.fixture
def runs(home: Path) -> Iterator[RunStore]:
    """The server's store, emptied for this test."""
    store = RunStore(home)
    for rec in store.list():
        store.delete(rec.run_id)
    yield store
    store.close()


def shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def tick_rows(page, rows: range) -> None:
    """Tick rows of the first table by their checkbox (the grid is a canvas: rows 35 px under a 35 px header)."""
    box = page.locator("[data-testid=stDataFrame]").first.bounding_box()
    for row in rows:
        page.mouse.click(box["x"] + 15, box["y"] + 35 * (row + 1) + 17)
        settle(page)


# -- item 1: a bulk delete leaves nothing ticked ---------------------------------------------------------------
def test_after_a_bulk_delete_no_run_is_ticked(page, server, runs):
    fill_store(runs, 6, epochs=3)
    page.goto(f"{server}/Compare")
    settle(page, "[data-testid=stDataFrame]")
    tick_rows(page, range(3))
    page.get_by_role("button", name="Delete 3 selected runs").click()
    page.get_by_role("button", name="Yes, delete them").click()
    settle(page, "text=Deleted 3 runs.")
    wait_until(lambda: len(runs.list()) == 3, "three runs left")
    shot(page, "compare-after-delete-1400")
    assert page.get_by_role("button", name=re.compile("Delete .* selected run")).count() == 0
    assert page.get_by_text("Tick two runs (or groups) in the table").count() == 1


def start_from_form(page, server: str, epochs: int, hidden: str = "") -> str:
    """Start a digits MLP from the Train form (early stopping off); the new run's id from the URL."""
    page.goto(f"{server}/Train")
    settle(page, "button:has-text('Start training')")
    if hidden:
        sizes = page.get_by_role("textbox", name="Hidden layer sizes")
        sizes.fill(hidden)
        sizes.press("Enter")
        settle(page)
    field = page.get_by_role("spinbutton", name="Epochs", exact=True)
    field.fill(str(epochs))
    field.press("Enter")
    settle(page)
    page.locator("label", has_text="Early stopping").first.click()
    settle(page)
    page.get_by_role("button", name=re.compile("Start training")).click()
    page.wait_for_url(re.compile(r"[?&]run="))
    settle(page)
    return re.search(r"run=([\w-]+)", page.url).group(1)


def status_of(runs: RunStore, run_id: str) -> str:
    return runs.get(run_id).status


# -- items 8 and 7: the queued banner goes with the queue; a second tab follows a Resume made elsewhere --------
def test_the_queued_banner_goes_and_a_second_tab_follows_a_resume(page, browser, server, runs):
    long = start_from_form(page, server, epochs=200, hidden="1024,1024")
    other = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        other.goto(f"{server}/Train?run={long}")
        settle(other, "button:has-text('Stop')")
        short = start_from_form(page, server, epochs=1)
        banner = page.locator("[data-testid=stAlert]", has_text=f"Run {short} is queued: number 1 in line")
        assert banner.count() == 1  # true while it waits
        other.get_by_role("button", name="Stop").click()  # the long run ends: the short one trains, and ends
        wait_until(lambda: status_of(runs, short) == "finished", "the queued run to train and finish", 60)
        page.get_by_text("Training finished.").wait_for()
        settle(page)
        shot(page, "finished-after-waiting-1400")
        assert banner.count() == 0, "the run finished, yet the page still says it waits in line"

        other.get_by_role("button", name="Resume").wait_for()  # the second tab: on the stopped run
        page.goto(f"{server}/Train?run={long}")
        settle(page, "button:has-text('Resume')")
        page.get_by_role("button", name="Resume").click()
        wait_until(lambda: status_of(runs, long) == "running", "the run to resume", 60)
        other.get_by_role("button", name="Stop").wait_for(timeout=10_000)  # within a few polls, no reload
        assert other.get_by_role("button", name="Resume").count() == 0
        page.get_by_role("button", name="Stop").click()
        wait_until(lambda: status_of(runs, long) == "stopped", "the resumed run to stop", 60)
    finally:
        other.close()
