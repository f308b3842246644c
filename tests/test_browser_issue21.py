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
from tests.test_browser import ROOT, chromium_or_skip, free_port, headless_chromium, settle, wait_healthy

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
    with headless_chromium() as chromium:
        yield chromium


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


def trained_run(runs: RunStore, cfg) -> str:
    """A run of cfg trained here, into the server's store (a second or two); its id."""
    from nnlab.engine.runner import execute

    run_id = runs.create(cfg)
    runs.claim_queued(run_id)
    rec = execute(runs, run_id)
    assert rec.status == "finished", rec.reason
    return run_id


CUTTABLE = (  # where a label or a number sits in a box of its own width, which cuts it with an ellipsis
    "button, button *, [data-testid=stMetricValue], [data-testid=stMetricValue] *, [data-testid=stMetricLabel] *, "
    "[data-testid=stMain] h1, [data-testid=stMain] h2, [data-testid=stMain] h3, [data-testid=stBadge] *"
)


def cut_texts(page) -> list[str]:
    """Buttons, metric values and labels, headings and badges the page shows cut off (an ellipsis, or clipped)."""
    return page.evaluate(
        """(cuttable) => [...document.querySelectorAll(cuttable)].filter(e => {
            if (!e.offsetParent || !e.textContent.trim() || e.closest('svg')) return false;
            const s = getComputedStyle(e);
            const cuts = s.textOverflow === 'ellipsis' || ['hidden', 'clip'].includes(s.overflowX);
            return cuts && e.scrollWidth > e.clientWidth + 1;
        }).map(e => e.textContent.trim())""",
        CUTTABLE,
    )


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


LONG = "versicolor with a name that runs on and on for sixty chars.."  # 60 characters
QUOTED = 'setosa "the quoted one"'


def iris_with_long_names(folder: Path) -> Path:
    import numpy as np
    import pandas as pd
    from sklearn.datasets import load_iris

    iris = load_iris()
    table = pd.DataFrame(iris.data, columns=["a", "b", "c", "d"])
    table["label"] = np.array([QUOTED, LONG, "virginica"])[iris.target]
    path = folder / "long names.csv"
    table.to_csv(path, index=False)
    return path


# -- items 9 and 10: names as typed, a matrix that keeps its room, nothing cut at 820 and 1400 px ---------------
def test_class_names_read_as_typed_and_nothing_is_cut_at_820_and_1400_px(page, server, runs, tmp_path):
    from nnlab.data.registry import make_config

    data = iris_with_long_names(tmp_path)
    run_id = trained_run(runs, make_config("mlp", dataset="csv", data_path=str(data), hidden_sizes=(32,), epochs=3))
    for width in (1400, 820):
        page.set_viewport_size({"width": width, "height": 1800})
        page.goto(f"{server}/Train?run={run_id}")
        settle(page, "button:has-text('Copy settings to the form')")
        page.wait_for_timeout(500)  # plotly lays out after the script ends
        shot(page, f"run-page-{width}")
        assert cut_texts(page) == [], f"cut at {width} px on the run page"
        page.goto(f"{server}/Results?run={run_id}")
        settle(page, "[data-testid=stPlotlyChart] .heatmaplayer")
        page.wait_for_timeout(800)
        shot(page, f"results-long-class-names-{width}")
        assert cut_texts(page) == [], f"cut at {width} px on Results"
        matrix = page.locator("[data-testid=stPlotlyChart]").first
        ticks = matrix.locator(".xtick text, .ytick text").all_text_contents()
        assert ticks and not any("&quot;" in t or "&amp;" in t for t in ticks), ticks
        assert any(t.startswith('setosa "the quote') for t in ticks), ticks
        cells = matrix.locator(".heatmaplayer").first.bounding_box()
        assert cells["width"] >= 3 * 60, f"three classes in {cells['width']:.0f} px at {width} px"
        bars = page.locator("[data-testid=stPlotlyChart]", has_text="F1 per class").first
        assert not any("&quot;" in t for t in bars.locator(".xtick text").all_text_contents())


