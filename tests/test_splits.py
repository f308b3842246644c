"""nnlab's split draws are scikit-learn's (so runs recorded before keep their rows), without importing it."""

import subprocess
import sys

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from nnlab.data.splits import train_test_indices


@pytest.mark.parametrize("seed", [0, 1, 7, 42, 2**31 - 1])
@pytest.mark.parametrize("n,classes,test_size", [(1797, 10, 0.15), (200, 3, 0.1765), (57, 4, 0.3), (1000, 2, 0.5)])
def test_the_split_rows_are_scikit_learns(seed, n, classes, test_size):
    rng = np.random.default_rng(seed % 1000)
    y = rng.integers(0, classes, n)
    y[: classes * 3] = np.repeat(np.arange(classes), 3)  # every class has a few rows
    idx = np.arange(n) + 5
    for strat in (y, None):
        want = train_test_split(idx, test_size=test_size, random_state=seed, stratify=strat)
        got = train_test_indices(idx, test_size, seed, strat)
        assert [a.tolist() for a in got] == [a.tolist() for a in want]


@pytest.mark.slow
def test_splitting_a_dataset_imports_no_scikit_learn():
    code = (
        "import sys; import numpy as np; from nnlab.data.splits import train_test_indices;"
        "train_test_indices(np.arange(90), 0.2, 3, np.arange(90) % 3); print('sklearn' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_the_digits_read_without_scikit_learn_are_its_own():
    from sklearn.datasets import load_digits

    from nnlab.data.builtin import digits_arrays

    images, target = digits_arrays()
    d = load_digits()
    assert np.array_equal(images, d.images) and np.array_equal(target, d.target)
