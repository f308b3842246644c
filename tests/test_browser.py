"""The main path in a real browser: Home → Train a digits MLP → watch the curves grow → Results → click a
confusion-matrix cell → its examples → a second run → Compare. Headless Debian Chromium via Playwright against
`streamlit run app.py`; a screenshot of every step goes to test-artifacts/screenshots/ (on failure too)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.helpers import wait_until

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"

EPOCHS = 40  # a few seconds of digits with two layers of 1024: long enough to watch the curve grow

pytestmark = pytest.mark.browser


def missing(message: str) -> None:
    """A missing browser piece fails the test in CI and skips it elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def chromium_or_skip() -> str:
    """Chromium's path (see missing() when there is none)."""
    path = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if not path:
        missing(
            "Chromium is not installed (/usr/bin/chromium); install it with `apt-get install chromium` or `make browser`."
        )
    return path


@contextmanager
def headless_chromium() -> Iterator[object]:
    """Debian's Chromium, headless, through Playwright (see missing() when either is absent)."""
    executable = chromium_or_skip()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("Playwright for Python is not installed; run `pip install -r requirements-dev.txt`.")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(workspace, tmp_path) -> Iterator[str]:
    """`streamlit run app.py` on a free localhost port with its own workspace; its URL."""
    port = free_port()
    log = open(tmp_path / "streamlit.log", "w")  # noqa: SIM115  (closed after the server)
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
    ]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env={**os.environ, "NNLAB_HOME": str(workspace)}, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, tmp_path / "streamlit.log")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    """Wait for the server's health endpoint; fail with the server's log if it exits or never answers."""

    def healthy() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"streamlit exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    try:
        wait_until(healthy, "streamlit to answer /_stcore/health", timeout, every=0.3)
    except AssertionError:
        pytest.fail(f"streamlit did not answer /_stcore/health within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def page():
    """A fresh headless Chromium page, 1400x1000 (checked before the server starts: no Chromium, no server)."""
    with headless_chromium() as browser:
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        pg.set_default_timeout(60_000)
        yield pg


class Steps:
    """Names the steps and saves a screenshot of each, numbered, into test-artifacts/screenshots/."""

    def __init__(self, page):
        self.page, self.n, self.name = page, 0, "start"
        SHOTS.mkdir(parents=True, exist_ok=True)
        for old in SHOTS.glob("*.png"):
            old.unlink()

    def shot(self, name: str) -> Path:
        self.n += 1
        self.name = name
        path = SHOTS / f"{self.n:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def failed(self) -> None:
        try:
            self.page.screenshot(path=str(SHOTS / f"failure-after-{self.n:02d}-{self.name}.png"), full_page=True)
        except Exception:  # the browser itself may be gone
            pass


def settle(page, selector: str | None = None, timeout: float = 60_000) -> None:
    """Wait for an element (when given), then for the script run to end; fail on any exception box."""
    if selector:
        page.locator(selector).first.wait_for(timeout=timeout)
    quiet: list[bool] = []  # a rerun may start a moment after a click: idle for three polls in a row counts

    def idle() -> bool:
        quiet.append(page.locator(IDLE).count() > 0)
        return len(quiet) >= 3 and all(quiet[-3:])

    wait_until(idle, "the page to finish its script run", timeout / 1000, every=0.1)
    exceptions = page.locator("[data-testid=stException]")
    assert exceptions.count() == 0, exceptions.first.inner_text()


def train_loss_points(page):
    """The points of the live view's train-loss curve (the first trace of the first subplot): one per epoch."""
    return page.locator("[data-testid=stPlotlyChart] .scatterlayer").first.locator(".trace").first.locator(".point")


def sidebar_link(page, label: str):
    return page.locator("[data-testid=stSidebar] a", has_text=label).first


def test_main_path_in_a_real_browser(page, server, workspace):  # fixture order: the browser first
    steps = Steps(page)
    try:
        run_id = train_from_the_form(page, steps, server)
        find_misclassified_examples(page, steps, workspace, run_id)
        second_run_and_compare(page, steps)
    except BaseException:
        steps.failed()
        raise


def train_from_the_form(page, steps: Steps, url: str) -> str:
    page.goto(url)
    settle(page, "button:has-text('Train a first model')")
    steps.shot("home")

    page.get_by_text("Or choose the data, model and settings yourself").click()
    settle(page, "button:has-text('Start training')")
    steps.shot("train-form")

    hidden = page.get_by_role("textbox", name="Hidden layer sizes")
    hidden.fill("1024,1024")  # wide enough that the run takes seconds: the curve is seen growing
    hidden.press("Enter")
    settle(page)
    epochs = page.get_by_role("spinbutton", name="Epochs", exact=True)
    epochs.fill(str(EPOCHS))
    epochs.press("Enter")
    settle(page)
    page.locator("[data-testid=stSlider]", has_text="Batch size").get_by_role("slider").press("Home")  # 16
    settle(page)
    page.locator("label", has_text="Early stopping").first.click()  # off: every epoch runs, a longer live view
    settle(page)
    assert page.get_by_role("button", name=re.compile("Start training")).is_enabled()
    steps.shot("train-form-filled")

    page.get_by_role("button", name=re.compile("Start training")).click()
    page.wait_for_url(re.compile(r"[?&]run="), timeout=60_000)
    run_id = re.search(r"run=([\w-]+)", page.url).group(1)
    watch_live_curve(page, steps)
    return run_id


def watch_live_curve(page, steps: Steps) -> None:
    """The curve gains points while the run trains; then the run finishes."""
    seen: list[int] = []
    results = page.get_by_role("button", name=re.compile("See results"))

    def finished() -> bool:
        count = train_loss_points(page).count()
        if count and (not seen or count != seen[-1]):
            seen.append(count)
            if len(seen) <= 2:  # the curve at two moments while it grows
                steps.shot(f"live-curve-{count}-epochs")
        return results.is_visible()

    wait_until(finished, f"the run to finish (epochs seen on the curve: {seen})", 150, every=0.25)
    settle(page)
    assert train_loss_points(page).count() == EPOCHS
    steps.shot("live-finished")
    assert len(seen) >= 2 and seen == sorted(seen), f"the live curve did not grow: point counts seen {seen}"


def find_misclassified_examples(page, steps: Steps, workspace: Path, run_id: str) -> None:
    """Results: click the biggest off-diagonal confusion-matrix cell and see its test examples."""
    page.get_by_role("button", name=re.compile("See results")).click()
    page.wait_for_url(re.compile(r"/Results\?run=" + re.escape(run_id)))
    chart = page.locator("[data-testid=stPlotlyChart]").first
    settle(page, "[data-testid=stPlotlyChart] .scatterlayer .point")
    steps.shot("results")

    confusion = json.loads((workspace / "runs" / run_id / "report.json").read_text())["confusion"]
    n = len(confusion)
    off = [(confusion[t][p], t, p) for t in range(n) for p in range(n) if t != p]
    _, t, p = max(off) if max(off)[0] > 0 else (0, 0, 0)
    cell = chart.locator(".scatterlayer .point").nth(t * n + p)  # one marker per cell, row-major (true, pred)
    cell.scroll_into_view_if_needed()
    box = cell.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    heading = page.get_by_text(re.compile(r"^Test examples: true "))
    settle(page, "text=/^Test examples: true /")
    assert heading.first.inner_text().startswith(f"Test examples: true {t}, predicted {p}")
    heading.first.scroll_into_view_if_needed()
    assert page.locator("figure.example img").count() > 0 or t == p  # the cell's examples, as cards that wrap
    steps.shot("results-cell-examples")


def second_run_and_compare(page, steps: Steps) -> None:
    """A second run from Home's one-click button, then Compare with the two."""
    sidebar_link(page, "Home").click()
    settle(page, "button:has-text('Train a first model')")
    page.get_by_role("button", name=re.compile("Train a first model")).click()
    page.wait_for_url(re.compile(r"/Train\?run="))
    page.get_by_role("button", name=re.compile("See results")).wait_for(timeout=150_000)
    settle(page)
    steps.shot("second-run-finished")

    sidebar_link(page, "Compare").click()
    settle(page, "h1:has-text('Compare runs')")
    table = page.locator("[data-testid=stDataFrame]").first
    table.wait_for()
    steps.shot("compare")

    box = table.bounding_box()  # the grid is a canvas: tick "select all" in the header's checkbox column
    page.mouse.click(box["x"] + 15, box["y"] + 17)
    settle(page, "text=/^B [\\w-]+ against A /")  # the verdict of the newer run against the older
    page.get_by_text("Validation curves").first.scroll_into_view_if_needed()
    steps.shot("compare-two-runs")

    sidebar_link(page, "Playground").click()  # the last page: it opens with real content and no exception
    settle(page, "h1")
    steps.shot("playground")