def test_a_start_of_several_seeds_names_the_data_as_typed(page, server, runs):
    page.goto(f"{server}/Train")
    settle(page, "button:has-text('Start training')")
    seeds = page.get_by_role("spinbutton", name="Seeds")
    seeds.fill("2")
    seeds.press("Enter")
    settle(page)
    page.get_by_role("button", name="Start 2 runs").click()
    banner = page.locator("[data-testid=stAlert]", has_text="2 runs queued").first
    banner.wait_for()
    assert "MLP on Handwritten digits (scikit-learn) with seeds 0 to 1" in banner.inner_text()
    stop_everything(page, server, runs)


def stop_everything(page, server: str, runs: RunStore) -> None:
    """Home's Stop all, if anything still trains; then wait until nothing does."""
    page.goto(server)
    settle(page)
    stop_all = page.get_by_role("button", name=re.compile(r"Stop all \("))
    if stop_all.count():
        stop_all.click()
        page.get_by_role("button", name="Yes, stop them all").click()
        settle(page)
    wait_until(lambda: not any(r.active for r in runs.list()), "every run to end", 60)


def finished_sweep_with_a_pruned_and_a_held_trial(home: Path, runs: RunStore) -> tuple[str, str]:
    """A real three-trial sweep, driven here, plus a trial its pruner cut and one its Stop cut (as a driver records
    them); (the sweep's id, the run of its first trial)."""
    from nnlab.core.causes import HELD_REASON, Cause
    from nnlab.lab import Lab
    from nnlab.sweeps.driver import make_spec
    from nnlab.sweeps.space import parse_dim
    from tests.helpers import tiny_config

    lab, base = Lab(home), tiny_config("mlp", epochs=2)
    spec = make_spec(base, [parse_dim("lr", "1e-3:1e-2:log")], 3, strategy="random", confirm_top=0)
    sweep_id = lab.create_sweep(spec)  # no re-runs of the best with more seeds: the trials' own table is read here
    assert lab.drive_sweep(sweep_id).status == "finished"
    pruned = runs.create(base.replace(lr=2e-4), status="pruned", sweep_id=sweep_id, trial=3)
    runs.update(pruned, cause=Cause.PRUNED, reason="Pruned after epoch 1.")
    held = runs.create(base.replace(lr=3e-4), status="stopped", sweep_id=sweep_id, trial=4)
    runs.update(held, cause=Cause.HELD, reason=HELD_REASON)
    first = next(r for r in runs.list(sweep_id=sweep_id) if r.trial == 0)
    return sweep_id, first.run_id


TRIALS = ".st-key-sw_table [data-testid=stDataFrame]"  # the trials table (a confirmation's table may come first)


def grid_cells(page) -> list[str]:
    return page.locator("[data-testid=stDataFrame] [role=gridcell]").all_inner_texts()


# -- item 12: the trials table reads right and a click on a row opens the run -----------------------------------
def test_sweep_trials_read_right_and_a_click_on_a_row_opens_its_run(page, server, home, runs):
    sweep_id, first_run = finished_sweep_with_a_pruned_and_a_held_trial(home, runs)
    page.set_viewport_size({"width": 1400, "height": 1400})
    page.goto(f"{server}/Sweep?sweep={sweep_id}")
    settle(page, "[data-testid=stDataFrame]")
    cells = grid_cells(page)
    shot(page, "sweep-trials-1400")
    assert any("pruned" in c for c in cells) and any("stopped with the sweep" in c for c in cells), cells
    assert not any(c.strip() in ("None", "paused") or "paused" in c for c in cells), cells
    page.get_by_role("tab", name="Importance").click()
    settle(page)
    assert page.get_by_text("Only 3 trials have finished").count() == 1
    shot(page, "sweep-importance-1400")
    page.set_viewport_size({"width": 820, "height": 1400})
    settle(page)
    shot(page, "sweep-trials-820")
    assert cut_texts(page) == []

    page.set_viewport_size({"width": 1400, "height": 1400})
    page.goto(f"{server}/Sweep?sweep={sweep_id}")  # a grid resized twice takes a first click as focus
    settle(page, TRIALS)
    box = page.locator(TRIALS).bounding_box()
    page.mouse.click(box["x"] + 90, box["y"] + 35 + 17)  # the first trial's number: a cell, not its checkbox
    page.wait_for_url(re.compile(rf"/Results\?run={first_run}"), timeout=30_000)
    settle(page, "[data-testid=stPlotlyChart]")
