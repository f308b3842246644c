"""Compare page (AppTest, tiny real runs) and the tables behind it; fast with 1,000 runs."""

from __future__ import annotations

import json
import statistics
import time

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from nnlab.analysis.comparison import compare
from nnlab.analysis.groups import group_id
from nnlab.analysis.naming import data_label
from nnlab.analysis.runs_table import config_diff, filter_runs, hyperparameter_frame, runs_table, scored_config_diff
from nnlab.analysis.wording import p_text
from nnlab.core.records import ACTIVE
from nnlab.data.registry import make_config
from nnlab.engine.runner import execute
from nnlab.store.runs import RunStore
from nnlab.ui.comparison import DIFF_WIDTH
from tests.helpers import app_at, visible, wait_until

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
def test_two_runs_get_a_verdict_with_the_differing_config_and_a_clickable_difference(trained):
    at = _open()
    assert len(at.dataframe[0].value) == len(trained)
    at = _select(at, [trained["digits"], trained["digits_b"]])
    a, b = trained["digits"], trained["digits_b"]
    heads = [s.value for s in at.subheader]
    assert heads[0] == f"B {b} against A {a}"
    assert heads[1:] == ["Validation curves", "Hyperparameters against the test value", "What flipped between A and B"]
    verdict = [visible(x.value) for x in (*at.success, *at.warning, *at.info) if " points [" in visible(x.value)]
    assert len(verdict) == 1 and verdict[0].startswith("**")
    assert "the seed-noise floor is unknown with one seed on a side" in verdict[0]
    tw = compare(RunStore(), a, b)
    exact = [visible(m.value) for m in at.markdown if m.value.startswith("- p = ")]  # the exact p-value, on the page
    assert exact and exact[0].startswith(f"- p = {p_text(tw.verdict.p_value)} (McNemar")
    assert any("2 more seeds of each" in x.value for x in at.info)  # offered, with the pre-flight time
    assert any(f"A {a}: test accuracy" in m.value.replace("\\", "") for m in at.markdown)
    diff = at.dataframe[1].value  # who won first, then the fields that differ
    assert list(diff.columns) == ["setting", "A", "B"] and diff["setting"].iloc[0] == "test accuracy"
    # seen: "on (automatic: on where the classes are strongly imbalanced)" widened A's column until B's score sat
    # out of sight in the 400-px table, at 1400 px as at 820: A and B now have one fixed width each
    widths = {k: v.get("width") for k, v in json.loads(at.dataframe[1].proto.columns).items()}
    assert widths["A"] == widths["B"] and widths["setting"] + widths["A"] + widths["B"] <= DIFF_WIDTH
    scores = {r.run_id: r.test_value for r in RunStore().list()}
    assert [float(x.split()[0]) for x in diff.iloc[0, 1:]] == [round(scores[a], 3), round(scores[b], 3)]
    assert set(diff["setting"].iloc[1:]) == {"Hidden layer sizes", "Dropout", "Learning rate"}  # the form's labels
    assert len(at.get("plotly_chart")) == 4  # curves, parallel coordinates, F1 change, the difference matrix
    tabs = [t.label for t in at.tabs]
    assert tabs[0].startswith("A right, B wrong (") and tabs[1].startswith("B right, A wrong (")
    cell_key = f"compare_flip_cell_{a}_{b}"
    cells = at.selectbox(key=cell_key).options
    assert cells, "the two runs disagree somewhere"
    at.selectbox(key=cell_key).set_value(at.selectbox(key=cell_key).options[0]).run()
    assert not at.exception
    moved = [m.value for m in at.markdown if m.value.startswith("**Into the cell (") or m.value.startswith("**Out of")]
    assert len(moved) == 2


@pytest.mark.slow
def test_seed_groups_show_mean_and_spread_and_curves_with_a_band(trained, workspace):
    store = RunStore(workspace)
    base = store.get(trained["digits"]).config
    other_cfg = store.get(trained["digits_b"]).config
    for cfg in (base.replace(seed=1), base.replace(seed=2), other_cfg.replace(seed=1)):
        run_id = store.create(cfg)
        store.claim_queued(run_id)
        assert execute(store, run_id).status == "finished"
    at = _open()
    at.toggle(key="compare_grouped").set_value(True).run()
    table = at.dataframe[0].value
    gid = group_id(base)
    row = table.set_index("group").loc[gid]
    scores = [r.test_value for r in store.list() if group_id(r.config) == gid]
    assert row["seeds"] == 3 and row["test_value"] == pytest.approx(sum(scores) / 3)
    assert row["test_sd"] == pytest.approx(statistics.stdev(scores))
    other = group_id(store.get(trained["digits_b"]).config)
    rows = [list(table["group"]).index(g) for g in (gid, other)]
    at.session_state["compare_group_table"] = {"selection": {"rows": rows, "columns": [], "cells": []}}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.subheader[0].value == f"B {other} against A {gid}"
    assert "mean of each group's seeds, 95% band" in at.subheader[1].value
    curves = at.get("plotly_chart")[0].proto.spec
    assert '"fill":"toself"' in curves.replace(" ", "") and "mean of 3 seeds" in curves
    assert any("mean of 3 seeds" in m.value.replace("\\", "") for m in at.markdown)
    tw = compare(store, gid, other)  # every seed counts: 3 of A, 2 of B on the same test rows
    assert tw.noise.seeds == (3, 2)
    box = [visible(x.value) for x in (*at.success, *at.warning, *at.info) if x.value.startswith("**")][0]
    assert f"{len(tw.noise.stable_b_to_a)} examples flip toward B in every seed" in box
    exact = f"- p = {p_text(tw.verdict.p_value)} (t-test over seeds"
    assert any(visible(m.value).startswith(exact) for m in at.markdown)
    tabs = [t.label for t in at.tabs]
    assert tabs == [f"Toward A ({len(tw.flips.a_better)})", f"Toward B ({len(tw.flips.b_better)})"]
    at.segmented_control(key="compare_flip_tag").set_value("Stable").run()
    assert not at.exception
    stable = int(np.sum(tw.noise.tag[tw.flips.b_better] == "stable"))
    assert at.tabs[1].label == f"Toward B ({stable})"


