"""The links between a run and the run retrained from it without its doubtful labels, in a real browser at 820 px:
each says which run it opens, whole (the first one named both runs and was cut off after the second's '202612'),
and opens their comparison."""

from __future__ import annotations

import re

import pytest

from nnlab.lab.labels import RETRAINED_FROM
from nnlab.store.runs import RunStore
from tests.helpers import wait_until
from tests.test_browser import page as page  # noqa: F401, PLC0414  (fixtures shared with the main-path test)
from tests.test_browser import server as server  # noqa: F401, PLC0414
from tests.test_browser import settle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CUT = """() => [...document.querySelectorAll('[data-testid=stPageLink], [data-testid=stPageLink] *')]
    .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)"""


def test_retrained_links_are_whole_at_820_px_and_open_the_comparison(page, trained, server, workspace):
    first, retrained = trained["digits"], trained["digits_b"]
    RunStore(workspace).add_summary(retrained, {RETRAINED_FROM: first})
    page.set_viewport_size({"width": 820, "height": 1400})
    for run_id, other in ((first, retrained), (retrained, first)):
        page.goto(f"{server}/Results?run={run_id}")
        settle(page, "[data-testid=stPageLink]")
        link = page.locator("[data-testid=stPageLink]", has_text=other)  # names the run it compares with
        assert page.evaluate(CUT) == [], f"cut off at 820 px on {run_id}'s page: {page.evaluate(CUT)}"
    link.click()
    settle(page, f"text=B {retrained} against A {first}")


def test_the_training_check_keeps_its_tab_open_for_its_progress_and_its_gallery(page, trained, server):
    """Check the training labels reran the page onto the Test examples tab: the progress and the time left were in
    a tab the user had just left, and the gallery when it ended too."""
    page.goto(f"{server}/Results?run={trained['digits']}")
    settle(page, "text=Possible label errors")
    page.get_by_role("tab", name="Training and validation examples").click()
    page.get_by_role("button", name="Check the training labels").click()
    shown = page.get_by_text(re.compile(r"^Checking the training labels: .* left\.$|^Training labels checked with"))
    shown.first.wait_for(state="visible", timeout=120_000)  # the progress, or the end of a quick check, in view
    page.get_by_text("Training labels checked with").wait_for(state="visible", timeout=300_000)
    assert page.get_by_text(re.compile(r"training and validation rows\.$")).first.is_visible()


def test_a_cells_images_wrap_whole_at_820_px(page, trained, server):
    """A confusion-matrix cell's images sat in 8 columns narrower than a thumbnail at 820 px: thumbnails and their
    captions (now the file names) ran over each other and off the window. They now wrap, each card clear of the
    next."""
    run_id = trained["shapes"]
    page.set_viewport_size({"width": 820, "height": 1400})
    page.goto(f"{server}/Results?run={run_id}")
    settle(page, "text=Possible label errors")
    for label in ("True class", "Predicted class"):
        _pick_first(page, label)
    settle(page, "text=Test examples: true")
    thumbs = page.locator("[data-testid=stMain] img").all()  # the cell's, then the label errors' gallery's
    assert len(thumbs) > 1, "the cell's examples are shown"
    boxes = [t.bounding_box() for t in thumbs]
    assert all(b["x"] + b["width"] <= 820 for b in boxes), "a thumbnail runs off the window"
    for a, b in zip(boxes, boxes[1:], strict=False):  # the next one is to the right, or on a row below
        assert b["x"] >= a["x"] + a["width"] - 1 or b["y"] >= a["y"] + a["height"] - 1, (a, b)
    assert page.evaluate("document.documentElement.scrollWidth") <= 820


def _pick_first(page, label: str) -> None:
    """Open the selectbox labelled `label` (again, if a rerun closed it) and pick its first option."""
    box = page.locator("[data-testid=stSelectbox]", has_text=label).first
    wait_until(lambda: box.click() or page.get_by_role("option").count() > 0, f"the options of {label}", 60, every=1.0)
    page.get_by_role("option").first.click()
    settle(page)
