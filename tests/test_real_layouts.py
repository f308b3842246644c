"""Tables and series saved the way people save them: pandas' to_csv with its index, scikit-learn's digits
as a CSV, a `year,value` series, semicolons with decimal commas, blank cells; and what the user is told."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from nnlab.cli.main import main
from nnlab.core.fitted import MIN_STEPS, fit_to_data
from nnlab.core.notes import data_findings
from nnlab.data import load_dataset
from nnlab.data.registry import make_config
from tests.helpers import visible

# --- files in the real layouts ---------------------------------------------------------------------------


def digits_csv(path: Path) -> Path:
    """scikit-learn's digits as its DataFrame saves them: pandas' index, 64 pixel columns, `target`."""
    from sklearn.datasets import load_digits

    load_digits(as_frame=True).frame.to_csv(path)
    return path


def sorted_noise_csv(path: Path, n: int = 300, seed: int = 0) -> Path:
    """Five noise features and three classes, sorted by class and saved with pandas' index (the row number)."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, 5)), columns=[f"f{i}" for i in range(5)])
    df["label"] = np.sort(rng.integers(0, 3, n))
    df.to_csv(path)
    return path


def trend_season_series(steps: int = 600, seed: int = 0) -> np.ndarray:
    """A linear trend plus a 24-step season and noise: the test tail lies above the training range."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps)
    return 0.05 * t + 3 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 0.5, steps)


def year_value_csv(path: Path, values: np.ndarray, start: int = 1400) -> Path:
    """The most common series layout: `year,value`, the year a number."""
    pd.DataFrame({"year": start + np.arange(len(values)), "value": values.round(3)}).to_csv(path, index=False)
    return path


def blank_cells_csv(path: Path, n: int = 400, share: float = 0.05, seed: int = 0) -> Path:
    """Eight informative features with 5% of the cells blank at random, saved with pandas' index."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 8)) + y[:, None]
    x[rng.random(x.shape) < share] = np.nan
    df = pd.DataFrame(x, columns=[f"m{i}" for i in range(8)])
    df["outcome"] = np.where(y, "yes", "no")
    df.to_csv(path)
    return path


def table(path: Path, **cfg):
    return load_dataset(make_config("mlp", dataset="csv", data_path=str(path), **cfg))


def said(ds, kind: str) -> list[str]:
    """The sentences of the data's findings of one kind."""
    return [f.sentence for f in ds.facts.findings if f.kind == kind]


def series(path: Path, **cfg):
    return load_dataset(make_config("ts-lstm", dataset="series-csv", data_path=str(path), **cfg))


def train_json(tmp_path: Path, capsys, *args: str) -> dict:
    code = main(["train", *args, "--json", "--store", str(tmp_path / "store")])
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0, out
    return json.loads(out[-1])


# --- tables ---------------------------------------------------------------------------------------------


def test_pandas_saved_index_is_dropped_with_a_note(tmp_path):
    ds = table(sorted_noise_csv(tmp_path / "noise.csv"))
    assert ds.facts.columns == ("f0", "f1", "f2", "f3", "f4") and ds.facts.input_shape == (5,)
    assert any("'Unnamed: 0'" in n and "row index pandas saves" in n for n in said(ds, "columns"))


def test_id_like_columns_are_left_out_and_label_copying_columns_flagged(tmp_path):
    df = pd.read_csv(sorted_noise_csv(tmp_path / "noise.csv"), index_col=0)
    df.insert(0, "id", np.arange(1000, 1000 + len(df)))
    df["group"] = df["label"].map({0: 17, 1: 4, 2: 9})  # a code of the label
    df.to_csv(tmp_path / "leaky.csv", index=False)
    ds = table(tmp_path / "leaky.csv")
    assert "id" not in ds.facts.columns and "group" in ds.facts.columns
    (ids,), (copy,) = said(ds, "id_column"), said(ds, "label_copy")
    assert "'id'" in ids and "row ID" in ids and "--keep-ids" in ids
    assert "'group'" in copy and "predicts the label 'label'" in copy
    assert [f.kind for f in ds.facts.findings if f.warns] == ["label_copy"]
    assert "id" in table(tmp_path / "leaky.csv", keep_ids=True).facts.columns


