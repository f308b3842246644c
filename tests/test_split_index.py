"""The split is a fact of the run: predictions.npz holds each test (and validation) example's original row."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits

from nnlab.core.config import RunConfig
from nnlab.data import load_dataset
from nnlab.data.registry import make_config
from nnlab.store.runs import RunStore


def test_predictions_hold_the_original_rows_of_the_test_and_validation_examples(trained, workspace):
    folder = RunStore(workspace).folder(trained["digits"])
    p = folder.read_results().predictions
    digits = load_digits()
    assert p.index is not None and p.val_index is not None
    assert np.array_equal(p.y_true, digits.target[p.index])  # a reader recomputes the test rows from the data
    assert not set(p.index) & set(p.val_index)
    with np.load(folder.path / "predictions.npz") as z:
        assert {"index", "val_index", "y_true", "y_pred", "probs"} <= set(z.files)


def test_a_forecasters_index_is_the_time_step_of_each_test_forecast(trained, workspace):
    res = RunStore(workspace).folder(trained["series"]).read_results()
    assert np.array_equal(res.predictions.index, res.examples.t)


def test_rows_dropped_while_loading_keep_their_place_in_the_file(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=120), "b": rng.normal(size=120), "label": rng.integers(0, 2, 120)})
    df.loc[[3, 50], "a"] = np.nan
    df.loc[7, "label"] = np.nan
    df.to_csv(tmp_path / "t.csv", index=False)
    data = load_dataset(make_config("mlp", dataset="csv", data_path=str(tmp_path / "t.csv"), missing="drop"))
    rows = np.concatenate([data.train.index, data.val.index, data.test.index])
    assert sorted(rows) == sorted(set(range(120)) - {3, 7, 50})
    assert np.array_equal(data.test.y.numpy(), df["label"].to_numpy()[data.test.index].astype(int))


def test_runs_saved_before_the_index_still_read(trained, workspace):
    folder = RunStore(workspace).folder(trained["digits"])
    arrays = folder.read_arrays("predictions.npz")
    np.savez_compressed(folder.path / "predictions.npz", **{k: v for k, v in arrays.items() if "index" not in k})
    p = folder.read_results().predictions
    assert p.index is None and p.val_index is None and len(p.y_true) == len(arrays["y_true"])


def test_a_config_saved_before_the_split_seed_keeps_its_split_drawn_from_its_seed():
    saved = json.loads(make_config("mlp", seed=4).to_json())
    del saved["split_seed"]
    old = RunConfig.from_json(json.dumps(saved))
    assert old.split_seed == -1 and old.split_by == 4
    assert make_config("mlp", seed=4).split_by == 0  # a new run: the split has its own seed
    assert RunConfig.from_json(make_config("mlp", seed=4).to_json()).split_by == 0
