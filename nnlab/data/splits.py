"""scikit-learn's train_test_split for row indices, drawn the same way without importing scikit-learn.

Importing sklearn.model_selection costs about a second on a 2-core machine (it loads scipy), more than a
small run's whole training. The draws below are scikit-learn's own (ShuffleSplit and StratifiedShuffleSplit
with a RandomState seeded by the run's seed, scikit-learn 1.x), so every split stays what it was: runs
recorded before keep their test rows and resume on the same data. tests/test_splits.py compares the two.
"""

from __future__ import annotations

import math

import numpy as np


def split_counts(n: int, test_size: float) -> tuple[int, int]:
    """(train rows, test rows) for a test share in (0, 1): the test part rounded up."""
    n_test = math.ceil(test_size * n)
    return n - n_test, n_test


def train_test_indices(
    idx: np.ndarray, test_size: float, seed: int, stratify: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) of the rows idx, as sklearn's train_test_split(idx, test_size, random_state=seed,
    stratify) returns them."""
    n_train, n_test = split_counts(len(idx), test_size)
    rng = np.random.RandomState(seed)
    if stratify is None:
        permutation = rng.permutation(len(idx))
        train, test = permutation[n_test : n_test + n_train], permutation[:n_test]
    else:
        train, test = _stratified(np.asarray(stratify), n_train, n_test, rng)
    return idx[train], idx[test]


def _stratified(y: np.ndarray, n_train: int, n_test: int, rng: np.random.RandomState) -> tuple[np.ndarray, ...]:
    """StratifiedShuffleSplit's first split: each class's rows shuffled, dealt by its share of each part."""
    _, y_indices, class_counts = np.unique(y, return_inverse=True, return_counts=True)
    y_indices = y_indices.reshape(-1)
    if class_counts.min() < 2 or min(n_train, n_test) < len(class_counts):
        raise ValueError("too few rows of a class to split by class")
    class_indices = np.split(np.argsort(y_indices, kind="stable"), np.cumsum(class_counts)[:-1])
    n_i = approximate_mode(class_counts, n_train, rng)
    t_i = approximate_mode(class_counts - n_i, n_test, rng)
    train: list[int] = []
    test: list[int] = []
    for i, rows in enumerate(class_indices):
        shuffled = rows.take(rng.permutation(class_counts[i]), mode="clip")
        train.extend(shuffled[: n_i[i]])
        test.extend(shuffled[n_i[i] : n_i[i] + t_i[i]])
    return rng.permutation(train), rng.permutation(test)


def approximate_mode(class_counts: np.ndarray, n_draws: int, rng: np.random.RandomState) -> np.ndarray:
    """How many of n_draws rows each class gets: its share rounded down, the rest to the largest remainders
    (ties broken at random), as sklearn.utils.extmath._approximate_mode."""
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need = int(n_draws - floored.sum())
    if need > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (inds,) = np.where(remainder == value)
            add_now = min(len(inds), need)
            floored[rng.choice(inds, size=add_now, replace=False)] += 1
            need -= add_now
            if need == 0:
                break
    return floored.astype(int)
