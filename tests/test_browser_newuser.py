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
        page.on("requestfailed", self._request_failed)
        page.on("response", self._response)

    def _request(self, request) -> None:
        url = urlparse(request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.netloc != self.local:
            self.outside.append(request.url)

    def _request_failed(self, request) -> None:
        if request.failure != "net::ERR_ABORTED":  # a request the page itself dropped (a navigation), not an error
            self.failed.append(f"{request.url} ({request.failure})")

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
        page.wait_for_selector("html[data-ready='1']")  # every figure drawn
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
    curves = page.locator("h2:has-text('How it trained') ~ .figure-wrap .js-plotly-plot").first
    epochs = curves.locator(".xtick text, .x2tick text").all_text_contents()
    assert epochs and all(re.fullmatch(r"[1-9]\d*", e) for e in epochs), f"epoch ticks: {epochs}"
    assert curves.locator(".legendtext").all_text_contents() == ["train loss", "val loss"]
    config = page.locator("h2:has-text('Config') ~ .table-wrap").first.locator("th").all_inner_texts()
    assert "Hidden layer sizes" in config and "Learning rate" in config
    assert not {"Vocabulary size", "Window", "Momentum", "Start from ImageNet weights", "Label column"} & set(config)


def choose(page, label: str, option: str) -> None:
    """Pick an option of the selectbox labelled `label`."""
    page.locator("[data-testid=stSelectbox]", has_text=label).first.click()
    page.get_by_role("option", name=option).first.click()
    settle(page)


def errors(page) -> list[str]:
    return page.locator("[data-testid=stAlertContentError]").all_inner_texts()


def start(page):
    return page.get_by_role("button", name=re.compile("Start training"))


def test_train_form_blocks_start_with_the_reason_in_the_forms_words(page, server, tmp_path):
    """Items 3, 9 and 2: an out-of-range value, an upload whose label column holds no classes, missing ResNet weights."""
    watch = Watch(page, server)
    page.set_viewport_size({"width": 1400, "height": 1600})
    page.goto(f"{server}/Train")
    settle(page, "button:has-text('Start training')")
    epochs = page.get_by_role("spinbutton", name="Epochs", exact=True)
    epochs.fill("5000")
    epochs.press("Enter")
    settle(page)
    assert epochs.input_value() == "5000"  # kept as typed, not put back to 20
    assert any("Epochs 5000 is outside 1 to 200" in e for e in errors(page)), errors(page)
    assert start(page).is_disabled()
    shot(page, "form-epochs-5000")
    epochs.fill("3")
    epochs.press("Enter")
    settle(page)
    assert start(page).is_enabled()

    choose(page, "Dataset", "Your CSV table")
    assert errors(page) == []  # nothing is wrong before the user has done anything
    table = tmp_path / "wine.csv"
    table.write_text("alcohol,acidity,quality\n" + "".join(f"{i % 7 + 0.5},{i % 5},{i % 3}\n" for i in range(60)))
    page.locator("[data-testid=stFileUploader] input[type=file]").first.set_input_files(str(table))
    settle(page, "text=What was read from wine.csv")
    assert errors(page) == [] and start(page).is_enabled()  # the label column is picked from the file's columns
    choose(page, "Label column", "alcohol")  # a column of fractions: not classes
    settle(page, "[data-testid=stAlertContentError]")
    message = " ".join(errors(page))
    shot(page, "form-csv-without-label")
    assert "wine.csv" in message and '"Label column"' in message, message
    assert "--" not in message and not re.search(r"[0-9a-f]{12}", message), message
    assert start(page).is_disabled()

    choose(page, "Dataset", "Handwritten digits (scikit-learn)")
    page.locator("[data-testid=stRadio] label", has_text="ResNet-18 (transfer)").click()
    settle(page, "text=ImageNet weights are not on this machine")
    assert start(page).is_disabled()
    shot(page, "form-resnet-weights-missing")
    page.get_by_role("button", name=re.compile("Train from scratch instead")).click()
    settle(page)
    assert not page.get_by_text("ImageNet weights are not on this machine").is_visible()
    assert not page.get_by_role("switch", name="Start from ImageNet weights").is_checked()
    assert not page.get_by_role("switch", name="Freeze the pretrained backbone").is_checked()
    page.locator("label", has_text="Freeze the pretrained backbone").first.click()  # a frozen random backbone
    settle(page, "[data-testid=stAlertContentError]")
    assert any("A frozen backbone needs pretrained weights" in e for e in errors(page)), errors(page)
    assert start(page).is_disabled()
    shot(page, "form-frozen-random-backbone")
    assert watch.outside == [], f"fetched from the internet: {sorted(set(watch.outside))}"


def test_a_queued_run_shows_its_place_and_stop_all_empties_the_queue(page, server):
    """Item 4 and 14: two runs started one after the other; the second waits and says for what."""
    watch = Watch(page, server)
    page.set_viewport_size({"width": 1400, "height": 1400})
    run_ids = []
    for _ in range(2):
        page.goto(f"{server}/Train")
        settle(page, "button:has-text('Start training')")
        epochs = page.get_by_role("spinbutton", name="Epochs", exact=True)
        epochs.fill("200")
        epochs.press("Enter")
        settle(page)
        page.locator("label", has_text="Early stopping").first.click()
        settle(page)
        start(page).click()
        page.wait_for_url(re.compile(r"[?&]run="), timeout=60_000)
        run_ids.append(re.search(r"run=([\w-]+)", page.url).group(1))
    note = page.locator("[data-testid=stAlert]", has_text="It waits for").first
    note.wait_for(timeout=60_000)
    assert "Queued: number 1 in line" in note.inner_text() and run_ids[0] in note.inner_text()
    assert page.get_by_text("Starting: loading the data").count() == 0
    shot(page, "queued-run")
    page.goto(server)
    settle(page, "[data-testid=stDataFrame]")
    shot(page, "home-queue")
    page.get_by_role("button", name=re.compile(r"Stop all \(2\)")).click()
    page.get_by_role("button", name="Yes, stop them all").click()
    settle(page, "text=Stopped 2 runs")
    page.goto(f"{server}/Train?run={run_ids[1]}")
    settle(page, "button:has-text('Copy settings to the form')")
    assert page.get_by_role("button", name=re.compile("Resume")).count() == 0  # it never ran
    shot(page, "stopped-in-the-queue")
    assert watch.outside == [] and watch.failed == [], (watch.outside, watch.failed)


def test_review_texts_show_whole_at_1400_and_820_px(page, trained, server, workspace):
    """Item 13: the reviews behind a confusion-matrix cell are read whole, wrapped, not cut at a table cell's edge."""
    from nnlab.store.runs import RunStore

    run_id = trained["reviews"]
    texts = [str(t) for t in RunStore(workspace).folder(run_id).read_results().examples.texts]
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 1400})
        page.goto(f"{server}/Results?run={run_id}")
        settle(page, "button:has-text('Biggest mistake')")
        page.get_by_role("button", name="Biggest mistake").click()
        settle(page, ".text-example")
        page.locator(".text-example").first.scroll_into_view_if_needed()
        shot(page, f"results-reviews-{width}")
        boxes = page.evaluate(
            """() => [...document.querySelectorAll('.text-example')].map(e => {
                const r = e.getBoundingClientRect();
                return {text: e.innerText, right: r.right, cut: e.scrollWidth > e.clientWidth + 1};
            })"""
        )
        assert boxes and not any(b["cut"] or b["right"] > width for b in boxes), boxes[:3]
        for b in boxes:  # the caption line, then one whole review of the test set
            assert b["text"].split("\n", 1)[1].strip() in texts, b["text"][:200]
