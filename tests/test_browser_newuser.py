"""What a new user met, checked in a real browser (issue 10): the Results page at 820 px, the offline HTML report's
axes and config table, and pages that fetch nothing from the internet. Headless Debian Chromium against
`streamlit run app.py`, with screenshots at 1400 and 820 px in test-artifacts/screenshots/newuser/."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.test_browser import ROOT, settle
from tests.test_browser import page as page  # noqa: F401, PLC0414  (fixtures shared with the main-path test)
from tests.test_browser import server as server  # noqa: F401, PLC0414

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = ROOT / "test-artifacts" / "screenshots" / "newuser"
WIDTHS = (1400, 820)
# Streamlit's page finds its server's base path by asking /<page>/_stcore/... first when opened at /<page>: two
# local 404s on a deep link, by design of its frontend; everything else must load, and nothing from elsewhere
BASE_PATH_PROBE = re.compile(r"^/[^/]+/_stcore/(health|host-config)$")


class Watch:
    """Every request the browser makes: those to another host and those that fail."""

    def __init__(self, page, local: str):
        self.local, self.outside, self.failed = urlparse(local).netloc, [], []
        page.on("request", self._request)
        page.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})"))
        page.on("response", self._response)

    def _request(self, request) -> None:
        url = urlparse(request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.netloc != self.local:
            self.outside.append(request.url)

    def _response(self, response) -> None:
        if response.status >= 400 and not BASE_PATH_PROBE.match(urlparse(response.url).path):
            self.failed.append(f"{response.url} ({response.status})")


def shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def overflowing(page) -> list[str]:
    """Texts cut off with an ellipsis or clipped by their box (metric values, buttons), as seen in the page."""
    return page.evaluate(
        """() => [...document.querySelectorAll('[data-testid=stMetricValue] div, [data-testid=stMetricValue],'
            + ' button p, [data-testid=stHeadingWithActionElements] h1')]
            .filter(e => e.offsetParent && e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)"""
    )


def test_results_page_and_report_at_1400_and_820_px_with_nothing_from_the_internet(page, trained, server, tmp_path):
    run_id = trained["digits"]
    watch = Watch(page, server)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 2000})
        page.goto(f"{server}/Results?run={run_id}")
        settle(page, "[data-testid=stPlotlyChart] .heatmaplayer")
        page.wait_for_timeout(800)  # plotly lays out after the script ends
        shot(page, f"results-{width}")
        results_fit(page, width)
    report = download_report(page, tmp_path)
    report_axes_and_config(page, report)
    assert watch.outside == [], f"fetched from the internet: {sorted(set(watch.outside))}"
    assert watch.failed == [], f"requests that failed: {watch.failed}"


def results_fit(page, width: int) -> None:
    """Nothing wider than the window, no value cut to '97.0…', confusion-matrix cells big enough to click."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert overflowing(page) == [], f"cut off at {width} px: {overflowing(page)}"
    cells = page.locator("[data-testid=stPlotlyChart]").first.locator(".heatmaplayer image, .heatmaplayer")
    box = cells.first.bounding_box()
    assert box["width"] >= 10 * 28, f"the 10-class confusion matrix is only {box['width']:.0f} px wide at {width} px"
    table = page.locator("[data-testid=stDataFrame]").first.bounding_box()
    assert table["x"] + table["width"] <= width, "the classification report runs off the window"


def download_report(page, tmp_path: Path) -> Path:
    with page.expect_download() as download:
        page.get_by_role("button", name=re.compile("HTML report")).click()
    path = tmp_path / "report.html"
    download.value.save_as(path)
    return path


def report_axes_and_config(page, report: Path) -> None:
    """Every tick label whole and inside its chart; epochs as whole numbers; only the run's own settings."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(report.as_uri())
        page.wait_for_selector(".js-plotly-plot .xtick")
        page.wait_for_timeout(500)
        shot(page, f"report-{width}")
        clipped = page.evaluate(
            """() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(div => {
                const r = div.getBoundingClientRect();
                return [...div.querySelectorAll('.xtick text, .ytick text, .x2tick text, .y2tick text')]
                    .map(t => [t.textContent, t.getBoundingClientRect()])
                    .filter(([, b]) => b.left < r.left - 0.5 || b.right > r.right + 0.5 || b.top < r.top - 0.5
                        || b.bottom > r.bottom + 0.5)
                    .map(([text]) => text);
            })"""
        )
        assert clipped == [], f"tick labels cut by their chart at {width} px: {clipped}"
    curves = page.locator(".js-plotly-plot").first
    epochs = curves.locator(".xtick text, .x2tick text").all_text_contents()
    assert epochs and all(re.fullmatch(r"[1-9]\d*", e) for e in epochs), f"epoch ticks: {epochs}"
    assert curves.locator(".legendtext").all_text_contents() == ["train loss", "val loss"]
    config = page.locator("h2:has-text('Config') + table td:first-child").all_inner_texts()
    assert "Hidden layer sizes" in config and "Learning rate" in config
    assert not {"Vocabulary size", "Window", "Momentum", "Start from ImageNet weights", "Label column"} & set(config)
