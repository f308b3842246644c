"""Test-set metrics as plain arrays and dicts; no display here.

The arithmetic is scikit-learn's (classification_report with zero_division=0, balanced accuracy, RMSE, MAE,
R²) written out in numpy: importing sklearn.metrics costs about a second on a 2-core machine, more than a small
run's training. tests/test_metrics.py checks every figure against scikit-learn.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts (true class, predicted class), n_classes x n_classes."""
    flat = np.asarray(y_true, dtype=np.int64) * n_classes + np.asarray(y_pred, dtype=np.int64)
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, 0 where den is 0 (zero_division=0)."""
    num, den = num.astype(np.float64), den.astype(np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def report_of(matrix: np.ndarray, classes: list[str]) -> dict[str, Any]:
    """classification_report(output_dict=True, zero_division=0) of a confusion matrix, without "accuracy"."""
    tp = np.diag(matrix)
    predicted, support = matrix.sum(0), matrix.sum(1)
    precision, recall = _ratio(tp, predicted), _ratio(tp, support)
    f1 = _ratio(2 * tp, predicted + support)
    rows = np.stack([precision, recall, f1])
    out = {str(c): _row(rows[:, i], support[i]) for i, c in enumerate(classes)}
    total = support.sum()
    out["macro avg"] = _row(rows.mean(1), total)
    out["weighted avg"] = _row(rows @ support / total if total else np.zeros(3), total)
    return out


def _row(figures: np.ndarray, support: float) -> dict[str, float]:
    precision, recall, f1 = map(float, figures)
    return {"precision": precision, "recall": recall, "f1-score": f1, "support": float(support)}


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: list[str]) -> dict[str, Any]:
    """Per-class precision/recall/F1/support with macro and weighted averages, accuracy, confusion matrix."""
    matrix = confusion(y_true, y_pred, len(classes))
    return {
        "task": "classification",
        "accuracy": float(np.trace(matrix) / max(matrix.sum(), 1)),
        "balanced_accuracy": balanced_accuracy(matrix),
        "report": report_of(matrix, [str(c) for c in classes]),
        "confusion": matrix.tolist(),
        "classes": [str(c) for c in classes],
    }


def balanced_accuracy(matrix: np.ndarray) -> float:
    """The mean of the per-class recalls over the classes present in the true labels (chance: 1 / classes)."""
    support = matrix.sum(1)
    present = support > 0
    return float((np.diag(matrix)[present] / support[present]).mean()) if present.any() else 0.0


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray, naive: np.ndarray) -> dict[str, Any]:
    """RMSE, MAE and R² of the model, and RMSE/MAE of the naive last-value forecast for comparison."""
    y_true, y_pred, naive = (np.asarray(a, dtype=np.float64).ravel() for a in (y_true, y_pred, naive))
    return {
        "task": "regression",
        "rmse": float(np.sqrt(np.mean((y_true - y_pred) ** 2))),
        "mae": float(np.mean(np.abs(y_true - y_pred))),
        "r2": r2(y_true, y_pred) if len(y_true) > 1 else float("nan"),
        "naive_rmse": float(np.sqrt(np.mean((y_true - naive) ** 2))),
        "naive_mae": float(np.mean(np.abs(y_true - naive))),
    }


def r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """1 - residual / total sum of squares (scikit-learn's r2_score: 1 for a perfect fit of a constant, else 0)."""
    residual = float(((y_true - y_pred) ** 2).sum())
    total = float(((y_true - y_true.mean()) ** 2).sum())
    if total == 0:
        return 1.0 if residual == 0 else 0.0
    return 1 - residual / total


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
