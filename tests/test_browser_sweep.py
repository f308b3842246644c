"""The Sweep page in a real browser: fill the form, start a small sweep, watch its trials table fill live until it
finishes, click a trial in the table and land on its run in Results. Screenshots of the form, the running sweep
and the finished one at 1400 and 820 px go to test-artifacts/screenshots/sweep-*."""

from __future__ import annotations

import re

import pytest

from tests.helpers import wait_until
from tests.test_browser import SHOTS, page, server, settle  # noqa: F401  (page and server are fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def shot(pg, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SHOTS / f"sweep-{name}.png"), full_page=True)


def fill(pg, role: str, name: str, value: str) -> None:
    box = pg.get_by_role(role, name=name, exact=True)
    box.fill(value)
    box.press("Enter")
    settle(pg)


@pytest.mark.timeout(1800)  # a loaded machine; about a minute on an idle one
def test_sweep_page_in_a_real_browser(page, server):  # noqa: F811  (fixture order: the browser first)
    pg = page
    try:
        start_small_sweep(pg, server)
        watch_it_finish(pg)
        open_a_trial(pg)
    except BaseException:
        shot(pg, "failure")
        raise


STATES = ("finished", "pruned", "failed", "stopped", "running", "queued", "paused")


def start_small_sweep(pg, url: str) -> None:
    pg.goto(f"{url}/Sweep")
    settle(pg, "button:has-text('Start sweep')", timeout=180_000)  # the first pg run imports torch
    fill(pg, "textbox", "Hidden layer sizes", "256,256")  # a few seconds a trial: the table is seen filling
    fill(pg, "spinbutton", "Epochs", "15")
    fill(pg, "spinbutton", "Trials", "3")
    fill(pg, "spinbutton", "Confirm the top trials", "0")
    pg.locator("label", has_text="Early stopping").first.click()
    settle(pg)
    both_widths(pg, "form")
    from playwright.sync_api import expect

    expect(pg.locator("[data-testid=stMetric]", has_text="Trials").first).to_contain_text("3", timeout=120_000)
    pg.get_by_role("button", name=re.compile("Start sweep")).click()
    pg.wait_for_url(re.compile(r"[?&]sweep=sw-"), timeout=60_000)


def both_widths(pg, name: str) -> None:
    """Screenshots at 1400 and 820 px wide (back to 1400 after)."""
    shot(pg, f"{name}-1400")
    pg.set_viewport_size({"width": 820, "height": 1000})
    settle(pg)
    shot(pg, f"{name}-820")
    pg.set_viewport_size({"width": 1400, "height": 1000})
    settle(pg)


def table_states(pg) -> list[str]:
    """The trial states the trials table shows (its grid's cells, as the page has drawn them)."""
    cells = pg.locator("[data-testid=stDataFrame] [role=gridcell]").all_inner_texts()
    return [c.split()[-1] for c in cells if c.strip() and c.split()[-1] in STATES]


def watch_it_finish(pg) -> None:
    """Read the table as the page refreshes it: it fills trial by trial while the sweep runs, then all end."""
    done = pg.locator("[data-testid=stMetric]", has_text="Trials done")
    seen: list[list[str]] = []

    def finished() -> bool:
        text = done.first.inner_text() if done.count() else ""
        states = table_states(pg)
        if states and (not seen or seen[-1] != states):
            seen.append(states)
            if "running" in states and not any("running" in s for s in seen[:-1]):
                both_widths(pg, "running")
        return "3 / 3" in text

    wait_until(finished, "the sweep to finish", 1200, every=0.5)  # a cap: well under a minute on an idle machine
    assert any("running" in s for s in seen) and len(seen) >= 2, f"the table was not seen filling: {seen}"
    pg.wait_for_selector("[data-testid=stBadge]:has-text('finished'), :text('finished')", timeout=60_000)
    settle(pg, "[data-testid=stDataFrame]")
    assert len(table_states(pg)) == 3 and set(table_states(pg)) <= {"finished", "pruned"}, table_states(pg)
    both_widths(pg, "finished")


def open_a_trial(pg) -> None:
    """Click the first row of the trials table (its selection column) and land on that run's Results."""
    table = pg.locator("[data-testid=stDataFrame]").first
    table.scroll_into_view_if_needed()
    box = table.bounding_box()
    pg.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # header row 35 px, then the first row's marker
    pg.wait_for_url(re.compile(r"/Results\?run="), timeout=60_000)
    settle(pg, "[data-testid=stPlotlyChart]")
    shot(pg, "trial-results")
