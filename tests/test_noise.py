"""Per-example seed noise: flips tagged stable or seed noise, the noise floor, the verdict sentence and the JSON
fields, on stored runs whose predictions a reader can recompute from predictions.npz."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnlab.analysis.comparison import JSON_KEYS, compare, example_tags
from nnlab.analysis.noise import ONE_SEED, SEED_NOISE, STABLE, example_noise, noise_floor
from nnlab.analysis.wording import p_text
from nnlab.cli.main import main
from nnlab.core.facts import TabularFacts
from nnlab.data.registry import make_config
from nnlab.store.runfolder import Predictions
from nnlab.store.runs import RunStore

N, CLASSES = 300, ("no", "yes")
NOISY = np.arange(40, 80)  # rows whose answer each seed draws at random
B_FIXES = np.arange(100, 130)  # rows every seed of A gets wrong and every seed of B right
A_FIXES = np.arange(200, 210)  # the reverse


def _stored_run(store: RunStore, cfg, y_true: np.ndarray, right: np.ndarray, index: np.ndarray) -> str:
    """A finished run whose predictions are right exactly where `right` says (written as training writes them)."""
    run_id = store.create(cfg, status="finished")
    y_pred = np.where(right, y_true, 1 - y_true)
    probs = np.stack([1 - y_pred * 0.8 - 0.1, y_pred * 0.8 + 0.1], axis=1)
    folder = store.folder(run_id)
    folder.write_facts(TabularFacts(classes=CLASSES, features=2))
    report = {"task": "classification", "classes": list(CLASSES), "confusion": [[0, 0], [0, 0]]}
    folder.write_results(report, Predictions(y_true, y_pred, probs=probs, index=index), {"rows": np.zeros((N, 2))})
    store.update(run_id, test_metric="accuracy", test_value=float(right.mean()))
    return run_id


def _seed_groups(store: RunStore, seeds: int = 3) -> tuple[list[str], list[str]]:
    """A and B: `seeds` runs each of two configs on the same test rows; NOISY rows flip at random between seeds."""
    rng = np.random.default_rng(7)
    y_true, index = rng.integers(0, 2, N), np.sort(rng.choice(5000, N, replace=False))
    ids = {"a": [], "b": []}
    for side, lr in (("a", 1e-3), ("b", 3e-3)):
        for seed in range(seeds):
            right = np.ones(N, bool)
            right[NOISY] = rng.random(len(NOISY)) < 0.5
            right[B_FIXES if side == "a" else A_FIXES] = False
            cfg = make_config("mlp", dataset="digits", lr=lr, seed=seed)
            ids[side].append(_stored_run(store, cfg, y_true, right, index))
    return ids["a"], ids["b"]


def _reader(store: RunStore, run_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(index, rights (k, N)) as anyone recomputes them from each run's predictions.npz."""
    rights, index = [], None
    for run_id in run_ids:
        with np.load(store.folder(run_id).path / "predictions.npz") as z:
            index = z["index"]
            rights.append(z["y_true"] == z["y_pred"])
    return index, np.array(rights)


def test_examples_that_flip_at_random_between_seeds_are_seed_noise_and_the_stable_lists_match_a_reader(store):
    a, b = _seed_groups(store)
    tw = compare(store, ",".join(a), ",".join(b))
    out = tw.to_json()
    assert tuple(out) == JSON_KEYS and out["paired"] is True
    index, ra = _reader(store, a)
    _, rb = _reader(store, b)
    assert out["stable_a_to_b"] == sorted(index[ra.all(0) & ~rb.any(0)].tolist())
    assert out["stable_b_to_a"] == sorted(index[rb.all(0) & ~ra.any(0)].tolist())
    assert set(index[B_FIXES]) <= set(out["stable_b_to_a"]) <= set(index[B_FIXES]) | set(index[NOISY])
    assert set(index[A_FIXES]) <= set(out["stable_a_to_b"]) <= set(index[A_FIXES]) | set(index[NOISY])
    disagree = ~(ra.all(0) | ~ra.any(0)) | ~(rb.all(0) | ~rb.any(0))
    assert out["seed_noise"] == index[disagree].tolist() and set(out["seed_noise"]) <= set(index[NOISY])
    assert len(out["seed_noise"]) >= 30  # 40 coin-flipped rows, six seeds: nearly all disagree somewhere
    pairs = [(x, y) for side in (ra, rb) for i, x in enumerate(side) for y in side[i + 1 :]]
    assert out["noise_floor"] == pytest.approx(np.mean([np.sum(x != y) for x, y in pairs]))
    tags = example_tags(tw)
    assert (tags[NOISY] == SEED_NOISE).sum() >= 30 and set(tags[B_FIXES]) == set(tags[A_FIXES]) == {STABLE}
    assert out["flipped_b_to_a"] == int(np.sum(rb.mean(0) > ra.mean(0)))  # every seed counts, not seed 0
    b_list = tw.flips.b_better
    assert set(tags[b_list[: len(B_FIXES)]]) == {STABLE}  # stable flips first


