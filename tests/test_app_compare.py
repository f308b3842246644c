"""Compare page (AppTest, tiny real runs) and the tables behind it; fast with 1,000 runs."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from nnlab.compare import config_diff, filter_runs, hyperparameter_frame, runs_table
from nnlab.records import ACTIVE
from nnlab.registry import make_config
from nnlab.runs import RunStore
from tests.helpers import app_at

PAGE = "../pages/3_Compare.py"
pytestmark = pytest.mark.usefixtures("fresh_caches")


def _open() -> AppTest:
    at = app_at(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _select(at: AppTest, run_ids: list[str]) -> AppTest:
    table = at.dataframe[0].value
    rows = [list(table["run"]).index(r) for r in run_ids]
    at.session_state["compare_table"] = {"selection": {"rows": rows, "columns": [], "cells": []}}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_title_and_empty_store():
    at = _open()
    assert at.title[0].value == "Compare runs"
    assert "No runs yet" in at.info[0].value


@pytest.mark.slow
def test_two_runs_of_one_dataset_show_curves_diff_f1_change_and_confusion_difference(trained):
    at = _open()
    assert len(at.dataframe[0].value) == len(trained)
    at = _select(at, [trained["digits"], trained["digits_b"]])
    heads = [s.value for s in at.subheader]
    assert heads[:3] == ["Validation curves", "Hyperparameters against the test score", "Config differences"]
    assert heads[3] == f"What changed from {trained['digits']} to {trained['digits_b']}"
    diff = at.dataframe[1].value
    assert set(diff.index) == {"hidden_sizes", "dropout", "lr"}
    assert len(at.get("plotly_chart")) == 4  # curves, parallel coordinates, F1 change, confusion difference


def test_filters_narrow_the_table(trained):
    at = _open()
    at.multiselect(key="compare_filter_arch").set_value(["mlp"]).run()
    table = at.dataframe[0].value
    assert set(table["arch"]) == {"mlp"} and len(table) == 5  # digits, digits_b, iris, failed, running
    at.multiselect(key="compare_filter_status").set_value(["failed"]).run()
    assert list(at.dataframe[0].value["run"]) == [trained["failed"]]


def test_rerun_asks_first_then_queues_the_same_config(trained, workspace):
    at = _select(_open(), [trained["digits"]])
    at.button[0].click().run()
    assert "Queue a new run with the config of" in at.warning[0].value
    at.button(key="compare_rerun_yes").click().run()
    store = RunStore(workspace)
    new = [r for r in store.list() if r.run_id not in trained.values()]
    assert len(new) == 1 and new[0].config == store.get(trained["digits"]).config
    deadline = time.monotonic() + 120
    while store.get(new[0].run_id).status in ACTIVE and time.monotonic() < deadline:
        time.sleep(0.2)  # let the background job end before the workspace goes away
    assert store.get(new[0].run_id).status == "finished"


def test_tables_behind_the_page(trained, workspace):
    records = RunStore(workspace).list()
    df = runs_table(records)
    assert {"status", "arch", "dataset", "lr", "best_val_metric", "test_value", "seconds", "device"} <= set(df.columns)
    assert len(filter_runs(df, statuses=["finished"])) == 6
    by_id = {r.run_id: r for r in records}
    pair = [by_id[trained["digits"]], by_id[trained["digits_b"]]]
    assert list(config_diff(pair).index) == ["hidden_sizes", "dropout", "lr"]
    hp = hyperparameter_frame(pair)
    assert list(hp.columns) == ["hidden_sizes", "dropout", "lr", "test_value"]
    assert hp["lr"].dtype.kind == "f"


@pytest.mark.slow
def test_page_stays_fast_with_a_thousand_runs(store):
    cfg = make_config("mlp", dataset="digits")
    for i in range(1000):
        store.create(cfg.replace(seed=i, lr=1e-3 * (1 + i % 5)))
    start = time.perf_counter()
    at = _open()
    first = time.perf_counter() - start
    assert len(at.dataframe[0].value) == 1000
    start = time.perf_counter()
    _select(at, list(at.dataframe[0].value["run"][:3]))
    assert first < 10 and time.perf_counter() - start < 10, first
