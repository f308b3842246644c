"""Seed groups, the two-way comparison engine and the `compare` / `train --seeds` command line."""

import json

import numpy as np
import pytest

from nnlab.analysis.comparison import JSON_KEYS, cell_moves, compare, error_gap_along_series, resolve, score_row
from nnlab.analysis.groups import find_group, group_id, group_key, groups_of, seed_configs
from nnlab.analysis.stats import A_BETTER, B_BETTER, NO_DIFFERENCE, PAIRED_EXAMPLES, PAIRED_ROWS, UNPAIRED
from nnlab.cli.main import main
from nnlab.core.errors import NNLabError
from nnlab.data.registry import make_config
from nnlab.engine.runner import execute
from nnlab.store.runs import RunStore
from tests.helpers import tiny_config


def test_configs_that_differ_only_in_seed_or_environment_share_a_group():
    cfg = tiny_config("mlp")
    same = [cfg.replace(seed=3), cfg.replace(threads=1, device="cpu"), cfg.replace(expert=True)]
    assert all(group_key(c) == group_key(cfg) and group_id(c) == group_id(cfg) for c in same)
    assert group_id(cfg.replace(lr=0.01)) != group_id(cfg) and group_id(cfg).startswith("g-")
    assert [c.seed for c in seed_configs(cfg.replace(seed=4), 3)] == [4, 5, 6]


def _train(store, cfg):
    run_id = store.create(cfg)
    store.claim_queued(run_id)
    rec = execute(store, run_id)
    assert rec.status == "finished", rec.reason
    return run_id


@pytest.mark.slow
def test_series_runs_that_differ_in_how_they_use_a_classical_forecaster_are_compared_step_by_step(store):
    # a residual run rebuilds its true values from the classical base, a blended one from the last value: their
    # last bits differ, and the Compare page called the same test steps "different test rows"
    cfg = make_config("ts-lstm", epochs=2, hidden=32, window=16)
    a, b = _train(store, cfg.replace(classical="blend")), _train(store, cfg.replace(classical="residual"))
    ya, yb = (store.folder(r).read_results().predictions.y_true for r in (a, b))
    assert np.allclose(ya, yb)
    tw = compare(store, a, b)
    assert tw.verdict.pairing == PAIRED_EXAMPLES and tw.pair is not None


def test_two_runs_on_one_split_are_compared_paired_with_mcnemar_and_the_flips_add_up(trained, store):
    a, b = trained["digits"], trained["digits_b"]
    tw = compare(store, a, b)
    out = tw.to_json()
    assert tuple(out) == JSON_KEYS and json.loads(json.dumps(out)) == out
    assert out["test"].startswith("McNemar") and tw.verdict.pairing == PAIRED_EXAMPLES
    pa = store.folder(a).read_results().predictions
    pb = store.folder(b).read_results().predictions
    ra, rb = pa.y_pred == pa.y_true, pb.y_pred == pb.y_true
    assert out["flipped_a_to_b"] == int(np.sum(ra & ~rb)) and out["flipped_b_to_a"] == int(np.sum(rb & ~ra))
    assert out["a_value"] == pytest.approx(ra.mean()) and out["diff"] == pytest.approx(rb.mean() - ra.mean())
    assert out["a_ci"][0] <= out["a_value"] <= out["a_ci"][1] and out["diff_ci"][0] <= out["diff"] <= out["diff_ci"][1]
    assert set(out["config_diff"]) == {"hidden_sizes", "dropout", "lr"}
    assert out["config_diff"]["lr"] == {"a": 0.001, "b": 0.003}
    conf = pb.probs[tw.flips.a_better, pb.y_pred[tw.flips.a_better]]  # B's confidence in its mistakes
    assert np.all(np.diff(conf) <= 0)


def test_the_score_row_gives_each_side_its_test_score_and_marks_the_one_the_verdict_favours(trained, store):
    tw = compare(store, trained["digits"], trained["digits_b"])
    field, a, b = score_row(tw)
    v = tw.verdict
    assert field == "test accuracy"
    assert a.startswith(f"{v.a_value:.3f}") and b.startswith(f"{v.b_value:.3f}")
    marked = {A_BETTER: (True, False), B_BETTER: (False, True), NO_DIFFERENCE: (False, False)}[v.verdict]
    assert (a.endswith(" (better)"), b.endswith(" (better)")) == marked
    swapped = compare(store, trained["digits_b"], trained["digits"])  # the mark follows the run, not the side
    assert score_row(swapped)[1:] == (b, a)


