"""Test-set metrics as plain arrays and dicts (scikit-learn does the arithmetic); no display here."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    classification_report,
    confusion_matrix,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
)


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: list[str]) -> dict[str, Any]:
    """Per-class precision/recall/F1/support with macro and weighted averages, accuracy, confusion matrix."""
    labels = list(range(len(classes)))
    report = classification_report(
        y_true, y_pred, labels=labels, target_names=[str(c) for c in classes], output_dict=True, zero_division=0
    )
    report.pop("accuracy", None)
    return {
        "task": "classification",
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "balanced_accuracy": _balanced_accuracy(y_true, y_pred),
        "report": report,
        "confusion": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "classes": [str(c) for c in classes],
    }


def _balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """The mean of the per-class recalls over the classes present in y_true (chance: 1 / classes)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "y_pred contains classes not in y_true" is expected on small test sets
        return float(balanced_accuracy_score(y_true, y_pred))


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray, naive: np.ndarray) -> dict[str, Any]:
    """RMSE, MAE and R² of the model, and RMSE/MAE of the naive last-value forecast for comparison."""
    y_true, y_pred, naive = (np.asarray(a, dtype=np.float64).ravel() for a in (y_true, y_pred, naive))
    return {
        "task": "regression",
        "rmse": float(np.sqrt(mean_squared_error(y_true, y_pred))),
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "r2": float(r2_score(y_true, y_pred)) if len(y_true) > 1 else float("nan"),
        "naive_rmse": float(np.sqrt(mean_squared_error(y_true, naive))),
        "naive_mae": float(mean_absolute_error(y_true, naive)),
    }


def normalize_confusion(matrix: np.ndarray) -> np.ndarray:
    """Rows divided by the true-class count (0 where a class has no test example)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    totals = matrix.sum(axis=1, keepdims=True)
    return np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)


def per_class_f1(metrics: dict[str, Any]) -> dict[str, float]:
    """{class: F1} from a classification_metrics result."""
    return {c: float(metrics["report"][c]["f1-score"]) for c in metrics["classes"]}


def cell_examples(y_true: np.ndarray, y_pred: np.ndarray, probs: np.ndarray, true: int, pred: int) -> np.ndarray:
    """Indices of test examples with this true and predicted class, most confident prediction first."""
    idx = np.flatnonzero((y_true == true) & (y_pred == pred))
    return idx[np.argsort(-probs[idx, pred], kind="stable")]


def test_metric_of(metrics: dict[str, Any]) -> tuple[str, float]:
    """The headline test metric and its value: ("accuracy", higher is better) or ("rmse", lower is better)."""
    if metrics["task"] == "classification":
        return "accuracy", metrics["accuracy"]
    return "rmse", metrics["rmse"]