def test_honest_columns_are_not_flagged(tmp_path):
    ds = table(digits_csv(tmp_path / "digits.csv"), label_column="target")
    assert [f for f in ds.facts.findings if f.warns] == []


def test_a_feature_constant_in_training_gets_scale_one_as_in_scikit_learn(tmp_path):
    from sklearn.datasets import load_digits
    from sklearn.preprocessing import StandardScaler

    from nnlab.data.base import split_indices

    ds = table(digits_csv(tmp_path / "digits.csv"), label_column="target", split_seed=3)
    raw = pd.read_csv(tmp_path / "digits.csv", index_col=0).drop(columns="target").to_numpy(np.float32)
    constant = np.flatnonzero(np.asarray(ds.facts.scaler.std) == 1.0)
    assert len(constant) >= 2  # pixel_0_0 is always 0; split seed 3 leaves more pixels constant in training
    rows = {tuple(r) for r in raw[:, constant]}
    assert len(rows) > 1  # ...which are not constant in the whole file: the old scale blew them up 1e6-fold
    for split in (ds.val, ds.test):  # raw pixels are 0 to 16: scale 1 keeps them so (1e-6 made them ~1e7)
        assert split.x[:, constant].abs().max() <= 16
    train_rows, _, _ = split_indices(load_digits().target, make_config("mlp", split_seed=3))
    expected = StandardScaler().fit(raw[train_rows])
    assert np.allclose(ds.facts.scaler.std, expected.scale_, rtol=1e-5)
    assert np.allclose(ds.facts.scaler.mean, expected.mean_, rtol=1e-5, atol=1e-6)


def test_blank_cells_are_filled_with_the_training_median_and_counted(tmp_path):
    path = blank_cells_csv(tmp_path / "clinic.csv")
    blanks = int(pd.read_csv(path, index_col=0).isna().sum().sum())
    ds = table(path, label_column="outcome")
    assert len(ds.train) + len(ds.val) + len(ds.test) == 400  # no row dropped (dropping lost ~34% here)
    assert any(n.startswith(f"{blanks} cells in ") and "median" in n for n in said(ds, "missing"))
    assert torch.isfinite(ds.train.x).all() and torch.isfinite(ds.test.x).all()
    dropped = table(path, label_column="outcome", missing="drop")
    assert len(dropped.train) + len(dropped.val) + len(dropped.test) < 300
    assert any("nnlab dropped them" in n for n in said(dropped, "missing"))


def test_semicolons_with_decimal_commas_are_read_as_numbers(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(5, 2, (90, 3)).round(3), columns=["länge", "breite", "höhe"])
    df["sorte"] = np.repeat(["a", "b", "c"], 30)
    df.to_csv(tmp_path / "export.csv", sep=";", decimal=",", index=False)
    first_row = (tmp_path / "export.csv").read_text().splitlines()[1]
    assert first_row.count(";") == 3 and first_row.count(",") == 3  # 5,126;3,4;...
    ds = table(tmp_path / "export.csv", label_column="sorte")
    assert ds.facts.input_shape == (3,)
    assert any("decimal commas" in n for n in said(ds, "numbers"))
    mean = np.asarray(ds.facts.scaler.mean)
    assert np.all((mean > 4) & (mean < 6))  # 5,123 read as 5.123, not 5123 or text


def test_thousands_dots_with_decimal_commas(tmp_path):
    (tmp_path / "money.csv").write_text(
        "betrag;klasse\n" + "".join(f"{1 + i % 9}.{100 + i:03d}.000,5;{'ab'[i % 2]}\n" for i in range(60))
    )
    ds = table(tmp_path / "money.csv", label_column="klasse")
    assert ds.facts.scaler.mean[0] > 1_000_000  # 1.000.000,5 style: dots group thousands