def test_cell_moves_explain_the_confusion_difference(trained, store):
    tw = compare(store, trained["digits"], trained["digits_b"])
    ma, mb = tw.pair
    ca, cb = np.array(ma.results.report["confusion"]), np.array(mb.results.report["confusion"])
    for t in range(10):
        for p in range(10):
            into, out = cell_moves(ma, mb, t, p)
            assert len(into) - len(out) == cb[t, p] - ca[t, p]
            assert np.all(mb.results.predictions.y_pred[into] == p) and np.all(ma.results.predictions.y_pred[out] == p)


@pytest.mark.slow
def test_forecasters_are_compared_by_rmse_and_the_error_gap_runs_along_the_series(trained, store):
    a = trained["series"]
    b = _train(store, store.get(a).config.replace(epochs=1, hidden=32, lr=3e-3))
    tw = compare(store, a, b)
    assert tw.verdict.metric == "rmse" and tw.verdict.test == "paired permutation test"
    t, gap = error_gap_along_series(*tw.pair)
    assert len(t) == len(gap) == len(tw.pair[0].results.predictions.y_true)
    assert len(tw.flips.a_better) == int(np.sum(gap > 0)) and len(tw.flips.b_better) == int(np.sum(gap < 0))


def test_runs_that_cannot_be_compared_are_refused_in_one_sentence(trained, store):
    with pytest.raises(NNLabError, match="classifier and .* a forecaster"):
        compare(store, trained["digits"], trained["series"])
    with pytest.raises(NNLabError, match="neither a run id nor a group id"):
        compare(store, "nope", trained["digits"])
    with pytest.raises(NNLabError, match="no finished run with test results"):
        resolve(store, trained["failed"])


@pytest.mark.slow
def test_a_group_of_seeds_is_compared_on_shared_rows_with_every_seed_against_another(store):
    base = tiny_config("mlp", epochs=2)
    ids_a = [_train(store, c) for c in seed_configs(base, 2)]
    ids_b = [_train(store, c) for c in seed_configs(base.replace(lr=1e-4, epochs=1), 2)]
    groups = {g.group_id: g for g in groups_of(store.list())}
    ga, gb = group_id(base), group_id(base.replace(lr=1e-4, epochs=1))
    assert [r.run_id for r in groups[ga].runs] == ids_a and groups[gb].seeds == (0, 1)
    assert find_group(store.list(), ga[:6]).group_id == ga
    tw = compare(store, gb, ga)
    assert tw.a.is_group and len(tw.a.members) == 2 and tw.verdict.pairing == PAIRED_ROWS  # one split for all
    assert tw.verdict.verdict == B_BETTER and "seed" not in tw.config_diff
    assert tw.to_json()["a"] == gb and ids_b[0] in {m.record.run_id for m in tw.a.members}