def test_the_score_axis_never_mixes_datasets(trained):
    at = _open()
    box = at.selectbox(key="compare_score_dataset")
    assert box.value == "digits"  # the dataset with the most scored runs
    assert any(" runs on digits, scored by test accuracy" in c.value for c in at.caption)  # the plot says which
    shapes = data_label(RunStore().get(trained["shapes"]).config)  # the folder's name, as the runs table lists it
    assert shapes != "image-folder" and f"{shapes} (1 run)" in box.options  # not "(1 runs)"
    box.set_value(shapes).run()
    assert "parallel coordinates appear" in " ".join(c.value for c in at.caption).lower()


def test_three_runs_show_each_test_score_above_their_config_differences(trained):
    ids = [trained["digits"], trained["digits_b"], trained["iris"]]
    at = _select(_open(), ids)
    assert "Test score and config differences" in [s.value for s in at.subheader]
    diff = next(d.value for d in at.dataframe if d.value.index[0] == "test accuracy")
    runs = {r.run_id: r for r in RunStore().list()}
    assert set(diff.columns) == set(ids) and "Hidden layer sizes" in diff.index and "Dataset" in diff.index
    assert "hidden_sizes" not in diff.index  # the form's labels, not the fields' names
    values = [runs[i].test_value for i in ids]
    for run_id in ids:
        best = runs[run_id].test_value == max(values) and values.count(max(values)) == 1
        assert diff.loc["test accuracy", run_id] == f"{runs[run_id].test_value:.3f}" + (" (best)" if best else "")
    forecaster = [trained["digits"], trained["series"], trained["failed"]]  # no shared metric: each names its own
    row = scored_config_diff([runs[i] for i in forecaster]).loc["test score"]
    assert list(row) == [runs[i].score_text for i in forecaster] and row.iloc[2] == "–"


def test_filters_narrow_the_table(trained):
    at = _open()
    at.multiselect(key="compare_filter_arch").set_value(["mlp"]).run()
    table = at.dataframe[0].value
    assert set(table["arch"]) == {"mlp"} and len(table) == 5  # digits, digits_b, iris, failed, running
    at.multiselect(key="compare_filter_status").set_value(["failed"]).run()
    assert list(at.dataframe[0].value["run"]) == [trained["failed"]]


@pytest.mark.slow
def test_rerun_asks_first_then_queues_the_same_config(trained, workspace):
    at = _select(_open(), [trained["digits"]])
    at.button[0].click().run()
    assert "Queue a new run with the config of" in at.warning[0].value
    at.button(key="compare_rerun_yes").click().run()
    store = RunStore(workspace)
    new = [r for r in store.list() if r.run_id not in trained.values()]
    assert len(new) == 1 and new[0].config == store.get(trained["digits"]).config
    # let the background job end before the workspace goes away
    wait_until(lambda: store.get(new[0].run_id).status not in ACTIVE, "the new run to end")
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


def test_compare_filters_by_sweep_and_by_name(store):
    """Issue 21: a newcomer looked for Compare filters by sweep and by name."""
    from tests.helpers import tiny_config

    own = store.create(tiny_config(), name="Baseline <b>v1</b>")
    other = store.create(tiny_config())
    trials = [
        store.create(tiny_config(lr=lr), sweep_id="sw-20260101-000000-abcd", trial=k)
        for k, lr in ((0, 1e-3), (1, 3e-3))
    ]
    df = runs_table(store.list())
    assert set(filter_runs(df, sweeps=["sw-20260101-000000-abcd"]).index) == set(trials)
    assert set(filter_runs(df, sweeps=[""]).index) == {own, other}
    assert list(filter_runs(df, name="BASELINE <b>").index) == [own]  # any case, as typed (no pattern)
    at = _open()
    at.multiselect(key="compare_filter_sweep").set_value(["sw-20260101-000000-abcd"]).run()
    assert set(at.dataframe[0].value["run"]) == set(trials)
    at.multiselect(key="compare_filter_sweep").set_value([]).run()
    at.text_input(key="compare_filter_name").set_value("baseline").run()
    assert list(at.dataframe[0].value["run"]) == [own] and not at.exception


def test_the_runs_table_and_the_run_page_say_which_runs_trained_on_ray(store, fresh_caches):
    """Issue 21: a newcomer could not tell which runs trained on Ray."""
    from nnlab.core.placement import Placement
    from tests.helpers import tiny_config

    here = store.create(tiny_config(), status="finished")
    cluster = store.create(tiny_config(), status="finished")
    store.set_placement(cluster, Placement("ray", "10.0.0.5:6379"))
    local_ray = store.create(tiny_config(), status="finished")
    store.set_placement(local_ray, Placement("ray"))
    df = runs_table(store.list())
    assert dict(zip(df["run"], df["placed"], strict=True)) == {
        here: "this machine",
        cluster: "Ray 10.0.0.5:6379",
        local_ray: "Ray (local instance)",
    }
    page = app_at("pages/1_Train.py", cluster).run()
    caption = next(c.value for c in page.caption if c.value.startswith(f"Run {cluster}"))
    assert "on the Ray cluster at 10.0.0.5\\:6379" in caption
    page = app_at("pages/1_Train.py", here).run()
    assert not any("Ray" in c.value for c in page.caption)