def test_imbalanced_classes_are_flagged_and_class_weights_balance_the_loss(tmp_path):
    from sklearn.utils.class_weight import compute_class_weight

    from nnlab.engine.train import balanced_weights

    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(270, int), np.ones(30, int)]
    pd.DataFrame({"x": rng.normal(size=300) + y, "y": y}).to_csv(tmp_path / "rare.csv")
    ds = table(tmp_path / "rare.csv", label_column="y")
    assert any("imbalanced" in w and "class weights" in w for w in said(ds, "imbalance"))
    w = balanced_weights(ds.train.y, 2).numpy()
    assert w == pytest.approx(compute_class_weight("balanced", classes=np.arange(2), y=ds.train.y.numpy()))
    assert w[1] > 5 * w[0]


# --- series ---------------------------------------------------------------------------------------------


def test_a_numeric_year_column_is_the_time_axis_not_an_input(tmp_path):
    ds = series(year_value_csv(tmp_path / "yearly.csv", trend_season_series(300)))
    assert ds.facts.columns == ("value",) and ds.facts.input_shape == (32, 1)
    assert ds.facts.time == "year"
    assert "'year' is the time axis, not an input; inputs: 'value'" in ds.facts.findings[0].sentence


def test_a_newest_first_date_column_orders_the_rows(tmp_path):
    values = trend_season_series(300)
    dates = pd.date_range("2020-01-01", periods=300, freq="D").strftime("%d.%m.%Y")
    pd.DataFrame({"Datum": dates, "Wert": values}).iloc[::-1].to_csv(tmp_path / "daily.csv", index=False)
    ds = series(tmp_path / "daily.csv")
    assert any("nnlab sorted them" in n for n in said(ds, "series"))
    assert np.allclose(ds.display["series"], values)


def test_a_single_evenly_stepped_column_is_still_the_series(tmp_path):
    pd.DataFrame({"count": np.arange(200) * 3.0}).to_csv(tmp_path / "ramp.csv", index=False)
    assert series(tmp_path / "ramp.csv", window=8).facts.columns == ("count",)


def test_missing_series_values_are_interpolated_in_time(tmp_path):
    values = trend_season_series(300)
    holes = values.copy()
    holes[[40, 41, 150]] = np.nan
    year_value_csv(tmp_path / "gaps.csv", holes)
    ds = series(tmp_path / "gaps.csv")
    assert any(n.startswith("3 values of gaps.csv were missing") for n in said(ds, "missing"))
    assert len(ds.display["series"]) == 300  # no time step dropped
    assert ds.display["series"][40] == pytest.approx(values[39] + (values[42] - values[39]) / 3, abs=1e-3)


def test_windows_16_and_32_are_scored_on_the_same_test_steps(tmp_path):
    path = year_value_csv(tmp_path / "yearly.csv", trend_season_series(600))
    a, b = series(path, window=16), series(path, window=32)
    assert np.array_equal(a.display["t"], b.display["t"]) and len(a.display["t"]) == 90  # 15% of 600
    assert torch.equal(a.test.y, b.test.y) or np.allclose(a.test.y.numpy(), b.test.y.numpy(), atol=1e-6)


def test_zero_output_is_the_naive_forecast_and_targets_stay_in_range(tmp_path):
    ds = series(year_value_csv(tmp_path / "yearly.csv", trend_season_series(600)))
    assert torch.all(ds.train.x[:, -1] == 0)  # each window relative to its last value
    assert ds.test.y.abs().max() < 3 * ds.train.y.abs().max()  # a trend leaving the range stays in range


# --- defaults fitted to the data ------------------------------------------------------------------------


def test_small_data_gets_a_smaller_batch_and_enough_steps_large_data_the_reference_defaults():
    small = fit_to_data(make_config("mlp"), 225)
    assert small.batch_size == 16 and small.epochs * 15 >= MIN_STEPS
    large = fit_to_data(make_config("mlp"), 50_000)
    assert (large.batch_size, large.epochs) == (64, 20)
    typed = fit_to_data(make_config("mlp", batch_size=64, epochs=20), 225)
    assert (typed.batch_size, typed.epochs) == (64, 20)  # what the user gave is kept


