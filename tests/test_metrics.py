"""nnlab's test metrics are scikit-learn's figures (computed in numpy, so a run never imports scikit-learn)."""

import warnings

import numpy as np
import pytest
from sklearn.metrics import (
    balanced_accuracy_score,
    classification_report,
    confusion_matrix,
    mean_absolute_error,
    r2_score,
)

from nnlab.engine.metrics import classification_metrics, regression_metrics


@pytest.mark.parametrize("seed", range(6))
def test_the_classification_figures_are_scikit_learns(seed):
    rng = np.random.default_rng(seed)
    classes = [f"c{i}" for i in range(int(rng.integers(2, 7)))]
    n = int(rng.integers(5, 300))
    y_true = rng.integers(0, len(classes) - (seed % 2), n)  # odd seeds: the last class never in the truth
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, len(classes), n))
    got = classification_metrics(y_true, y_pred, classes)
    labels = list(range(len(classes)))
    want = classification_report(y_true, y_pred, labels=labels, target_names=classes, output_dict=True, zero_division=0)
    want.pop("accuracy", None)
    assert got["report"].keys() == want.keys()
    for key, row in want.items():
        assert got["report"][key] == pytest.approx(row), key
    assert got["confusion"] == confusion_matrix(y_true, y_pred, labels=labels).tolist()
    assert got["accuracy"] == pytest.approx(float(np.mean(y_true == y_pred)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "y_pred contains classes not in y_true"
        assert got["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y_true, y_pred))


@pytest.mark.parametrize("constant", [False, True])
def test_the_regression_figures_are_scikit_learns(constant):
    rng = np.random.default_rng(3)
    y = np.full(40, 2.0) if constant else rng.normal(size=40)
    pred, naive = y + rng.normal(0, 0.3, 40), np.roll(y, 1)
    got = regression_metrics(y, pred, naive)
    assert got["rmse"] == pytest.approx(np.sqrt(np.mean((y - pred) ** 2)))
    assert got["mae"] == pytest.approx(mean_absolute_error(y, pred))
    assert got["r2"] == pytest.approx(r2_score(y, pred))
    assert got["naive_mae"] == pytest.approx(mean_absolute_error(y, naive))