def test_the_sentence_says_the_difference_against_the_seed_spread_and_the_flips_by_kind(store):
    a, b = _seed_groups(store)
    tw = compare(store, ",".join(a), ",".join(b))
    s = tw.to_json()["sentence"]
    assert s.startswith("B is better: +") and "larger than the seed spread" in s
    n_b, n_a = len(tw.noise.stable_b_to_a), len(tw.noise.stable_a_to_b)
    assert f"{n_b} examples flip toward B in every seed, {n_a} toward A;" in s and n_b >= 30 and n_a >= 10
    assert f"{len(tw.noise.seed_noise)} others flip with the seed alone." in s
    assert tw.to_json()["verdict"] == "B is better"  # the short label stays


def test_with_one_seed_a_side_the_floor_is_unknown_and_two_more_seeds_are_offered(store, workspace, capsys):
    a, b = _seed_groups(store, seeds=1)
    tw = compare(store, a[0], b[0])
    out = tw.to_json()
    assert out["noise_floor"] is None and out["seed_noise"] == [] and out["test"] == "McNemar's chi-square test"
    assert "the seed-noise floor is unknown with one seed on a side" in out["sentence"]
    assert set(example_tags(tw)[B_FIXES]) == {ONE_SEED}
    assert main(["compare", a[0], b[0], "--store", str(workspace)]) == 0
    printed = capsys.readouterr().out
    assert "2 more seeds of each would take" in printed and "--more-seeds 2" in printed
    assert f"p = {p_text(tw.verdict.p_value)} (McNemar" in printed and p_text(3.14e-5) == "3.1e-05"  # not "< 0.001"


def test_a_side_may_list_runs_and_the_cli_json_holds_the_new_fields(store, workspace, capsys):
    a, b = _seed_groups(store, seeds=2)
    assert main(["compare", ",".join(a), ",".join(b), "--json", "--store", str(workspace)]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["a"] == ",".join(a) and out["paired"] is True and isinstance(out["noise_floor"], float)
    assert main(["compare", f"{a[0]},{b[0]}", b[1], "--store", str(workspace)]) == 2  # not seeds of one config
    assert "differ in more than their seed" in capsys.readouterr().err
    assert main(["compare", ",".join(a), a[0], "--store", str(workspace)]) == 2
    assert f"Run {a[0]} is on both sides" in capsys.readouterr().err


def test_forecasters_rank_each_step_by_every_pair_of_seeds():
    a = [np.array([1.0, 1.0, 5.0, 2.0]), np.array([1.5, 3.0, 6.0, 2.5])]  # absolute errors per test step
    b = [np.array([2.0, 2.0, 1.0, 2.2]), np.array([3.0, 0.5, 2.0, 2.1])]
    noise = example_noise("rmse", a, b)
    assert noise.stable_a_to_b.tolist() == [0] and noise.stable_b_to_a.tolist() == [2]
    assert noise.tag.tolist() == [STABLE, SEED_NOISE, STABLE, SEED_NOISE]
    # two seeds of one config disagree about which side is closer: A's at steps 1, 3 (vs b[0]) and 3 (vs b[1]),
    # B's at step 1 (vs a[0]) and nowhere against a[1]
    assert noise_floor("rmse", a, b) == pytest.approx(np.mean([2, 1, 1, 0]))


@pytest.mark.slow
def test_more_seeds_trains_them_and_compares_with_every_seed(trained, workspace, capsys):
    a, b = trained["digits"], trained["digits_b"]
    assert main(["compare", a, b, "--more-seeds", "1", "--json", "--store", str(workspace)]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    sides = [out["a"].split(","), out["b"].split(",")]
    assert [s[0] for s in sides] == [a, b] and [len(s) for s in sides] == [2, 2]
    store = RunStore(workspace)
    assert [store.get(s[1]).config.seed for s in sides] == [1, 1]  # the seed after the group's own
    assert out["paired"] is True and isinstance(out["noise_floor"], float) and "in every seed" in out["sentence"]


def test_the_sentence_counts_one_flip_in_the_singular_and_writes_no_minus_zero():
    # seen: "−0.0 points [−2.2, 2.2]" for two groups with equal means, "1 examples flip toward B in every seed",
    # and "B − A: −0.000 [-0.022, 0.022]" with two kinds of minus on one line
    from types import SimpleNamespace

    from nnlab.analysis.stats import NO_DIFFERENCE, PAIRED_ROWS, Verdict
    from nnlab.analysis.wording import sentence, signed

    v = Verdict("accuracy", 0.956, (0.91, 0.99), 0.956, (0.91, 0.99), -1e-17, (-0.022, 0.022), "t", 1.0,
                NO_DIFFERENCE, PAIRED_ROWS, 0.01)  # fmt: skip
    noise = SimpleNamespace(one_seed=False, stable_b_to_a=[7], stable_a_to_b=[], seed_noise=[3])
    assert sentence(v, noise) == (
        "No difference the test rows can show: +0.0 points [−2.2, 2.2], within the seed spread (1.0); "
        "1 example flips toward B in every seed, 0 toward A; 1 other flips with the seed alone."
    )
    assert signed(lambda x: f"{x:.3f}", -0.0004) == "+0.000" and signed(lambda x: f"{x:.3f}", -0.022, "") == "−0.022"