def test_the_fitted_values_are_told_and_the_config_keeps_what_was_given(tmp_path):
    cfg = make_config("mlp", dataset="csv", data_path=str(sorted_noise_csv(tmp_path / "n.csv")))
    assert (cfg.batch_size, cfg.epochs) == (0, 0)  # "fit to the data", as given
    facts = load_dataset(cfg).facts
    notes = [f.sentence for f in data_findings(facts, cfg, 225) if f.kind == "fitted"]
    assert any(n.startswith("Batch size fitted to the data: 16") for n in notes)
    assert any(
        n.startswith("Epochs fitted to the data: up to 72") for n in notes
    )  # 1,000 steps of 14 (225 = 14 x 16 + 1)
    assert not [f for f in data_findings(facts, cfg.replace(batch_size=32, epochs=10), 225) if f.kind == "fitted"]


# --- Must show: whole runs ------------------------------------------------------------------------------


@pytest.mark.slow
def test_noise_sorted_by_class_and_saved_with_its_index_scores_chance(tmp_path, capsys):
    path = sorted_noise_csv(tmp_path / "noise.csv")
    s = train_json(tmp_path, capsys, "--arch", "mlp", "--dataset", "csv", "--data", str(path), "--seed", "0")
    assert s["test_accuracy"] <= 0.5  # chance is 1/3; with the index as a feature it scored 0.91


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(5))
def test_digits_saved_as_csv_score_like_scikit_learn(tmp_path, capsys, seed):
    path = digits_csv(tmp_path / "digits.csv")
    args = ["--arch", "mlp", "--dataset", "csv", "--data", str(path), "--label-column", "target"]
    s = train_json(tmp_path, capsys, *args, "--seed", str(seed))
    assert s["test_accuracy"] >= 0.95


@pytest.mark.slow
def test_a_trending_seasonal_series_beats_the_naive_forecast_with_default_settings(tmp_path, capsys):
    path = year_value_csv(tmp_path / "yearly.csv", trend_season_series(600))
    s = train_json(tmp_path, capsys, "--arch", "ts-lstm", "--dataset", "series-csv", "--data", str(path))
    assert s["test_rmse"] < 0.9 * s["naive_rmse"]


@pytest.mark.slow
def test_class_weights_raise_the_balanced_accuracy_of_an_imbalanced_table(tmp_path, capsys):
    rng = np.random.default_rng(1)
    y = np.r_[np.zeros(2850, int), np.ones(150, int)]  # 19 to 1: about 22 of the rare class in the test split
    x = rng.normal(size=(3000, 4)) + 0.8 * y[:, None]
    pd.DataFrame(x).assign(label=y).to_csv(tmp_path / "rare.csv", index=False)
    args = ["--arch", "mlp", "--dataset", "csv", "--data", str(tmp_path / "rare.csv"), "--hidden-sizes", "32"]
    plain = train_json(tmp_path, capsys, *args, "--class-weights", "off")
    weighted = train_json(tmp_path, capsys, *args, "--class-weights")  # also the default here (19 to 1: automatic)
    assert weighted["test_balanced_accuracy"] > plain["test_balanced_accuracy"] + 0.05


# --- what the user is told: the form's preview, the run's page, the Results page and the report ----------

PAGES = Path(__file__).resolve().parents[1] / "pages"


def _boxes(at) -> str:
    """The info and warning boxes' text as a user reads it (their markdown escapes names: md())."""
    return visible("\n".join(e.value for e in [*at.info, *at.warning]))


