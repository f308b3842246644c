"""nnlab.analysis.stats against hand-computed values, scipy, and simulated data whose truth is known."""

import numpy as np
import pytest
from scipy import stats as sp

from nnlab.analysis import stats


def test_mcnemar_exact_and_chi_square_match_the_textbook_formulas():
    a = np.array([1] * 10 + [0] * 2 + [1] * 50, bool)  # 10 only A right, 2 only B right, 50 both
    b = np.array([0] * 10 + [1] * 2 + [1] * 50, bool)
    name, p = stats.mcnemar(a, b)
    assert name == "McNemar's exact test" and p == pytest.approx(2 * (66 + 12 + 1) / 4096)
    a = np.array([1] * 40 + [0] * 20, bool)
    name, p = stats.mcnemar(a, ~a)
    assert name == "McNemar's chi-square test" and p == pytest.approx(sp.chi2.sf(19**2 / 60, 1))
    assert stats.mcnemar(a, a) == ("McNemar's exact test", 1.0)


def test_example_intervals_cover_the_true_accuracy_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    hits = 0
    for k in range(100):
        values = (rng.random(300) < 0.8).astype(float)
        lo, hi = stats.example_interval("accuracy", values, seed=k)
        hits += lo <= 0.8 <= hi
    assert 0.87 <= hits / 100 <= 1.0


def test_rmse_interval_brackets_the_rmse_and_a_constant_sample_has_no_width():
    rng = np.random.default_rng(1)
    se = rng.normal(0, 2, 500) ** 2
    lo, hi = stats.example_interval("rmse", se)
    assert lo < np.sqrt(se.mean()) < hi and hi - lo < 0.5
    assert stats.example_interval("accuracy", np.ones(50)) == (1.0, 1.0)


def test_two_classifiers_a_clear_gap_is_found_and_identical_runs_are_not():
    rng = np.random.default_rng(2)
    truth = rng.integers(0, 10, 400)
    good = np.where(rng.random(400) < 0.95, truth, (truth + 1) % 10)
    bad = np.where(rng.random(400) < 0.40, truth, (truth + 3) % 10)
    a, b = stats.per_example("accuracy", truth, bad), stats.per_example("accuracy", truth, good)
    v = stats.compare_runs("accuracy", a, b, paired=True)
    assert v.verdict == stats.B_BETTER and v.p_value < 0.01 and v.test.startswith("McNemar")
    assert v.diff == pytest.approx(b.mean() - a.mean()) and v.diff_ci[0] > 0.3
    assert v.a_ci[0] < v.a_value < v.a_ci[1] and v.b_ci[0] < v.b_value <= v.b_ci[1]
    assert stats.compare_runs("accuracy", b, a, paired=True).verdict == stats.A_BETTER
    same = stats.compare_runs("accuracy", a, a, paired=True)
    assert same.verdict == stats.NO_DIFFERENCE and same.p_value == 1.0 and same.diff_ci == (0.0, 0.0)


def test_false_alarms_between_two_equally_good_classifiers_are_rare():
    rng = np.random.default_rng(3)
    alarms = 0
    for _ in range(100):
        a, b = (rng.random(300) < 0.9).astype(float), (rng.random(300) < 0.9).astype(float)
        alarms += stats.mcnemar(a > 0.5, b > 0.5)[1] < stats.ALPHA
    assert alarms <= 10


def test_regressors_lower_rmse_wins_by_paired_permutation_and_unpaired_runs_are_tested_apart():
    rng = np.random.default_rng(4)
    y = rng.normal(size=(200, 1))
    a = stats.per_example("rmse", y, y + rng.normal(0, 1.0, y.shape))
    b = stats.per_example("rmse", y, y + rng.normal(0, 0.5, y.shape))
    v = stats.compare_runs("rmse", a, b, paired=True)
    assert v.verdict == stats.B_BETTER and v.diff < 0 and v.test == "paired permutation test" and v.p_value < 0.01
    u = stats.compare_runs("rmse", a, b[:150], paired=True)  # different lengths cannot be paired
    assert u.pairing == stats.UNPAIRED and u.test.startswith("permutation test (independent")


def test_groups_of_seeds_paired_by_test_set_find_a_real_shift_and_no_shift_where_there_is_none():
    rng = np.random.default_rng(5)

    def seeds(acc, k=3, n=300):
        return [(rng.random(n) < acc + rng.normal(0, 0.005)).astype(float) for _ in range(k)]

    low, high = seeds(0.80), seeds(0.90)
    v = stats.compare_groups("accuracy", low, high, pairs=[(0, 0), (1, 1), (2, 2)])
    assert v.verdict == stats.B_BETTER and v.pairing == stats.PAIRED_SEEDS and v.p_value < 0.01
    assert v.a_ci[0] < v.a_value < v.a_ci[1] and v.diff_ci[0] < v.diff < v.diff_ci[1]
    w = stats.compare_groups("accuracy", seeds(0.85), seeds(0.85))
    assert w.verdict == stats.NO_DIFFERENCE and w.pairing == stats.UNPAIRED and w.diff_ci[0] < 0 < w.diff_ci[1]


