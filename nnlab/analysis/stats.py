"""Statistics of a two-way comparison: bootstrap intervals, McNemar's test, permutation tests, a verdict.

Compute only: per-example values in, numbers and one small record out. A side is one run (one array of
per-example values) or a group of seeds (one array per run). Per-example values are 1/0 for a correct or
wrong class (the metric is their mean, accuracy) or squared errors (the metric is the root of their mean,
RMSE). scipy does the bootstrap, the binomial and chi-square tails and the permutation tests; only the
bootstrap over seeds and examples together, which scipy lacks, is written here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from nnlab.core.records import higher_is_better

ALPHA = 0.05  # a difference counts when the test's p-value is below this
LEVEL = 0.95  # of every interval
RESAMPLES = 2000
MAX_CELLS = 2_000_000  # resampled values held at once (rows of a bootstrap are drawn in batches)
B_BETTER, A_BETTER, NO_DIFFERENCE = "B is better", "A is better", "no difference the data can show"
PAIRED_EXAMPLES = "paired on the same test examples"
PAIRED_SEEDS = "paired seed by seed on shared test sets"
PAIRED_ROWS = "paired on the same test rows, every seed counted"
UNPAIRED = "unpaired: the sides do not share their test sets seed by seed"


@dataclass(frozen=True)
class Verdict:
    """Each side's metric with its interval, B minus A with its interval, the test, and the verdict."""

    metric: str
    a_value: float
    a_ci: tuple[float, float]
    b_value: float
    b_ci: tuple[float, float]
    diff: float  # B minus A, in the metric's units
    diff_ci: tuple[float, float]
    test: str
    p_value: float
    verdict: str
    pairing: str  # what the difference was paired on (PAIRED_EXAMPLES, PAIRED_ROWS, PAIRED_SEEDS or UNPAIRED)
    seed_spread: float | None = None  # the standard deviation of one seed's metric within a config; None below 2 seeds

    @property
    def paired(self) -> bool:
        """Whether the difference was paired on shared test rows (a run's or every seed's)."""
        return self.pairing != UNPAIRED


def metric_of(metric: str, values: np.ndarray, axis: int = -1) -> np.ndarray | float:
    """Accuracy (mean of 1/0) or RMSE (root of the mean squared error) along axis."""
    mean = np.mean(values, axis=axis)
    return np.sqrt(mean) if metric == "rmse" else mean


