"""The offline reports as a stakeholder opens them: a file written by `nnlab report`, opened from file:// in
Chromium with every network request blocked and counted. Nothing is requested, nothing logs an error, and a click
on an off-diagonal confusion-matrix cell (or a comparison's difference cell) fills #examples with that cell's
examples. Screenshots at 1400 and 820 px go to test-artifacts/screenshots/report-*."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nnlab.cli.main import main
from nnlab.store.runs import RunStore
from tests.helpers import wait_until
from tests.test_browser import SHOTS, headless_chromium

pytestmark = pytest.mark.browser

EVIL = "<img src=x onerror=alert(1)>"


@pytest.fixture
def chromium():
    """A headless Chromium (see tests.test_browser for what happens without one)."""
    with headless_chromium() as browser:
        yield browser


class Opened:
    """A report open in a fresh context: its page, every request made after the document, and the problems seen."""

    def __init__(self, browser, path: Path, width: int):
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.requests: list[str] = []
        self.problems: list[str] = []
        self.context.on("request", lambda r: self.requests.append(r.url))
        self.url = path.resolve().as_uri()
        self.context.route("**/*", self._only_the_document)  # every other request is refused (and counted)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.problems.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.problems.append(str(e)))
        self.page.on("dialog", lambda d: (self.problems.append(f"dialog {d.message}"), d.dismiss()))
        self.page.set_default_timeout(60_000)
        self.page.goto(self.url)
        self.page.wait_for_selector("html[data-ready='1']")  # every figure drawn

    def _only_the_document(self, route) -> None:
        if route.request.url == self.url:
            route.continue_()
        else:
            route.abort()

    def assert_offline_and_quiet(self) -> None:
        assert [u for u in self.requests if u != self.url] == [], "the report asked for something"
        assert self.problems == [], self.problems

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"report-{name}.png"), full_page=True)


CUT_OR_COVERED = """() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(div => {
    const r = div.getBoundingClientRect(), out = [];
    for (const t of div.querySelectorAll('.xtick text, .ytick text, .x2tick text, .y2tick text')) {
        const b = t.getBoundingClientRect();
        if (b.left < r.left - 0.5 || b.right > r.right + 0.5 || b.top < r.top - 0.5 || b.bottom > r.bottom + 0.5)
            out.push('cut: ' + t.textContent);
    }
    const legend = div.querySelector('.legend');
    for (const title of legend ? div.querySelectorAll('.xtitle, .x2title') : []) {
        const a = legend.getBoundingClientRect(), b = title.getBoundingClientRect();
        if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom)
            out.push('legend over ' + title.textContent);
    }
    return out;
})"""


def assert_charts_whole(page) -> None:
    """No tick label outside its chart (issue 21: '2, .5, 1, .5, 0'), no legend over an axis title (820 px)."""
    assert page.evaluate(CUT_OR_COVERED) == []


def assert_prints_on_a4(page) -> None:
    """Printed, every chart fits an A4 page's width inside 12 mm margins (about 700 CSS px) and the examples shown
    stay in; the page's own buttons and Plotly's toolbar do not print."""
    page.emulate_media(media="print")
    widths = page.evaluate(
        "[...document.querySelectorAll('.figure .main-svg')].map(svg => svg.getBoundingClientRect().width)"
    )
    assert widths and max(widths) <= 700, widths
    assert page.locator("#examples .example").first.is_visible()
    assert page.evaluate("[...document.querySelectorAll('.modebar-container')].every(m => !m.offsetParent)")
    page.emulate_media(media="screen")


def click_cell(page, t: int, p: int, n: int) -> None:
    """Click cell (true t, predicted p) of the clickable matrix: one invisible marker per cell, row-major."""
    point = page.locator(".figure[data-cells] .scatterlayer .trace").last.locator(".point").nth(t * n + p)
    point.scroll_into_view_if_needed()
    box = point.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def off_diagonal(confusion, skip: tuple[int, int] | None = None) -> tuple[int, int]:
    """The busiest off-diagonal cell other than `skip` (the one shown before any click)."""
    c = np.asarray(confusion)
    cells = [(c[t, p], t, p) for t in range(len(c)) for p in range(len(c)) if t != p and (t, p) != skip and c[t, p]]
    _, t, p = max(cells)
    return int(t), int(p)


def report_file(tmp_path: Path, workspace: Path, *args: str) -> Path:
    out = tmp_path / "out" / "report.html"
    assert main(["report", *args, "--out", str(out), "--store", str(workspace)]) == 0
    return out


def test_a_run_report_opens_offline_and_a_clicked_cell_shows_its_examples(chromium, trained, workspace, tmp_path):
    store = RunStore(workspace)
    run_id = trained["digits"]
    res = store.folder(run_id).read_results()
    path = report_file(tmp_path, workspace, run_id)
    from nnlab.views.cells import worst_cell

    t, p = off_diagonal(res.report["confusion"], skip=worst_cell(res.report["confusion"]))
    for width in (1400, 820):
        opened = Opened(chromium, path, width)
        page = opened.page
        opened.shot(f"run-{width}")
        assert_charts_whole(page)
        click_cell(page, t, p, len(res.classes))
        page.wait_for_selector(f"#examples[data-shown='cm-{t}-{p}']")
        items = page.locator("#examples .example")
        assert items.count() == min(int(res.report["confusion"][t][p]), 20)
        for text in items.all_inner_texts():
            assert f"true {res.classes[t]} · predicted {res.classes[p]}" in text
        page.locator("#examples").scroll_into_view_if_needed()
        opened.shot(f"run-{width}-clicked")
        assert_prints_on_a4(page)
        opened.assert_offline_and_quiet()
        opened.context.close()


def test_a_comparison_report_opens_offline_and_a_difference_cell_shows_what_moved(
    chromium, trained, workspace, tmp_path
):
    from nnlab.analysis.comparison import cell_moves, compare

    tw = compare(RunStore(workspace), trained["digits"], trained["digits_b"])
    ma, mb = tw.pair
    classes = ma.results.classes
    diff = np.abs(np.asarray(mb.results.report["confusion"]) - np.asarray(ma.results.report["confusion"]))
    np.fill_diagonal(diff, 0)
    shown_first = np.unravel_index(int(diff.argmax()), diff.shape)
    diff[shown_first] = 0  # another cell than the one shown before any click
    t, p = (int(x) for x in np.unravel_index(int(diff.argmax()), diff.shape))
    into, out = cell_moves(ma, mb, t, p)
    assert len(into) + len(out) > 0
    path = report_file(tmp_path, workspace, trained["digits"], trained["digits_b"])
    narrow = Opened(chromium, path, 820)
    assert_charts_whole(narrow.page)
    narrow.shot("compare-820")
    narrow.context.close()
    opened = Opened(chromium, path, 1400)
    page = opened.page
    assert_charts_whole(page)
    click_cell(page, t, p, len(classes))
    page.wait_for_selector(f"#examples[data-shown='flip-{t}-{p}']")
    items = page.locator("#examples .example")
    assert items.count() == min(len(into), 10) + min(len(out), 10)
    for text in items.all_inner_texts():  # each moved into the cell (B predicts p) or out of it (A predicted p)
        assert text.startswith(f"true {classes[t]} · A predicted ")
        assert f"A predicted {classes[p]} (" in text or f"B predicted {classes[p]} (" in text
    page.get_by_role("button", name=f"B right, A wrong ({len(tw.flips.b_better)})").click()
    assert page.locator("#examples .example").count() == min(len(tw.flips.b_better), 24)
    opened.shot("compare-1400")
    opened.assert_offline_and_quiet()


def test_hostile_names_in_a_report_run_nothing_and_fetch_nothing(chromium, trained, workspace, tmp_path):
    store = RunStore(workspace)
    run_id = trained["iris"]  # a class is named "<b>versi</b>color"
    store.rename(run_id, EVIL, '<script>alert(2)</script>\n" onmouseover="alert(3)')
    path = report_file(tmp_path, workspace, run_id)
    opened = Opened(chromium, path, 820)
    page = opened.page
    assert page.locator("h1").inner_text() == EVIL  # shown as typed
    assert page.locator("img[src='x'], b:text-is('versi')").count() == 0
    assert "<b>versi</b>color" in page.locator("body").inner_text()
    classes = store.folder(run_id).read_results().classes
    t, p = classes.index("<b>versi</b>color"), classes.index("virginica")
    click_cell(page, t, p, len(classes))  # full or empty, the cell says which classes it is about
    page.wait_for_selector(f"#examples[data-shown='cm-{t}-{p}']")
    assert "True <b>versi</b>color, predicted virginica" in page.locator("#examples").inner_text()
    opened.shot("hostile-820")
    opened.assert_offline_and_quiet()


def test_a_sortable_table_sorts_by_the_clicked_column_offline(chromium, tmp_path):
    from nnlab.views.htmldoc import Document, sortable_table

    doc = Document("trials")
    rows = [[("3", 3), ("0.52", 0.52)], [("10", 10), ("–", None)], [("2", 2), ("0.15", 0.15)]]
    doc.add(sortable_table(["trial", "value"], rows))
    path = tmp_path / "t.html"
    path.write_text(doc.render())
    opened = Opened(chromium, path, 820)
    page = opened.page

    def column(k: int) -> list[str]:
        return page.locator(f"table.sortable tbody td:nth-child({k})").all_inner_texts()

    page.get_by_role("button", name="trial").click()
    assert column(1) == ["2", "3", "10"]  # as numbers, not as text
    page.get_by_role("button", name="value").click()
    assert column(2) == ["0.15", "0.52", "–"]  # a trial without a value last
    page.get_by_role("button", name="value").click()
    assert column(2) == ["0.52", "0.15", "–"]  # descending on a second click, still last
    opened.assert_offline_and_quiet()


def test_charts_keep_their_height_when_the_window_is_resized(chromium, tmp_path):
    """A stakeholder who narrows (or widens) the window: every chart redraws at the new width and keeps its height
    (it collapsed to the figure's 60-px minimum, plotly.js logging 'Something went wrong with axis scaling')."""
    import plotly.graph_objects as go

    from nnlab.views.htmldoc import Document
    from nnlab.views.plots import probability_figure

    doc = Document("resize")
    curve = go.Figure(go.Scatter(x=[1, 2, 3], y=[0.9, 0.5, 0.3], line={"color": "#4F46E5"}))
    doc.add(
        doc.figure(curve.update_layout(height=300)), doc.figure(probability_figure(np.array([0.7, 0.3]), ["a", "b"]))
    )
    path = tmp_path / "r.html"
    path.write_text(doc.render())
    opened = Opened(chromium, path, 1400)
    page = opened.page

    def sizes() -> list[list[float]]:
        return page.evaluate(
            "[...document.querySelectorAll('.figure')].map(d => [d._fullLayout.width, d.offsetHeight])"
        )

    before = sizes()
    assert min(h for _, h in before) > 100, before
    heights = [h for _, h in before]
    for width in (820, 1400):
        page.set_viewport_size({"width": width, "height": 900})
        wait_until(lambda b=before: sizes()[0][0] != b[0][0], f"the charts redrawn at {width} px")
        page.wait_for_timeout(300)  # plotly.js redraws each figure once the resize settles
        before = sizes()
        assert [h for _, h in before] == heights, f"chart heights at {width} px: {before}"
    opened.assert_offline_and_quiet()
