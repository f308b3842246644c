"""Compare in a real browser: two runs on one test set → the verdict → click a cell of the A−B confusion
difference → the test examples that moved into and out of it. Screenshots at 1400 and 820 px wide go to
test-artifacts/screenshots/compare-*.png."""

from __future__ import annotations

import re

import numpy as np
import pytest

from nnlab.analysis.comparison import cell_moves, compare
from nnlab.store.runs import RunStore
from tests.test_browser import SHOTS, page, server, settle, sidebar_link  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def _shot(pg, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SHOTS / f"compare-{name}.png"), full_page=True)


def _pick(pg, label: str, option: str) -> None:
    box = pg.locator("[data-testid=stMultiSelect]", has_text=label).first
    box.click()
    pg.get_by_role("option", name=option, exact=True).click()
    pg.keyboard.press("Escape")
    settle(pg)


def _changed_cell(store: RunStore, a: str, b: str) -> tuple[int, int]:
    ca = np.array(store.folder(a).read_results().report["confusion"])
    cb = np.array(store.folder(b).read_results().report["confusion"])
    diff = np.abs(cb - ca)
    np.fill_diagonal(diff, 0)  # a mistake cell first: its examples are the ones that flipped
    if diff.max() == 0:
        diff = np.abs(cb - ca)
    t, p = np.unravel_index(int(diff.argmax()), diff.shape)
    return int(t), int(p)


def test_clicking_a_cell_of_the_difference_matrix_shows_the_examples_that_flipped(page, trained, server, workspace):  # noqa: F811
    a, b = trained["digits"], trained["digits_b"]
    page.goto(server)
    settle(page, "[data-testid=stSidebar] a")
    sidebar_link(page, "Compare").click()
    settle(page, "h1:has-text('Compare runs')")
    _pick(page, "Dataset", "digits")
    _pick(page, "Status", "finished")
    table = page.locator("[data-testid=stDataFrame]").first
    box = table.bounding_box()  # the grid is a canvas: tick "select all" in the header's checkbox column
    page.mouse.click(box["x"] + 15, box["y"] + 17)
    settle(page, f"text=B {b} against A {a}")
    heads = r"(B is better|A is better|No difference the test rows can show): "
    verdict = page.locator("[data-testid=stAlert]", has_text=re.compile(heads)).first
    assert re.search(heads + r".* points \[", verdict.inner_text())
    assert page.get_by_text(re.compile(r"^p = [0-9.e-]+ \(McNemar")).count() == 1  # the exact p-value
    assert page.get_by_text("Config fields that differ").count() == 1
    _shot(page, "verdict-1400")

    store = RunStore(workspace)
    t, p = _changed_cell(store, a, b)
    tw = compare(store, a, b)
    into, out = cell_moves(*tw.pair, t, p)
    matrix = page.locator("[data-testid=stPlotlyChart]").filter(has_text="predicted class").last
    cell = matrix.locator(".scatterlayer .point").nth(t * 10 + p)  # one marker per cell, row-major (true, pred)
    cell.scroll_into_view_if_needed()
    settle(page)
    where = cell.bounding_box()
    page.mouse.click(where["x"] + where["width"] / 2, where["y"] + where["height"] / 2)
    settle(page, f"text=Test examples of true {t} that moved")
    assert page.get_by_text(f"Into the cell ({len(into)})").count() == 1
    assert page.get_by_text(f"Out of the cell ({len(out)})").count() == 1
    heading = page.get_by_text(f"Test examples of true {t} that moved").first
    heading.scroll_into_view_if_needed()
    lists = page.locator("[data-testid=stHorizontalBlock]", has_text="Into the cell").last
    assert lists.locator("figure.example img").count() == min(len(into), 24) + min(len(out), 24)
    captions = lists.locator("figure.example figcaption").all_inner_texts()
    assert all(c.startswith("row ") and f"true {t}" in c for c in captions)  # the original row, as in the JSON
    _shot(page, "cell-examples-1400")

    page.get_by_role("tab", name=re.compile(r"^B right, A wrong")).click()
    settle(page)
    page.set_viewport_size({"width": 820, "height": 1000})
    settle(page)
    _shot(page, "flipped-820")
    page.get_by_text(f"B {b} against A {a}").first.scroll_into_view_if_needed()
    _shot(page, "verdict-820")
