"""AppTest of the Results page's label errors (test gallery, the training check, exclude and retrain), its
classical baselines for a series, and a Compare page opened on a pair by link."""

from __future__ import annotations

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import nnlab.ui.labels as labels_ui
from nnlab.analysis.label_report import label_report
from nnlab.engine.metrics import cell_examples
from nnlab.lab import Lab
from nnlab.lab.labels import RETRAINED_FROM
from nnlab.store.runs import RunStore
from tests.helpers import app_at, wait_until
from tests.trained import open_page

RESULTS, COMPARE = "../pages/2_Results.py", "../pages/3_Compare.py"
pytestmark = pytest.mark.usefixtures("fresh_caches")


def _subheaders(at: AppTest) -> list[str]:
    return [s.value for s in at.subheader]


def _markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_a_classifier_shows_its_test_label_errors_and_offers_the_training_check(trained):
    at = open_page(RESULTS, trained["digits"])
    assert "Possible label errors" in _subheaders(at)
    assert [t.label for t in at.tabs][-2:] == ["Test examples", "Training and validation examples"]
    assert "among 270 test examples" in _markdown(at)
    assert any(b.label == "Check the training labels" for b in at.button)


@pytest.mark.slow
def test_a_checked_run_shows_its_training_rows_and_retrains_without_them(trained, workspace, monkeypatch):
    monkeypatch.setenv("NNLAB_ISOLATE", "0")  # the retrained run trains in a thread of this test's process
    run_id = trained["digits"]
    lab = Lab(workspace)
    assert lab.check_labels(run_id, folds=2).status == "finished"
    report = label_report(lab.store, run_id, "train")
    at = open_page(RESULTS, run_id)
    assert "training and validation rows" in _markdown(at)
    assert len(report.flagged_rows)  # a 2-epoch MLP's fold models disagree with many labels
    exclude = [b for b in at.button if b.label.startswith("Exclude these")]
    exclude[0].click().run()
    store = RunStore(workspace)
    new = wait_until(lambda: [r for r in store.list() if r.summary.get(RETRAINED_FROM) == run_id], "the new run")[0]
    assert set(new.config.exclude_rows) == set(report.flagged_rows.tolist())
    wait_until(lambda: store.get(new.run_id).status == "finished", "the retrained run to finish")
    at = open_page(RESULTS, new.run_id)
    links = [link.label for link in at.get("page_link")]
    assert any(f"Compare with {run_id}" in str(label) for label in links)  # the run it was retrained from


def test_a_series_shows_the_classical_forecasters_beside_it(trained):
    at = open_page(RESULTS, trained["series"])
    assert "Against classical forecasters" in _subheaders(at)
    table = next(d.value for d in at.dataframe if "forecaster" in d.value.columns)
    assert table["forecaster"].iloc[0] == "this run (nnlab)" and len(table) >= 4
    assert any("classical" in s.value or "This run forecasts" in s.value for s in [*at.success, *at.warning])
    assert not any("--" in s.value for s in [*at.success, *at.warning])  # the form's words, not the flags


def test_the_series_verdicts_test_runs_once_however_often_the_page_reruns(trained, monkeypatch):
    import nnlab.ui.results as results_ui

    calls = []
    test_once = results_ui.baseline_test
    monkeypatch.setattr(results_ui, "baseline_test", lambda res: calls.append(1) or test_once(res))
    at = open_page(RESULTS, trained["series"])
    at.run()  # a click anywhere reruns the page: the permutation test over the test steps is not redone
    assert len(calls) == 1
    assert any("chance over these" in s.value for s in [*at.success, *at.warning])


def test_compare_opens_on_the_pair_a_link_names(trained):
    a, b = trained["digits"], trained["digits_b"]
    at = app_at(COMPARE)
    at.query_params["a"], at.query_params["b"] = a, b
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert f"B {b} against A {a}" in _subheaders(at)


def test_a_table_cells_flagged_rows_show_their_row_and_keep_the_probability_bar(trained, workspace, monkeypatch):
    """A table's cell examples said '⚠ label?' with no row a user could find in their CSV, and the badge column took
    the probability's bar (the column config went to the first column, the badge's)."""
    run_id = trained["iris"]
    res = RunStore(workspace).folder(run_id).read_results()
    pr = res.predictions
    t = p = int(pr.y_true[0])
    shown = cell_examples(pr.y_true, pr.y_pred, pr.probs, t, p)
    flags = np.zeros(len(pr.y_true), dtype=bool)
    flags[shown[0]] = True
    monkeypatch.setattr(labels_ui, "test_flags", lambda res, rec: flags)
    at = app_at(RESULTS, run_id)
    at.run()
    at.selectbox(key=f"results_cell_true_{run_id}").set_value(t)
    at.selectbox(key=f"results_cell_pred_{run_id}").set_value(p).run()
    table = at.dataframe[-1]
    assert list(table.value["example"][:3]) == [f"row {pr.index[i]}" for i in shown[:3]]  # as label-issues numbers
    assert table.value["label"].iloc[0] == "⚠ label?"
    config = json.loads(table.proto.columns)
    bar = f"P({res.classes[p]})"
    assert config[bar]["type_config"]["type"] == "progress" and "label" not in config


def test_a_failed_training_check_says_why_in_the_forms_words(trained, workspace):
    """A check whose data file had gone said '... check the path given with --data.' on the page: a flag, where the
    page has a form field."""
    run_id = trained["iris"]
    reason = "Data file /data/iris.csv does not exist; check the path given with --data."
    failed = {"status": "failed", "folds": 5, "epochs": 3, "fraction": 0.0, "reason": reason, "started": 1.0}
    RunStore(workspace).folder(run_id).write_label_check(failed)  # as Lab.check_labels leaves a failed check
    at = open_page(RESULTS, run_id)
    (said,) = [w.value for w in at.warning if "training-label check failed" in w.value]
    assert "--" not in said and "Path to your data" in said
    assert any(b.label == "Check the training labels" for b in at.button)  # and it can be started again
