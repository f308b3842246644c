"""Confident learning finds injected label flips, leaves clean labels alone, and ranks the worst first."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from nnlab.analysis.label_issues import confident_joint, find_label_issues, thresholds_of


def _flipped(labels: np.ndarray, share: float, classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """labels with `share` of them moved to another class at random, and the rows moved."""
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(labels), int(round(share * len(labels))), replace=False)
    noisy = labels.copy()
    noisy[rows] = (labels[rows] + rng.integers(1, classes, len(rows))) % classes
    return noisy, rows


def _out_of_sample(x: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    model = LogisticRegression(max_iter=500)
    return cross_val_predict(
        model, x, y, cv=StratifiedKFold(5, shuffle=True, random_state=seed), method="predict_proba"
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_finds_injected_flips_with_high_precision_and_recall(seed):
    x, y = make_blobs(900, centers=4, cluster_std=0.8, random_state=seed)
    noisy, rows = _flipped(y, 0.08, 4, seed)
    found = find_label_issues(noisy, _out_of_sample(x, noisy, seed))
    hits = len(set(found.order.tolist()) & set(rows.tolist()))
    assert hits / len(found.order) >= 0.8  # precision
    assert hits / len(rows) >= 0.7  # recall
    assert 0.6 * len(rows) <= found.estimated_errors <= 1.5 * len(rows)


def test_clean_labels_are_barely_flagged():
    x, y = make_blobs(900, centers=4, cluster_std=1.0, random_state=3)
    found = find_label_issues(y, _out_of_sample(x, y, 3))
    assert len(found.order) <= 0.01 * len(y)


def test_most_likely_wrong_comes_first_by_either_ranking():
    labels = np.array([0, 0, 0, 1, 1, 1, 0, 1])
    probs = np.array(
        [[0.9, 0.1], [0.8, 0.2], [0.85, 0.15], [0.1, 0.9], [0.2, 0.8], [0.15, 0.85], [0.05, 0.95], [0.7, 0.3]]
    )
    found = find_label_issues(labels, probs)
    assert found.order.tolist() == [6, 7]  # p(given) 0.05 before 0.3
    by_margin = find_label_issues(labels, probs, rank_by="normalized_margin")
    assert by_margin.order.tolist() == [6, 7]
    assert found.suggested[6] == 1 and found.self_confidence[6] == pytest.approx(0.05)


def test_an_example_the_model_agrees_with_is_never_flagged():
    labels = np.array([0, 0, 1, 1, 1])
    probs = np.array([[0.6, 0.4], [0.9, 0.1], [0.45, 0.55], [0.2, 0.8], [0.1, 0.9]])
    found = find_label_issues(labels, probs)
    assert not found.flagged[(probs.argmax(1) == labels)].any()


def test_thresholds_and_the_calibrated_joint():
    labels = np.array([0, 0, 1, 1])
    probs = np.array([[0.8, 0.2], [0.6, 0.4], [0.3, 0.7], [0.1, 0.9]])
    t = thresholds_of(labels, probs)
    assert t.tolist() == pytest.approx([0.7, 0.8])
    joint = confident_joint(labels, probs, t)
    assert joint.sum(1).tolist() == pytest.approx([2, 2])  # each row holds its label's count
    assert np.trace(joint) == pytest.approx(4)  # every confident example agrees with its label


def test_a_class_no_example_has_gets_no_threshold_and_flags_nothing_there():
    labels = np.array([0, 0, 0, 1, 1, 1])
    probs = np.array(
        [[0.8, 0.1, 0.1], [0.7, 0.2, 0.1], [0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.2, 0.7, 0.1], [0.1, 0.6, 0.3]]
    )
    found = find_label_issues(labels, probs)
    assert np.isinf(found.thresholds[2]) and len(found.order) == 0
