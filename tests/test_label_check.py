"""The label check of a run's training rows (K fold models through the lab), its report and the CLI's list, and
retraining without the flagged rows: the test rows stay, the new run is linked to the first."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits

from nnlab.analysis.label_report import check_state, label_report
from nnlab.analysis.naming import run_name
from nnlab.cli.main import main
from nnlab.core.errors import NNLabError
from nnlab.data import load_dataset
from nnlab.data.registry import make_config
from nnlab.engine.runner import execute
from nnlab.lab import Lab
from nnlab.lab.labels import RETRAINED_FROM
from tests.helpers import wait_until


def _train(lab: Lab, cfg) -> str:
    run_id = lab.store.create(cfg)
    lab.store.claim_queued(run_id)
    assert execute(lab.store, run_id).status == "finished"
    return run_id


def _flipped_digits(path, share: float, seed: int = 0) -> np.ndarray:
    """scikit-learn's digits as a CSV with `share` of the labels moved to another digit; returns the rows moved."""
    x, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(y), int(round(share * len(y))), replace=False)
    y = y.copy()
    y[rows] = (y[rows] + rng.integers(1, 10, len(rows))) % 10
    df = pd.DataFrame(x, columns=[f"p{i}" for i in range(64)])
    df["label"] = y
    df.to_csv(path, index=False)
    return rows


@pytest.mark.slow
def test_training_check_finds_flipped_digits_and_flags_few_clean_ones(tmp_path):
    lab = Lab(tmp_path / "ws")
    flipped = _flipped_digits(tmp_path / "noisy.csv", 0.05)
    _flipped_digits(tmp_path / "clean.csv", 0.0)
    found = {}
    for name in ("noisy", "clean"):
        cfg = make_config("mlp", dataset="csv", data_path=str(tmp_path / f"{name}.csv"), hidden_sizes=(64,), threads=1)
        run_id = _train(lab, cfg)
        seen = []
        state = lab.check_labels(run_id, folds=5, on_progress=seen.append)
        assert state.status == "finished" and seen[-1].fraction == pytest.approx(1.0)
        assert all(a.fraction <= b.fraction for a, b in zip(seen, seen[1:], strict=False))
        found[name] = label_report(lab.store, run_id, "train")
    noisy = found["noisy"]
    assert noisy.indexed
    pool = set(noisy.index.tolist())  # training and validation rows: the test rows are not checked here
    truth = set(flipped.tolist()) & pool
    hits = set(noisy.flagged_rows.tolist()) & truth
    assert len(hits) / len(noisy.flagged_rows) >= 0.7  # precision (the issue's bar)
    assert len(hits) / len(truth) >= 0.6  # recall
    assert len(found["clean"].flagged_rows) < 0.02 * len(found["clean"].index)


def test_excluded_rows_leave_training_and_validation_but_not_the_test_split():
    cfg = make_config("mlp", dataset="digits")
    whole = load_dataset(cfg)
    drop = (*whole.train.index[:5].tolist(), *whole.val.index[:2].tolist(), int(whole.test.index[0]))
    fewer = load_dataset(cfg.replace(exclude_rows=drop))
    assert len(fewer.train) == len(whole.train) - 5 and len(fewer.val) == len(whole.val) - 2
    assert not set(drop) & (set(fewer.train.index.tolist()) | set(fewer.val.index.tolist()))
    assert np.array_equal(fewer.test.index, whole.test.index)  # the comparison pairs the same test rows
    said = [f.sentence for f in fewer.facts.findings if f.kind == "excluded"]
    assert said and "Left out 7 of the 8 rows" in said[0] and "1 of them is a test row and stays there" in said[0]


@pytest.fixture
def checked(tmp_path):
    """A tiny digits run whose training labels were checked with two fold models: (lab, run id)."""
    lab = Lab(tmp_path / "ws")
    run_id = _train(lab, make_config("mlp", dataset="digits", hidden_sizes=(64,), epochs=2, threads=1))
    assert lab.check_labels(run_id, folds=2).status == "finished"
    return lab, run_id


@pytest.mark.slow
def test_cli_lists_the_training_check_by_original_rows(checked, capsys):
    lab, run_id = checked
    assert (
        main(["label-issues", run_id, "--split", "train", "--folds", "2", "--json", "--store", str(lab.store.root)])
        == 0
    )
    said = json.loads(capsys.readouterr().out)
    report = label_report(lab.store, run_id, "train")
    assert said["indices"] == report.flagged_rows.tolist() and said["split"] == "train"
    data = load_dataset(lab.store.get(run_id).config)
    assert said["examples"] == len(data.train) + len(data.val)
    assert set(said["indices"]) <= set(data.train.index.tolist()) | set(data.val.index.tolist())
    assert [i["index"] for i in said["issues"]] == said["indices"]


