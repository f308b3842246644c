"""Per-example seed noise of a two-way comparison: which flipped test examples flip because of the config
(stable) and which would flip with any new seed (seed noise), and the seed-noise floor.

Compute only, on runs that scored the same test rows in the same order. For classifiers an example is "won" by
a side's seed when that seed gets it right; for forecasters, a test step is won by whichever of two seeds (one of
A, one of B) has the smaller absolute error there. For each example:

- stable toward B (listed as stable_b_to_a): B wins it against A in every pair of seeds (a classifier: every
  seed of B right, every seed of A wrong); stable toward A the reverse;
- seed noise: the pairs of seeds do not all say the same (a classifier: the seeds of one config disagree);
- with one seed on a side, a flip cannot be told from seed noise: it is tagged ONE_SEED.

The seed-noise floor is how many examples two seeds of the same config disagree on, on average (classifiers:
right against wrong; forecasters: which side is closer, against each seed of the other side).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

STABLE, SEED_NOISE, ONE_SEED = "stable", "seed-noise", "one seed"  # the tags of flipped examples
TAG_ORDER = {STABLE: 0, ONE_SEED: 1, SEED_NOISE: 2}  # how the flipped lists order them: stable first
TOWARD_A, TOWARD_B = -1, 1


@dataclass(frozen=True)
class ExampleNoise:
    """Per test example (positions into the shared test set): how often each side gets it right (or wins it),
    which way it leans, its tag ("" where no pair of seeds flips it), and the seed-noise floor (None below two
    seeds of one config)."""

    index: np.ndarray  # (N,) each example's original row in the data (its position where runs stored none)
    a_share: np.ndarray  # (N,) a classifier: the share of A's seeds right; a forecaster: of seed pairs A wins
    b_share: np.ndarray  # (N,) the same for B
    tag: np.ndarray  # (N,) str
    seeds: tuple[int, int]  # how many seeds of A and of B
    noise_floor: float | None

    @property
    def toward(self) -> np.ndarray:
        """(N,) TOWARD_B where B wins more often, TOWARD_A where A does, 0 where neither."""
        return np.sign(self.b_share - self.a_share).astype(np.int8)

    @property
    def stable_a_to_b(self) -> np.ndarray:
        """Positions A wins in every pair of seeds (a classifier: right in every seed of A, wrong in every of B)."""
        return np.flatnonzero((self.a_share == 1.0) & (self.b_share == 0.0))

    @property
    def stable_b_to_a(self) -> np.ndarray:
        """Positions B wins in every pair of seeds."""
        return np.flatnonzero((self.b_share == 1.0) & (self.a_share == 0.0))

    @property
    def seed_noise(self) -> np.ndarray:
        """Positions on which the seeds of one config disagree."""
        return np.flatnonzero(self.tag == SEED_NOISE)

    @property
    def one_seed(self) -> bool:
        """Whether a side has a single seed: then no flip can be told from seed noise."""
        return min(self.seeds) < 2

    def rows(self, positions: np.ndarray) -> list[int]:
        """Original test rows of some positions, as plain ints (for JSON)."""
        return [int(i) for i in self.index[positions]]


def wins(metric: str, a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(kA, kB, N) booleans: where seed i of A beats seed j of B, and where j beats i. a, b: per seed, (N,) 1/0
    right for accuracy, or absolute errors for rmse."""
    va, vb = np.asarray(a, dtype=np.float64)[:, None, :], np.asarray(b, dtype=np.float64)[None, :, :]
    if metric == "accuracy":
        return (va > 0.5) & (vb < 0.5), (vb > 0.5) & (va < 0.5)
    return va < vb, vb < va


def noise_floor(metric: str, a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> float | None:
    """How many examples two seeds of one config disagree on, on average over every such pair of both sides."""
    counts = []
    for mine, other in ((a, b), (b, a)):
        for i, j in combinations(range(len(mine)), 2):
            if metric == "accuracy":
                counts.append(float(np.sum((mine[i] > 0.5) != (mine[j] > 0.5))))
            else:  # which side is closer, against each seed of the other side
                counts += [float(np.sum((mine[i] < o) != (mine[j] < o))) for o in other]
    return float(np.mean(counts)) if counts else None


def example_noise(
    metric: str, a: Sequence[np.ndarray], b: Sequence[np.ndarray], index: np.ndarray | None = None
) -> ExampleNoise:
    """The per-example tags of A's seeds against B's on shared test rows (see the module's docstring)."""
    a_wins, b_wins = wins(metric, a, b)
    a_share, b_share = a_wins.mean(axis=(0, 1)), b_wins.mean(axis=(0, 1))
    flipped = a_wins.any(axis=(0, 1)) | b_wins.any(axis=(0, 1))
    settled = (a_share == 1.0) | (b_share == 1.0)  # every pair of seeds says the same
    if metric == "accuracy":  # each side's share of seeds right; its seeds may agree and still tie the other side
        right_a, right_b = np.asarray(a) > 0.5, np.asarray(b) > 0.5
        a_share, b_share = right_a.mean(axis=0), right_b.mean(axis=0)
        settled = (right_a.all(0) | ~right_a.any(0)) & (right_b.all(0) | ~right_b.any(0))
    one_seed = min(len(a), len(b)) < 2
    tag = np.where(~flipped, "", np.where(~settled, SEED_NOISE, ONE_SEED if one_seed else STABLE))
    return ExampleNoise(
        np.arange(len(a_share)) if index is None else np.asarray(index),
        a_share,
        b_share,
        tag,
        (len(a), len(b)),
        noise_floor(metric, a, b),
    )
