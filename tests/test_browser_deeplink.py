"""A link straight to a page (what people share: /Results?run=...) opens that page under the app's own
navigation: the sidebar says Home, not the entry script's file name, and the link's run is the one shown."""

from __future__ import annotations

import pytest

from nnlab.store.runs import RunStore
from tests.helpers import fill_store
from tests.test_browser import page as page  # noqa: F401, PLC0414  (fixtures shared with the main-path test)
from tests.test_browser import server as server  # noqa: F401, PLC0414
from tests.test_browser import settle

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def nav_labels(pg) -> list[str]:
    return [s.strip() for s in pg.get_by_test_id("stSidebarNav").inner_text().splitlines() if s.strip()]


def test_a_shared_link_to_a_page_opens_it_under_the_apps_navigation(page, server, workspace):  # noqa: F811
    run_id = fill_store(RunStore(workspace), n=3)[1]
    page.goto(f"{server}/Results?run={run_id}")
    settle(page)
    assert nav_labels(page) == ["Home", "Train", "Results", "Compare", "Playground", "Sweep"]
    assert f"run={run_id}" in page.url and run_id in page.get_by_test_id("stMain").inner_text()
    page.goto(f"{server}/Compare")  # a second page opened directly, in a new session of the same server
    settle(page)
    assert nav_labels(page)[0] == "Home" and "Compare" in page.title()
