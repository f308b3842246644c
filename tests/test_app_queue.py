"""Several runs at once: a queued run says where it stands and what it waits for, Home lists the queue with
Stop all, a run stopped in the queue offers no Resume, and Compare deletes the ticked runs."""

from __future__ import annotations

import pytest
import streamlit as st

from nnlab.store.runs import RunStore
from nnlab.ui import lab
from nnlab.ui.runs_table import KEY_TABLE
from tests.helpers import app_at, tiny_config, visible, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def fresh_caches():
    st.cache_resource.clear()
    yield
    lab().shutdown()
    st.cache_resource.clear()


def _until(run_id: str, status: str, timeout: float = 120) -> None:
    store = RunStore()
    wait_until(lambda: store.get(run_id).status == status, f"run {run_id} to be {status}", timeout)
    store.close()


def test_queue_positions_stop_all_and_bulk_delete():
    long = tiny_config(epochs=200, early_stopping=False)
    first, second = lab().start(long).run_id, lab().start(long).run_id
    _until(first, "running")

    at = app_at("pages/1_Train.py", second).run()
    info = visible(" ".join(i.value for i in at.info))
    assert "Queued: number 1 in line" in info and first in info, info
    assert "Starting" not in info
    assert any(f"queued {RunStore().get(second).created_iso}" in c.value for c in at.caption)

    home = app_at().run()
    queue = home.dataframe[0].value
    assert list(queue["place"]) == ["now", "1"] and list(queue["run"]) == [first, second]
    home.button("manage_stop_all").click().run()
    assert any("Stopped 2 runs" in s.value for s in home.success)
    _until(second, "stopped")
    _until(first, "stopped")

    at = app_at("pages/1_Train.py", second).run()
    assert "tr_resume" not in [b.key for b in at.button]  # it never ran: nothing to resume
    assert "tr_again" in [b.key for b in at.button]

    compare = app_at("pages/3_Compare.py").run()
    compare.session_state[KEY_TABLE] = {"selection": {"rows": [0, 1], "columns": [], "cells": []}}
    compare.run()
    compare.button("manage_delete_selected").click().run()
    assert RunStore().find(first) is None and RunStore().find(second) is None
    assert not compare.exception