def test_the_upload_preview_says_what_was_done_and_what_looks_wrong(fresh_caches):
    from streamlit.testing.v1 import AppTest

    rng = np.random.default_rng(0)
    noise = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    noise["label"] = np.sort(rng.integers(0, 3, 300))
    noise["code"] = noise["label"] * 7 + 1  # gives the label away
    at = AppTest.from_file(str(PAGES / "1_Train.py"), default_timeout=60).run()
    at.selectbox("tr_dataset").set_value("csv").run()
    at.file_uploader[0].upload("sorted.csv", noise.to_csv().encode(), "text/csv").run()
    assert not at.exception
    shown = _boxes(at)
    assert "'Unnamed: 0'" in shown and "row index pandas saves" in shown
    assert "'code'" in shown and "predicts the label" in shown
    assert "Batch size fitted to the data: 16" in shown
    train, steps = map(int, re.search(r"\((\d+) training examples, (\d+) steps", shown).groups())
    assert {m.label: m.value for m in at.metric}["Steps per epoch"] == str(steps) == str(-(-train // 16))


@pytest.mark.slow
def test_the_run_page_results_page_and_report_repeat_the_notes(tmp_path, capsys, workspace, fresh_caches):
    from nnlab.store.runs import RunStore
    from nnlab.views.report import build_report
    from tests.trained import open_page

    path = sorted_noise_csv(tmp_path / "noise.csv")
    run = ["--arch", "mlp", "--dataset", "csv", "--data", str(path), "--hidden-sizes", "32", "--epochs", "2"]
    code = main(["train", *run, "--json"])  # into the test's workspace ($NNLAB_HOME)
    assert code == 0
    run_id = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["run_id"]
    for page in ("1_Train.py", "2_Results.py"):
        shown = _boxes(open_page(str(PAGES / page), run_id))
        assert "row index pandas saves" in shown and "Batch size fitted to the data: 16" in shown, page
    store = RunStore(workspace)
    rec = store.get(run_id)
    html = build_report(rec, store.folder(run_id).read_results(), store.metrics(run_id))
    store.close()
    assert "Data check" in html and "row index pandas saves" in html
    assert "balanced accuracy" in html
    assert rec.config.batch_size == 0 and rec.summary["batch_size"] == 16  # as given; as fitted


@pytest.mark.slow
def test_fitted_epochs_are_a_ceiling_that_early_stopping_ends_sooner_as_the_readme_says(tmp_path, capsys):
    from sklearn.datasets import load_iris

    readme = (PAGES.parent / "README.md").read_text()
    bullet = readme[readme.index("- batch size and epochs of 0") :].split("\n- ")[0]
    assert "ceiling, not a floor" in bullet and "early" in bullet and "at least 1,000" not in bullet
    load_iris(as_frame=True).frame.to_csv(tmp_path / "iris.csv", index=False)
    args = ["--arch", "mlp", "--dataset", "csv", "--data", str(tmp_path / "iris.csv"), "--label-column", "target"]
    s = train_json(tmp_path, capsys, *args, "--seed", "1")
    (epochs,) = [f["sentence"] for f in s["findings"] if f["sentence"].startswith("Epochs fitted")]
    ceiling = fit_to_data(make_config("mlp"), 112).epochs
    assert f"up to {ceiling}," in epochs and "usually ends the run sooner" in epochs
    assert s["epochs"] < ceiling  # early stopping ended it (iris trained 19 of 143 epochs with seed 1)


def test_the_preview_counts_the_steps_training_takes_where_one_example_would_be_left_over(fresh_caches):
    """600 rows leave 449 to train on in batches of 16: training takes 28 steps (a last batch of one joins the one
    before, for BatchNorm's sake) where the preview and the batch-size note said 29."""
    from streamlit.testing.v1 import AppTest

    from nnlab.data.batches import num_batches

    rng = np.random.default_rng(1)
    table = pd.DataFrame(rng.normal(size=(600, 3)), columns=["x1", "x2", "x3"])
    table["fraud"] = np.where(table["x1"] > 1.6, "yes", "no")
    at = AppTest.from_file(str(PAGES / "1_Train.py"), default_timeout=60).run()
    at.selectbox("tr_dataset").set_value("csv").run()
    at.file_uploader[0].upload("fraud.csv", table.to_csv(index=False).encode(), "text/csv").run()
    assert not at.exception
    train, steps = map(int, re.search(r"\((\d+) training examples, (\d+) steps", _boxes(at)).groups())
    assert train % 16 == 1 and steps == num_batches(train, 16) == train // 16
    assert {m.label: m.value for m in at.metric}["Steps per epoch"] == str(steps)