def per_example(metric: str, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """1/0 per correct class (accuracy), or each forecast's squared error averaged over its horizon (rmse)."""
    if metric == "accuracy":
        return (np.asarray(y_true) == np.asarray(y_pred)).astype(np.float64)
    err = (np.asarray(y_pred, dtype=np.float64) - np.asarray(y_true, dtype=np.float64)) ** 2
    return err.reshape(len(err), -1).mean(axis=1)


def _batch(n: int) -> int:
    return max(1, MAX_CELLS // max(n, 1))


def _interval(replicates: np.ndarray) -> tuple[float, float]:
    lo, hi = np.quantile(replicates, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    return float(lo), float(hi)


def example_interval(metric: str, values: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """95% percentile bootstrap interval of one run's metric over its test examples (scipy.stats.bootstrap)."""
    values = np.asarray(values, dtype=np.float64)
    if np.ptp(values) == 0:  # every example alike: no spread to resample
        v = float(metric_of(metric, values))
        return v, v
    res = stats.bootstrap(
        (values,),
        lambda x, axis: metric_of(metric, x, axis),
        n_resamples=RESAMPLES,
        batch=_batch(len(values)),
        vectorized=True,
        confidence_level=LEVEL,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def _diff_stat(metric: str):
    return lambda a, b, axis=-1: metric_of(metric, b, axis) - metric_of(metric, a, axis)


def difference_interval(metric: str, a: np.ndarray, b: np.ndarray, paired: bool, seed: int = 0) -> tuple[float, float]:
    """95% bootstrap interval of metric(B) - metric(A): examples resampled together when paired, apart if not."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if paired and np.array_equal(a, b):
        return 0.0, 0.0
    res = stats.bootstrap(
        (a, b),
        _diff_stat(metric),
        n_resamples=RESAMPLES,
        batch=_batch(len(a) + len(b)),
        vectorized=True,
        paired=paired,
        confidence_level=LEVEL,
        method="percentile",
        rng=np.random.default_rng(seed + 1),
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def mcnemar(a_right: np.ndarray, b_right: np.ndarray) -> tuple[str, float]:
    """McNemar's test on paired right/wrong: exact (binomial) under 25 discordant pairs, else chi-square with
    continuity correction. Returns (name, p-value)."""
    a_right, b_right = np.asarray(a_right, dtype=bool), np.asarray(b_right, dtype=bool)
    only_a, only_b = int(np.sum(a_right & ~b_right)), int(np.sum(b_right & ~a_right))
    n = only_a + only_b
    if n == 0:
        return "McNemar's exact test", 1.0
    if n < 25:
        return "McNemar's exact test", float(stats.binomtest(only_a, n, 0.5).pvalue)
    chi = (abs(only_a - only_b) - 1) ** 2 / n
    return "McNemar's chi-square test", float(stats.chi2.sf(chi, df=1))


def permutation_p(metric: str, a: np.ndarray, b: np.ndarray, paired: bool, seed: int = 0) -> float:
    """Two-sided p-value of metric(B) - metric(A) by permutation: A/B swapped within each example when paired
    (scipy's "samples"), examples reassigned between the sides when not ("independent")."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if paired and np.array_equal(a, b):
        return 1.0
    res = stats.permutation_test(
        (a, b),
        _diff_stat(metric),
        permutation_type="samples" if paired else "independent",
        n_resamples=RESAMPLES,
        batch=_batch(len(a) + len(b)),
        vectorized=True,
        alternative="two-sided",
        rng=np.random.default_rng(seed + 2),
    )
    return float(res.pvalue)


def decide(metric: str, diff: float, p_value: float) -> str:
    """The verdict in words: a side is better only when the test's p-value is below ALPHA."""
    if not p_value < ALPHA or diff == 0:
        return NO_DIFFERENCE
    b_wins = diff > 0 if higher_is_better(metric) else diff < 0
    return B_BETTER if b_wins else A_BETTER


def compare_runs(metric: str, a: np.ndarray, b: np.ndarray, paired: bool, seed: int = 0) -> Verdict:
    """Two runs: per-example values of each; paired when both scored the same test examples in the same order.

    Paired classifiers get McNemar's test, paired regressors a paired permutation test; runs on different
    test examples (other splits) an independent permutation test.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    paired = paired and len(a) == len(b)
    av, bv = float(metric_of(metric, a)), float(metric_of(metric, b))
    if paired and metric == "accuracy":
        test, p = mcnemar(a > 0.5, b > 0.5)
    else:
        p = permutation_p(metric, a, b, paired, seed)
        test = "paired permutation test" if paired else "permutation test (independent test sets)"
    return Verdict(
        metric,
        av,
        example_interval(metric, a, seed),
        bv,
        example_interval(metric, b, seed),  # the same draws as A's: a run's interval is the same on either side
        bv - av,
        difference_interval(metric, a, b, paired, seed),
        test,
        p,
        decide(metric, bv - av, p),
        PAIRED_EXAMPLES if paired else UNPAIRED,
    )


# -- groups of seeds: a bootstrap over seeds and, within each, over test examples --------------------------
def _example_replicates(metric: str, values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """RESAMPLES bootstrap values of one run's metric over its examples."""
    n, out = len(values), []
    for start in range(0, RESAMPLES, _batch(n)):
        idx = rng.integers(0, n, (min(_batch(n), RESAMPLES - start), n))
        out.append(metric_of(metric, values[idx], axis=1))
    return np.concatenate(out)


def _paired_replicates(metric: str, a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """RESAMPLES bootstrap values of metric(B) - metric(A) with the examples resampled together."""
    n, out = len(a), []
    for start in range(0, RESAMPLES, _batch(n)):
        idx = rng.integers(0, n, (min(_batch(n), RESAMPLES - start), n))
        out.append(metric_of(metric, b[idx], axis=1) - metric_of(metric, a[idx], axis=1))
    return np.concatenate(out)


def _over_seeds(replicates: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(K seeds, R) per-seed replicates -> R replicates of their mean with the seeds resampled too."""
    k, r = replicates.shape
    pick = rng.integers(0, k, (r, k))
    return replicates[pick, np.arange(r)[:, None]].mean(axis=1)


def group_replicates(metric: str, members: Sequence[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Bootstrap replicates of a group's mean metric: seeds resampled, then each one's test examples."""
    per_seed = np.stack([_example_replicates(metric, np.asarray(m, dtype=np.float64), rng) for m in members])
    return _over_seeds(per_seed, rng)


def _bootstrap_p(replicates: np.ndarray) -> float:
    """Two-sided p-value of "no difference" read off bootstrap replicates of a difference (never exactly 0:
    with R replicates the smallest is 2 / (R + 1))."""
    r = len(replicates)
    below, above = (np.sum(replicates <= 0) + 1) / (r + 1), (np.sum(replicates >= 0) + 1) / (r + 1)
    return float(min(1.0, 2 * min(below, above)))


def compare_groups(
    metric: str,
    a: Sequence[np.ndarray],
    b: Sequence[np.ndarray],
    pairs: Sequence[tuple[int, int]] = (),
    seed: int = 0,
) -> Verdict:
    """Two groups of seeds (a run is a group of one). `pairs` lists (i, j) where a[i] and b[j] scored the same
    test examples: the difference then resamples those pairs and their examples together (paired
    bootstrap); with no pairs the sides are resampled apart. The p-value is read off the same replicates."""
    rng = np.random.default_rng(seed)
    a_vals = [float(metric_of(metric, np.asarray(m, dtype=np.float64))) for m in a]
    b_vals = [float(metric_of(metric, np.asarray(m, dtype=np.float64))) for m in b]
    a_reps, b_reps = group_replicates(metric, a, rng), group_replicates(metric, b, rng)
    if pairs and len(pairs) == len(a) == len(b):
        per_pair = np.stack(
            [_paired_replicates(metric, np.asarray(a[i], float), np.asarray(b[j], float), rng) for i, j in pairs]
        )
        diff_reps = _over_seeds(per_pair, rng)
        diff = float(np.mean([b_vals[j] - a_vals[i] for i, j in pairs]))
        test, pairing = "paired bootstrap over seeds and test examples", PAIRED_SEEDS
    else:
        diff_reps = b_reps - a_reps
        diff = float(np.mean(b_vals) - np.mean(a_vals))
        test, pairing = "bootstrap over seeds and test examples, each side apart", UNPAIRED
    p = _bootstrap_p(diff_reps)
    return Verdict(
        metric,
        float(np.mean(a_vals)),
        side_interval(metric, a, seed),
        float(np.mean(b_vals)),
        side_interval(metric, b, seed),
        diff,
        _interval(diff_reps),
        test,
        p,
        decide(metric, diff, p),
        pairing,
        seed_spread(metric, a, b),
    )


def seed_band(curves: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(K seeds, T epochs) curves with NaN where a seed has no value -> the mean over seeds at each epoch and
    its 95% percentile bootstrap band over seeds (scipy.stats.bootstrap); no band where fewer than two seeds
    reached an epoch or they agree."""
    curves = np.asarray(curves, dtype=np.float64)
    counts = np.sum(~np.isnan(curves), axis=0)
    mean = np.divide(np.nansum(curves, axis=0), counts, out=np.full(curves.shape[1], np.nan), where=counts > 0)
    lo, hi = mean.copy(), mean.copy()
    rng = np.random.default_rng(seed)
    for t in range(curves.shape[1]):
        col = curves[:, t][~np.isnan(curves[:, t])]
        if len(col) > 1 and np.ptp(col) > 0:
            res = stats.bootstrap(
                (col,), np.mean, n_resamples=RESAMPLES, confidence_level=LEVEL, method="percentile", rng=rng
            )
            lo[t], hi[t] = res.confidence_interval.low, res.confidence_interval.high
    return mean, lo, hi


def seed_spread(metric: str, a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> float | None:
    """The pooled standard deviation of one seed's metric within each side (None where no side has two seeds)."""
    sides = [np.array([metric_of(metric, np.asarray(m, dtype=np.float64)) for m in s]) for s in (a, b) if len(s) > 1]
    if not sides:
        return None
    squares = sum(float(np.sum((v - v.mean()) ** 2)) for v in sides)
    return float(np.sqrt(squares / sum(len(v) - 1 for v in sides)))


def seed_t_test(a: Sequence[float], b: Sequence[float]) -> tuple[str, float, tuple[float, float]]:
    """(test, p-value, 95% interval of mean(b) - mean(a)) from each seed's score: Student's t-test with the seed
    spread pooled over both sides (a side with one seed takes the other's). Seeds are the unit: a seed that is
    lucky on many test rows at once counts once, so seed noise cannot pass for a difference; a steady effect
    smaller than the seed spread is a tie within seed noise, also where the sides ran the same seeds."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    df = len(a) + len(b) - 2
    squares = float(np.sum((a - a.mean()) ** 2) + np.sum((b - b.mean()) ** 2))
    se = float(np.sqrt(squares / max(df, 1) * (1 / len(a) + 1 / len(b))))
    diff = float(b.mean() - a.mean())
    test = "t-test over seeds"
    if se == 0:  # every seed alike on both sides: the difference is exact
        return test, 1.0 if diff == 0 else 0.0, (diff, diff)
    half = float(stats.t.ppf((1 + LEVEL) / 2, df)) * se
    return test, float(2 * stats.t.sf(abs(diff) / se, df)), (diff - half, diff + half)


def compare_shared(metric: str, a: Sequence[np.ndarray], b: Sequence[np.ndarray], seed: int = 0) -> Verdict:
    """Two sides whose every seed scored the same test rows in the same order, at least one with two seeds or
    more. Each seed's score on those rows is one observation: the difference of the sides' means, its 95%
    interval and p-value come from a t-test over seeds (see seed_t_test), so the verdict is about the configs,
    not the luck of their seeds, on these rows. Each side's own interval is a
    bootstrap over its seeds and the test rows."""
    va, vb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)  # (k, N)
    a_vals, b_vals = [float(metric_of(metric, v)) for v in va], [float(metric_of(metric, v)) for v in vb]
    test, p, interval = seed_t_test(a_vals, b_vals)
    diff = float(np.mean(b_vals) - np.mean(a_vals))
    return Verdict(
        metric,
        float(np.mean(a_vals)),
        side_interval(metric, va, seed),
        float(np.mean(b_vals)),
        side_interval(metric, vb, seed),
        diff,
        interval,
        test + " (each seed's score on the shared test rows)",
        p,
        decide(metric, diff, p),
        PAIRED_ROWS,
        seed_spread(metric, va, vb),
    )


def group_interval(metric: str, members: Sequence[np.ndarray], seed: int = 0) -> tuple[float, float]:
    """The 95% bootstrap interval of a group's mean metric, over its seeds and each one's test examples."""
    members = [np.asarray(m, dtype=np.float64) for m in members]
    return _interval(group_replicates(metric, members, np.random.default_rng(seed)))


def side_interval(metric: str, members: Sequence[np.ndarray], seed: int = 0) -> tuple[float, float]:
    """The 95% interval of a side's metric (one run, or a group's mean over its seeds), drawn the same way wherever
    the side is shown: as A or as B, against any other side, in a sweep's confirmation."""
    if len(members) == 1:
        return example_interval(metric, members[0], seed)
    return group_interval(metric, members, seed)
