"""What watching costs: training speed with 0, 1 and 4 real Chromium tabs on the live view.

`python -m nnlab bench --live` starts `streamlit run app.py` (a throw-away workspace), and for each number of
tabs (0, 1, 4, then again) starts a digits CNN (batch 16, 200 epochs) from the Train form in a headless Chromium tab, keeps
that many tabs on the run's live view (0: the tab leaves the page at once), reads the samples trained over a
20 s window from the run's progress in the store, then stops the run. It does this once with runs training in child processes
(the dashboard's default) and once in the server's own threads (NNLAB_ISOLATE=0, the old design), so the two
stand side by side in one run. Needs Playwright and Debian's Chromium (requirements-dev.txt, `make browser`).
"""

from __future__ import annotations

import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from nnlab.store.runs import RunStore

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
TABS = (0, 1, 4)
RUN_TIMEOUT_S = 300


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server(home: Path, isolate: bool) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true"]
    cmd += ["--server.address", "127.0.0.1", "--server.port", str(port), "--server.fileWatcherType", "none"]
    cmd += ["--browser.gatherUsageStats", "false"]
    env = {**os.environ, "NNLAB_HOME": str(home), "NNLAB_ISOLATE": "1" if isolate else "0"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("streamlit did not start within 90 s")


IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"
WARMUP_S, WINDOW_S = 6.0, 20.0  # tabs settle, then the training speed is read over this window


def _new_tab(browser: Any) -> Any:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(180_000)
    return page


def _start_run(browser: Any, url: str) -> tuple[Any, str]:
    """A digits CNN (batch 16, 200 epochs, no early stopping: about a minute at one thread, where the digits MLP
    is over in seconds), started from the Train form; the tab and run id."""
    page = _new_tab(browser)
    page.goto(f"{url}/Train")
    page.wait_for_selector(IDLE)
    page.locator("label").filter(has_text=re.compile(r"^CNN$")).first.click()
    page.wait_for_selector(IDLE)
    epochs = page.get_by_role("spinbutton", name="Epochs", exact=True)
    epochs.fill("200")
    epochs.press("Enter")
    page.wait_for_selector(IDLE)
    batch = page.locator("[data-testid=stSlider]", has_text="Batch size").get_by_role("slider")
    batch.focus()
    batch.press("ArrowRight")  # from "fit to the data" (0) to 16
    page.wait_for_selector(IDLE)
    page.locator("label", has_text="Early stopping").first.click()
    page.wait_for_selector(IDLE)
    page.get_by_role("button", name=re.compile("Start training")).click()
    page.wait_for_url(re.compile(r"[?&]run="))
    return page, re.search(r"run=([\w-]+)", page.url).group(1)


def _trained(store: RunStore, run_id: str) -> float:
    """Samples trained so far, from the run's live progress (finished epochs plus the share of this one)."""
    rec = store.get(run_id)
    size = rec.summary.get("train_size", 0)
    p = rec.progress  # None between epochs' writes at times: the finished epochs count then
    return max(rec.epochs_done, 0 if p is None else p.epoch - 1 + p.fraction) * size


def _watch(browser: Any, url: str, store: RunStore, tabs: int) -> float:
    """Samples/s of a run over WINDOW_S while `tabs` tabs show its live view; the run is stopped after."""
    first, run_id = _start_run(browser, url)
    pages = [first]
    for _ in range(tabs - 1):
        pages.append(_new_tab(browser))
        pages[-1].goto(f"{url}/Train?run={run_id}", wait_until="commit")
    if tabs == 0:
        first.goto("about:blank")
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while store.get(run_id).progress is None and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(WARMUP_S)
    t0, n0 = time.monotonic(), _trained(store, run_id)
    time.sleep(WINDOW_S)
    rate = (_trained(store, run_id) - n0) / (time.monotonic() - t0)
    if tabs == 0:
        first.goto(f"{url}/Train?run={run_id}")
    if store.get(run_id).active:
        first.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop", exact=True).first.click()
    while store.get(run_id).active and time.monotonic() < deadline:
        time.sleep(0.2)
    for page in pages:
        page.close()
    return rate


def _design(browser: Any, isolate: bool, rounds: int, log) -> dict[int, list[float]]:
    rates: dict[int, list[float]] = {n: [] for n in TABS}
    with tempfile.TemporaryDirectory(prefix="nnlab-live-") as home:
        proc, url = _server(Path(home), isolate)
        store = RunStore(home)
        try:
            for _ in range(rounds):
                for n in TABS:
                    rates[n].append(_watch(browser, url, store, n))
                    log(f"  {'process' if isolate else 'thread'}: {n} tab(s): {rates[n][-1]:,.0f} samples/s")
        finally:
            store.close()
            proc.terminate()
            proc.wait(30)
    return rates


def run_live_bench(rounds: int = 2, log=print) -> dict[str, Any]:
    """Samples/s with 0, 1 and 4 tabs watching, for both designs, and each one's cost against 0 tabs."""
    from playwright.sync_api import sync_playwright

    result: dict[str, Any] = {"tabs": list(TABS), "cores": os.cpu_count()}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            for name, isolate in (("process", True), ("thread", False)):
                rates = _design(browser, isolate, rounds, log)
                base = statistics.median(rates[0])
                result[name] = {
                    str(n): {"samples_per_s": statistics.median(r), "cost": 1 - statistics.median(r) / base}
                    for n, r in rates.items()
                }
        finally:
            browser.close()
    return result


def main(as_json: bool) -> int:
    """Print the table (and the JSON line)."""
    if not Path(CHROMIUM).exists():
        print("Chromium is not installed at /usr/bin/chromium; run `make browser` first.", file=sys.stderr)
        return 2
    try:
        import playwright  # noqa: F401
    except ImportError:
        print("Playwright is not installed; run `pip install -r requirements-dev.txt`.", file=sys.stderr)
        return 2
    result = run_live_bench(log=lambda s: print(s, file=sys.stderr))
    for design in ("process", "thread"):
        cells = [f"{n} tab(s) {v['samples_per_s']:,.0f}/s ({-v['cost']:+.0%})" for n, v in result[design].items()]
        print(f"{design:8s} " + " · ".join(cells))
    if as_json:
        print(json.dumps(result))
    return 0
