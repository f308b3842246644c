"""AppTest of the Sweep page: the form reuses Train's widgets, bad ranges are refused in words, a small sweep
starts, is watched until it ends, and a trial opens as an ordinary run."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from nnlab.runs import RunStore
from nnlab.sweep_store import SweepStore

ROOT = Path(__file__).resolve().parents[1]
APP, SWEEP_PAGE = str(ROOT / "app.py"), "pages/5_Sweep.py"


@pytest.fixture(autouse=True)
def fresh_caches():
    """AppTest shares st.cache_resource across instances in one process: a new job manager per test."""
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


def sweep_page() -> AppTest:
    """The Sweep page reached from the entry page, so its links to Results and Train resolve."""
    at = AppTest.from_file(APP, default_timeout=90).run()
    return at.switch_page(SWEEP_PAGE).run()


def small_form(at: AppTest) -> AppTest:
    """A tiny MLP base (one layer of 32, 3 epochs) varying the learning rate and dropout, 3 trials."""
    at.text_input("tr_mlp_hidden_sizes").set_value("32")
    at.number_input("tr_epochs").set_value(3)
    at.toggle("tr_early_stopping").set_value(False)
    at.run()
    at.number_input("sw_trials_n").set_value(3)
    at.selectbox("sw_pruner").set_value("median")
    return at.run()


def test_the_form_counts_trials_and_refuses_a_range_outside_the_field():
    at = sweep_page()
    assert not at.exception
    assert at.selectbox("tr_dataset").value == "digits"  # the Train form itself
    assert at.multiselect("sw_vary").value == ["lr", "dropout"]
    assert [m.value for m in at.metric if m.label == "Trials"] == ["12"]
    at.number_input("sw_dropout_high").set_value(0.8).run()
    errors = [e.value for e in at.error]
    assert any("Dropout 0.8 is outside the allowed 0.1 to 0.5" in e for e in errors), errors
    assert at.button("sw_start").disabled
    at.number_input("sw_dropout_high").set_value(0.5)
    at.selectbox("sw_strategy").set_value("grid").run()
    assert [m.value for m in at.metric if m.label == "Trials"] == ["9"]  # 3 x 3 grid points
    assert not at.button("sw_start").disabled


@pytest.mark.slow
def test_start_a_small_sweep_watch_it_and_open_a_trial():
    at = small_form(sweep_page())
    at.button("sw_start").click().run()
    sweep_id = at.query_params["sweep"][0] if isinstance(at.query_params["sweep"], list) else at.query_params["sweep"]
    store = RunStore()
    sweeps = SweepStore(store)
    deadline = time.monotonic() + 300
    while sweeps.get(sweep_id).status == "running" and time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()  # AppTest ignores run_every: rerun to watch
    assert sweeps.get(sweep_id).status == "finished"
    at.run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Trials done"] == "3 / 3"
    runs = store.list(sweep_id=sweep_id)
    assert len(runs) == 3 and all(r.trial is not None for r in runs)
    table = at.dataframe[0].value
    assert len(table) == 3 and set(table["run"]) == {r.run_id for r in runs}
    assert {s.split()[-1] for s in table["status"]} <= {"finished", "pruned"}
    first = table["run"][0]
    at.session_state["sw_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()  # a finished trial opens in Results, as any run
    assert at.query_params["run"] in (first, [first])


def test_the_sweep_preview_measures_the_base_settings_and_scales_them_to_every_run():
    at = small_form(sweep_page())
    at.button(key="tr_estimate").click().run()
    deadline = time.monotonic() + 120
    while not any("for all 3 runs" in c.value for c in at.caption) and time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()  # AppTest ignores run_every: rerun until the background measurement is in
    assert not at.exception
    assert any("Measured for the base settings" in c.value and "for all 3 runs" in c.value for c in at.caption)