def test_a_group_of_one_matches_the_example_bootstrap_of_its_run():
    rng = np.random.default_rng(6)
    values = (rng.random(400) < 0.7).astype(float)
    reps = stats.group_replicates("accuracy", [values], np.random.default_rng(0))
    lo, hi = stats.example_interval("accuracy", values)
    assert abs(np.quantile(reps, 0.025) - lo) < 0.02 and abs(np.quantile(reps, 0.975) - hi) < 0.02


def test_seed_band_is_the_mean_with_a_band_that_grows_with_the_spread_and_skips_missing_epochs():
    curves = np.array([[0.5, 0.7, 0.80], [0.6, 0.8, np.nan], [0.4, 0.9, np.nan]])
    mean, lo, hi = stats.seed_band(curves)
    assert mean == pytest.approx([0.5, 0.8, 0.8])
    assert lo[0] < 0.5 < hi[0] and lo[1] < 0.8 < hi[1] and lo[2] == hi[2] == 0.8
    wide = stats.seed_band(np.array([[0.0], [1.0], [0.5]]))
    narrow = stats.seed_band(np.array([[0.49], [0.51], [0.5]]))
    assert wide[2][0] - wide[1][0] > narrow[2][0] - narrow[1][0]


def _seeds(rng, k: int, n: int = 400, shift: float = 0.0) -> list[np.ndarray]:
    """k seeds' right/wrong on n shared rows: each seed is lucky or unlucky on many rows at once (seed noise)."""
    ease = rng.normal(0.8, 0.15, n)  # how easy each row is
    return [(rng.random(n) < np.clip(ease + rng.normal(shift, 0.03), 0, 1)).astype(float) for _ in range(k)]


@pytest.mark.slow
def test_seed_noise_does_not_pass_for_a_difference_between_groups_on_shared_rows():
    false_alarms = 0
    for i in range(40):  # two groups of one config: every difference is seed noise
        rng = np.random.default_rng(i)
        seeds = _seeds(rng, 6)
        false_alarms += stats.compare_shared("accuracy", seeds[:3], seeds[3:]).verdict != stats.NO_DIFFERENCE
    assert false_alarms <= 4  # 5% of 40 is 2
    rng = np.random.default_rng(99)
    base = _seeds(rng, 3)
    better = [(v + (rng.random(len(v)) < 0.5) * (1 - v)).clip(0, 1) for v in _seeds(rng, 3)]  # right on half its misses
    v = stats.compare_shared("accuracy", base, better)
    assert v.verdict == stats.B_BETTER and v.test.startswith("t-test over seeds") and v.diff_ci[0] > 0


def test_a_steady_gain_smaller_than_the_seed_spread_is_a_tie_and_a_one_seed_side_borrows_the_spread():
    test, p, (lo, hi) = stats.seed_t_test([0.90, 0.80, 0.85], [0.91, 0.81, 0.86])
    assert test == "t-test over seeds" and p > 0.5 and lo < 0 < hi  # +1 point each seed, against a 5-point spread
    _, p_one, _ = stats.seed_t_test([0.90, 0.80, 0.85], [0.99])  # the one seed takes the three's spread
    assert p_one == pytest.approx(2 * sp.t.sf(0.14 / np.sqrt(0.0025 * (1 / 3 + 1)), 2))
    assert stats.seed_t_test([0.9, 0.9], [0.9, 0.9])[1] == 1.0


def test_a_side_has_one_interval_wherever_it_is_shown():
    # seen: one seed group's 95% interval was [0.911, 0.989] as A of `compare`, [0.9167, 0.9944] as B on the
    # Sweep page's confirmation and [0.9167, 0.9889] as that page's best: the draws followed the other side
    rng = np.random.default_rng(5)
    g1, g2, g3 = _seeds(rng, 3, n=90), _seeds(rng, 3, n=90, shift=0.05), _seeds(rng, 2, n=90)
    own = stats.side_interval("accuracy", g2)
    assert stats.compare_shared("accuracy", g1, g2).b_ci == own == stats.compare_shared("accuracy", g2, g1).a_ci
    assert stats.compare_shared("accuracy", g3, g2).b_ci == own
    assert stats.compare_groups("accuracy", g2, g3).a_ci == own == stats.compare_groups("accuracy", g1, g2).b_ci
    run = g1[0]
    alone = stats.side_interval("accuracy", [run])
    assert stats.compare_runs("accuracy", run, g2[0], paired=True).a_ci == alone
    assert stats.compare_runs("accuracy", g3[0], run, paired=True).b_ci == alone
    assert stats.compare_shared("accuracy", [run], g2).a_ci == alone