@pytest.mark.slow
def test_retrain_without_queues_the_same_config_minus_the_rows_and_links_it(checked):
    lab, run_id = checked
    rows = [int(r) for r in label_report(lab.store, run_id, "train").flagged_rows] or [0, 1]
    started = lab.retrain_without(run_id, rows)
    rec = lab.store.get(started.run_id)
    assert rec.config == lab.store.get(run_id).config.replace(exclude_rows=tuple(sorted(rows)))
    assert rec.summary[RETRAINED_FROM] == run_id and run_id in rec.note
    done = wait_until(
        lambda: lab.store.get(started.run_id) if not lab.store.get(started.run_id).active else None, "the retrained run"
    )
    assert done.status == "finished"
    first, second = (lab.store.folder(i).read_results().predictions.index for i in (run_id, started.run_id))
    assert np.array_equal(first, second)  # the same test rows: the verdict pairs them
    lab.shutdown()


def test_test_split_report_and_refusals(trained, workspace):
    lab = Lab(workspace)
    report = label_report(lab.store, trained["digits"], "test")
    res = lab.store.folder(trained["digits"]).read_results()
    assert report.indexed and np.array_equal(report.index, res.predictions.index)
    assert len(report.issues.labels) == len(res.predictions.y_true)
    with pytest.raises(NNLabError, match="classifiers only"):
        label_report(lab.store, trained["series"], "test")
    with pytest.raises(NNLabError, match="not checked yet"):
        label_report(lab.store, trained["digits"], "train")
    assert check_state(lab.store, trained["digits"]) is None


def test_cli_test_split_json_holds_original_indices_most_likely_first(trained, workspace, capsys):
    assert main(["label-issues", trained["digits"], "--json", "--store", str(workspace)]) == 0
    said = json.loads(capsys.readouterr().out)
    report = label_report(Lab(workspace).store, trained["digits"], "test")
    assert said["indices"] == report.flagged_rows.tolist()
    conf = [i["self_confidence"] for i in said["issues"]]
    assert conf == sorted(conf)  # most likely wrong (lowest probability of the given label) first


def test_cli_refuses_a_forecaster_in_one_sentence(trained, workspace, capsys):
    assert main(["label-issues", trained["series"], "--store", str(workspace)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nnlab: ") and "classifiers only" in err and len(err.strip().splitlines()) == 1


def test_a_row_to_leave_out_that_the_data_lacks_is_said():
    """`--exclude-rows 9999` on a table of 300 rows said 'Left out 0 of the 1 rows given' and nothing of why."""
    cfg = make_config("mlp", dataset="digits")
    whole = load_dataset(cfg)
    row = int(whole.train.index[0])
    fewer = load_dataset(cfg.replace(exclude_rows=(row, 9999, 10000)))
    (said,) = [f.sentence for f in fewer.facts.findings if f.kind == "excluded"]
    assert said.startswith("Left out 1 of the 3 rows given (--exclude-rows) from training and validation")
    assert "; rows 9999 and 10000 are not among the data's rows (rows count from 0 after the header" in said
    (said,) = [
        f.sentence for f in load_dataset(cfg.replace(exclude_rows=(9999,))).facts.findings if f.kind == "excluded"
    ]
    assert "Left out 0 of the 1 row given" in said and "; row 9999 is not among the data's rows" in said


def test_retraining_a_retrained_run_is_named_after_the_first_with_every_row_left_out(trained, workspace):
    """Leaving doubtful labels out of a run that was itself retrained without some named it 'MLP on digits without
    3 doubtful labels without 5 doubtful labels'."""
    lab = Lab(workspace)
    try:
        first = lab.store.get(trained["digits"])
        once = lab.store.get(lab.retrain_without(first.run_id, [1, 2, 3]).run_id)
        twice = lab.store.get(lab.retrain_without(once.run_id, [3, 4, 5]).run_id)
    finally:
        lab.shutdown()
    assert once.name == f"{run_name(first)} without 3 doubtful labels"
    assert twice.name == f"{run_name(first)} without 5 doubtful labels"  # rows 1 to 5, each counted once
    assert twice.config.exclude_rows == (1, 2, 3, 4, 5) and twice.summary[RETRAINED_FROM] == once.run_id
