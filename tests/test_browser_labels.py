"""The links between a run and the run retrained from it without its doubtful labels, in a real browser at 820 px:
each says which run it opens, whole (the first one named both runs and was cut off after the second's '202612'),
and opens their comparison."""

from __future__ import annotations

import pytest

from nnlab.lab.labels import RETRAINED_FROM
from nnlab.store.runs import RunStore
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