def test_cli_compare_prints_the_verdict_and_ends_with_the_json_object(workspace, trained, capsys):
    assert main(["compare", trained["digits"], trained["digits_b"], "--json", "--store", str(workspace)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split(":")[0] in {"B is better", "A is better", "No difference the test rows can show"}
    assert lines[1].startswith("p = ") and "McNemar" in lines[1]
    assert any(line.startswith("Config fields that differ") for line in lines)
    assert "  --hidden-sizes  32 → 64" in lines and not any("hidden_sizes" in line for line in lines[:-1])  # flags
    assert tuple(json.loads(lines[-1])) == JSON_KEYS
    assert main(["compare", "nope", trained["digits"], "--store", str(workspace)]) == 2
    assert "A nope is neither a run id nor a group id" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_train_seeds_creates_one_group_and_prints_its_summary(workspace, capsys):
    args = ["train", "--arch", "mlp", "--dataset", "digits", "--epochs", "1", "--hidden-sizes", "32"]
    assert main([*args, "--seeds", "2", "--seed", "5", "--json", "--store", str(workspace)]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["seeds"] == [5, 6] and len(summary["runs"]) == 2 and summary["statuses"] == ["finished"] * 2
    assert summary["group"] == group_id(make_config("mlp", dataset="digits", epochs=1, hidden_sizes=(32,)))
    assert summary["mean"] == pytest.approx(np.mean(summary["scores"]))
    assert main(["runs", "--groups", "--store", str(workspace)]) == 0
    assert f"group {summary['group']}: 2 runs (seeds 5, 6), test accuracy" in capsys.readouterr().out
    assert main([*args, "--seeds", "0", "--store", str(workspace)]) == 2
    assert "--seeds must be from 1 to 10 (got 0)" in capsys.readouterr().err


@pytest.mark.slow
def test_must_show_a_weak_run_loses_clearly_and_seeds_of_one_config_mostly_tie(workspace, capsys):
    store = ["--store", str(workspace)]
    digits = ["train", "--arch", "mlp", "--dataset", "digits", "--json", *store]
    assert main([*digits, "--epochs", "1", "--lr", "1e-4"]) == 0
    weak = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["run_id"]
    assert main([*digits, "--epochs", "30"]) == 0
    strong = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["run_id"]
    assert main(["compare", weak, strong, "--json", *store]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["verdict"] == B_BETTER and out["p_value"] < 0.01
    assert main([*digits, "--epochs", "30", "--seeds", "3"]) == 0
    group = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (
        len(group["runs"]) == 3 and len({group_id(r.config) for r in map(RunStore(workspace).get, group["runs"])}) == 1
    )
    ties = 0
    for i, j in ((0, 1), (0, 2), (1, 2)):
        assert main(["compare", group["runs"][i], group["runs"][j], "--json", *store]) == 0
        ties += json.loads(capsys.readouterr().out.strip().splitlines()[-1])["verdict"] == NO_DIFFERENCE
    assert ties >= 2


@pytest.mark.slow
def test_must_show_two_seed_groups_of_one_config_show_no_difference_in_at_least_9_of_10_pairs(workspace, capsys):
    store = ["--store", str(workspace)]
    train = ["train", "--arch", "mlp", "--dataset", "digits", "--hidden-sizes", "32", "--epochs", "5"]
    assert main([*train, "--threads", "1", "--seeds", "10", "--json", *store]) == 0
    runs = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["runs"]  # ten seeds, one split
    rng, verdicts = np.random.default_rng(0), []
    for _ in range(10):  # two disjoint groups of three seeds each, drawn anew each time
        pick = rng.permutation(len(runs))
        a, b = (",".join(runs[i] for i in part) for part in (pick[:3], pick[3:6]))
        assert main(["compare", a, b, "--json", *store]) == 0
        out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert out["paired"] is True and out["test"].startswith("t-test over seeds")
        verdicts.append(out["verdict"])
    assert verdicts.count(NO_DIFFERENCE) >= 9, verdicts


@pytest.mark.slow
def test_seeds_that_vary_the_split_are_compared_unpaired_and_say_so(store):
    base = tiny_config("mlp", epochs=1, split_seed=-1)
    a = [_train(store, c) for c in seed_configs(base, 2)]
    b = [_train(store, c) for c in seed_configs(base.replace(lr=3e-3), 2)]
    tw = compare(store, ",".join(a), ",".join(b))
    out = tw.to_json()
    assert tw.verdict.pairing == UNPAIRED and out["paired"] is False and out["stable_a_to_b"] is None
    assert "the sides scored different test rows" in out["sentence"] and tw.pair is None


def test_runs_on_two_files_are_refused_naming_the_files():
    """A user comparing runs on two CSVs read 'was tested on csv and ... on csv': the refusal names the files."""
    from types import SimpleNamespace

    from nnlab.analysis.comparison import _check_comparable

    def side(name: str, path: str) -> SimpleNamespace:
        cfg = make_config("mlp", dataset="csv", data_path=path, label_column="y")
        member = SimpleNamespace(results=SimpleNamespace(task="classification"), record=SimpleNamespace(run_id=name))
        return SimpleNamespace(name=name, config=cfg, members=(member,))

    with pytest.raises(NNLabError, match=r"A was tested on wine\.csv and B on iris\.csv;"):
        _check_comparable(side("A", "/tmp/wine.csv"), side("B", "/tmp/iris.csv"))
    with pytest.raises(NNLabError, match=r"on /a/data\.csv and B on /b/data\.csv;"):
        _check_comparable(side("A", "/a/data.csv"), side("B", "/b/data.csv"))


def test_runs_on_a_file_and_on_its_upload_are_compared(tmp_path):
    """sales.csv trained in the dashboard (kept as uploads/58f12ac11200/sales.csv) and on the command line
    (/data/sales.csv): Compare refused them, 'tested on /tmp/ws/uploads/58f12ac11200/sales.csv and ... on
    /data/sales.csv; a verdict needs runs tested on the same data'. The same bytes are the same data."""
    from io import BytesIO

    from nnlab.analysis.comparison import _check_comparable
    from nnlab.store.space import keep_upload

    given = tmp_path / "data" / "sales.csv"
    given.parent.mkdir()
    given.write_text("a,y\n" + "".join(f"{i},{i % 2}\n" for i in range(40)))
    kept = keep_upload(RunStore(tmp_path / "ws"), "sales.csv", BytesIO(given.read_bytes()))
    _check_comparable(_side("A", str(kept)), _side("B", str(given)))  # no refusal
    given.write_text(given.read_text() + "40,0\n")  # edited since: other data
    with pytest.raises(NNLabError, match="a verdict needs runs tested on the same data"):
        _check_comparable(_side("A", str(kept)), _side("B", str(given)))


def _side(name: str, path: str):
    from types import SimpleNamespace

    cfg = make_config("mlp", dataset="csv", data_path=path, label_column="y")
    member = SimpleNamespace(
        results=SimpleNamespace(task="classification", classes=("0", "1")), record=SimpleNamespace(run_id=name)
    )
    return SimpleNamespace(name=name, config=cfg, members=(member,))


def test_the_cli_writes_the_differing_config_values_as_the_compare_page_does():
    """`compare` printed '--lr 0.0007447144904083078 → 0.0012520653814999472' (a sweep's drawn learning rates) where
    the Compare page shows 0.000744714 → 0.00125207."""
    from types import SimpleNamespace

    from nnlab.analysis.comparison import diff_rows
    from nnlab.views.report_words import config_value

    tw = SimpleNamespace(config_diff={"lr": (0.0007447144904083078, 0.0012520653814999472), "dropout": (0.2, 0.0)})
    assert diff_rows(tw) == [("lr", "0.000744714", "0.00125207"), ("dropout", "0.2", "0")]
    assert [(config_value(k, x), config_value(k, y)) for k, (x, y) in tw.config_diff.items()] == [
        (a, b) for _, a, b in diff_rows(tw)
    ]


@pytest.mark.slow
def test_runs_on_the_same_test_rows_that_read_other_columns_are_compared_paired(store, tmp_path):
    """With and without --keep-ids on one CSV, the same split: compare said 'the sides scored different test rows
    (their splits differ)' and bootstrapped unpaired, since each side's test features (examples' rows) differed.
    Runs are paired by their test rows' original indices where both kept them, by content where one did not."""
    from dataclasses import replace

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    rows = ["id,f0,f1,label", *(f"{i},{rng.normal():.4f},{rng.normal() + c:.4f},{c}" for i, c in enumerate(y))]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    cfg = tiny_config("mlp", dataset="csv", data_path=str(tmp_path / "t.csv"), epochs=2)
    a, b = _train(store, cfg), _train(store, cfg.replace(keep_ids=True))
    tw = compare(store, a, b)
    assert tw.verdict.pairing == PAIRED_EXAMPLES and tw.pair is not None
    assert "different test rows" not in tw.to_json()["sentence"]
    # a run saved before the rows were kept pairs with one after it by what it scored, and only where that agrees
    folder = store.folder(b)
    res = folder.read_results()
    examples = {k: v for k, v in vars(res.examples).items() if v is not None}
    folder.write_results(res.report, replace(res.predictions, index=None, val_index=None), examples)
    assert compare(store, a, b).verdict.pairing == UNPAIRED  # its features differ: nothing else tells its rows
    assert compare(store, _train(store, cfg.replace(seed=1)), a).verdict.pairing == PAIRED_EXAMPLES
