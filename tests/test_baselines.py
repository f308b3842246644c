"""Classical forecasters beside a series run: fit on the training part, one step ahead with their parameters kept,
scored on the run's own test steps, in its report, --json and verdict; and the classical base the network corrects."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from nnlab.analysis.baselines import (
    baseline_rows,
    baseline_test,
    baseline_verdict,
    blend_sentence,
    classical_wins,
)
from nnlab.cli.main import main
from nnlab.core.checks import field_problems
from nnlab.core.errors import NNLabError
from nnlab.core.facts import DataFacts
from nnlab.data import load_dataset
from nnlab.data.classical import baselines, blend_weight, fit_arima, fit_holt_winters, season_of
from nnlab.data.prep import series_levels
from nnlab.data.registry import make_config
from nnlab.engine.predict import Predictor
from nnlab.export import export_problem
from nnlab.models import build_model
from nnlab.store.runfolder import Predictions, Results
from nnlab.store.runs import RunStore


def _seasonal(steps: int = 400, season: int = 12, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(steps)
    return 50 + 0.05 * t + 3 * np.sin(2 * np.pi * t / season) + rng.normal(0, 0.3, steps)


def test_season_is_found_in_the_training_part_and_none_in_noise():
    assert season_of(_seasonal(400, 12)[:300]) == 12
    assert season_of(np.cumsum(np.random.default_rng(1).normal(size=300))) == 0


def test_naive_forecasts_are_the_value_one_step_and_one_season_before():
    values = _seasonal(200, 10)
    b = baselines(values, 150)
    assert b.season == 10
    f = b.forecasts
    assert np.isnan(f["naive"][0]) and np.array_equal(f["naive"][1:], values)  # T + 1: the step after the last too
    assert np.array_equal(f["seasonal_naive"][10:], values[: len(values) + 1 - 10])


@pytest.mark.parametrize("fit", [fit_holt_winters, fit_arima])
def test_a_fit_is_kept_fixed_and_uses_only_the_steps_before(fit):
    values = _seasonal(300, 12)
    model = fit(values[:200], 12)
    whole, start = model.one_step(values), model.one_step(values[:250])
    assert np.allclose(whole[:251], start, equal_nan=True)  # later values never change an earlier forecast
    late = values.copy()
    late[260:] += 100  # the future moves; the forecasts up to step 260 do not
    assert np.allclose(model.one_step(late)[:261], whole[:261], equal_nan=True)
    test = slice(250, 300)
    assert np.sqrt(np.mean((whole[test] - values[test]) ** 2)) < 0.6  # it learned the season (noise sd 0.3)


@pytest.mark.slow
def test_the_baselines_fit_in_seconds_on_two_thousand_steps():
    import time

    start = time.process_time()
    baselines(_seasonal(2000, 50, seed=3), 1500)
    assert time.process_time() - start < 20  # CPU seconds (a seasonal ARIMA at a long season took minutes)


def test_verdict_says_plainly_when_a_classical_model_wins():
    report = {"rmse": 1.0, "baselines": {"naive": 1.5, "arima": 0.8}, "baseline_names": {"arima": "ARIMA(1, 1, 1)"}}
    assert classical_wins(report)
    said = baseline_verdict(report)
    assert said.startswith("The classical ARIMA(1, 1, 1) forecasts these test steps better than this run")
    assert said.endswith("use it, or train with --classical blend or --classical residual, which use it.")
    assert [r.name for r in baseline_rows(report)] == ["arima", "naive"]
    blended = {**report, "blend": {"with": "arima", "label": "ARIMA(1, 1, 1)", "weight": 0.6}}  # the default: say so
    assert "--classical" not in baseline_verdict(blended)
    assert "already mixes ARIMA(1, 1, 1) in at the weight its validation steps chose (the network's 60%)" in (
        baseline_verdict(blended)
    )
    report["rmse"] = 0.5
    assert not classical_wins(report) and baseline_verdict(report).startswith(
        "This run forecasts the test steps better"
    )


def test_a_run_forecasting_several_steps_is_not_told_to_blend_which_works_one_step_ahead_only():
    report = {"rmse": 1.0, "baselines": {"arima": 0.8}, "baseline_names": {"arima": "ARIMA(1, 1, 1)"}, "horizon": 4}
    said = baseline_verdict(report)
    assert "train with --classical blend" not in said and "only where a run forecasts one step ahead" in said
    assert "(--horizon 1)" in said and "forecasts are its network's alone" in said


def test_a_run_forecasting_several_steps_says_its_rmse_in_the_verdict_is_one_step_ahead():
    """--horizon 3 printed 'RMSE 0.9975 against this run's 4.232' beside a test_rmse of 4.743: the classical
    forecasters are scored one step ahead, so the run's first forecast step is; the sentence now says so."""
    names = {"arima": "ARIMA(0, 1, 1)"}
    report = {"rmse": 4.743, "rmse_one_step": 4.232, "baselines": {"arima": 0.9975}, "baseline_names": names}
    said = baseline_verdict({**report, "horizon": 3})
    assert "RMSE 0.9975 against this run's 4.232 one step ahead (76.4% lower; 4.743 over all 3 forecast steps)" in (
        said
    )
    better = baseline_verdict({**report, "rmse_one_step": 0.5, "horizon": 3})
    assert (
        "RMSE 0.5 one step ahead against 0.9975 for the best, ARIMA(0, 1, 1) (49.9% lower; this run's 4.743 over"
        in (better)
    )
    assert "one step ahead" not in baseline_verdict({**report, "rmse_one_step": 4.743, "horizon": 1})


def test_a_run_forecasting_several_steps_is_told_before_training_that_it_will_not_blend():
    said = [f.sentence for f in load_dataset(make_config("ts-lstm", horizon=4)).facts.findings]
    assert any("this run's forecasts will be its network's alone" in s and "--horizon 1" in s for s in said)
    assert not any("alone" in f.sentence for f in load_dataset(make_config("ts-lstm")).facts.findings)


def test_a_blend_that_kept_the_network_alone_is_not_told_it_mixed_a_classical_forecaster_in():
    report = {
        "rmse": 1.0,
        "baselines": {"holt_winters": 0.8},
        "baseline_names": {"holt_winters": "exponential smoothing (Holt-Winters)"},
        "blend": {"with": "holt_winters", "label": "exponential smoothing (Holt-Winters)", "weight": 1.0},
    }
    said = baseline_verdict(report)
    assert "mix" not in said and "kept the network alone" in said


def test_a_blend_that_gave_the_network_no_weight_and_a_tie_are_said_as_they_are():
    # a flat validation part: the classical forecaster alone is best, weight 0 (once shown as "-0%")
    assert str(blend_weight(np.array([1.0, 2.0]), np.array([0.0, 0.0]), np.array([0.0, 0.0]))) == "0.0"
    label = "ARIMA(1, 1, 0)"
    blend = {"with": "arima", "label": label, "weight": 0.0, "val_rmse": {"network": 1.13, "arima": 1.129}}
    report = {"rmse": 0.8612, "baselines": {"arima": 0.8612}, "baseline_names": {"arima": label}}
    said = blend_sentence({**report, "blend": {**blend, "network_rmse": 0.8555}})
    assert said.startswith("The classical ARIMA(1, 1, 0) forecast the validation steps better than the network")
    assert "are those of ARIMA(1, 1, 0);" in said and "0%" not in said
    tie = baseline_verdict({**report, "blend": blend})  # the run's forecasts are the classical one's: not "better"
    assert (
        tie
        == "This run forecasts the test steps as well as the best classical forecaster tried, ARIMA(1, 1, 0): RMSE 0.8612 each."
    )


def test_a_blend_says_it_chose_its_weight_on_the_steps_early_stopping_did_not_watch():
    v = {"network": 0.21, "holt_winters": 0.19}
    blend = {"with": "holt_winters", "label": "exponential smoothing (Holt-Winters)", "weight": 0.35, "val_rmse": v}
    said = blend_sentence({"blend": {**blend, "network_rmse": 0.3, "weight_steps": 10}})
    assert said.startswith("Forecasts blend the network (35%) with exponential smoothing (Holt-Winters) (65%), the mix")
    assert "forecast the validation steps (the last 10, which early stopping did not watch) best, where" in said


def test_a_blended_run_early_stops_on_the_first_half_of_validation_only():
    from nnlab.engine.blend import for_training

    cfg = make_config("ts-lstm", window=8)
    data = load_dataset(cfg)
    watched = for_training(data, cfg).val
    n = len(data.val)
    assert n >= 4 and len(watched) == n // 2
    assert np.array_equal(watched.index, data.val.index[: n // 2])  # the first steps: the weight is chosen on the last
    assert torch.equal(watched.y, data.val.y[: n // 2])
    for alone in (cfg.replace(classical="none"), cfg.replace(horizon=3)):  # no blend: every validation step
        assert for_training(data, alone) is data


def _series_results(actual: np.ndarray, mine: np.ndarray, theirs: np.ndarray | None) -> Results:
    rmse = float(np.sqrt(np.mean((mine - actual) ** 2)))
    theirs_rmse = float(np.sqrt(np.mean((theirs - actual) ** 2))) if theirs is not None else 1.0
    report = {"rmse": rmse, "rmse_one_step": rmse, "baselines": {"arima": theirs_rmse}}
    return Results("r", DataFacts(), report, Predictions(actual[:, None], mine[:, None], classical=theirs))


def test_the_verdict_says_whether_the_gap_to_the_best_classical_forecaster_is_beyond_chance():
    rng = np.random.default_rng(0)
    actual = np.cumsum(rng.normal(size=200))
    theirs = actual + rng.normal(0, 1.0, 200)
    clear = _series_results(actual, actual + rng.normal(0, 2.0, 200), theirs)  # twice the classical error: beyond
    test = baseline_test(clear)
    assert test is not None and test.steps == 200 and test.beyond_chance
    assert "a gap beyond chance over these 200 steps (paired permutation test, p = " in baseline_verdict(
        clear.report, test
    )
    close = _series_results(actual, actual + rng.normal(0, 1.03, 200), theirs)  # about the same error: within
    test = baseline_test(close)
    assert test is not None and not test.beyond_chance
    assert "a gap within chance over these 200 steps" in baseline_verdict(close.report, test)
    assert baseline_test(_series_results(actual, actual, None)) is None  # runs saved before the forecasts were kept


@pytest.mark.slow
def test_every_series_run_reports_baselines_on_its_own_test_steps(trained, workspace):
    store = RunStore(workspace)
    run_id = trained["series"]
    res = store.folder(run_id).read_results()
    report = res.report
    assert set(report["baselines"]) >= {"naive", "holt_winters", "arima"}
    steps, series = res.examples.t, res.examples.series
    cfg = store.get(run_id).config
    b = baselines(series, len(series) - round(len(series) * cfg.test_fraction) - round(len(series) * cfg.val_fraction))
    naive = np.sqrt(np.mean((b.forecasts["naive"][steps] - series[steps]) ** 2))
    assert report["baselines"]["naive"] == pytest.approx(naive) == pytest.approx(report["naive_rmse"])
    best = baseline_rows(report)[0].name  # its test steps' forecasts are kept for the verdict's test
    np.testing.assert_allclose(res.predictions.classical, b.forecasts[best][steps])
    assert baseline_test(res) is not None
    assert store.get(run_id).summary["baselines"] == report["baselines"]


@pytest.mark.slow
def test_train_json_holds_baselines_and_stderr_the_verdict(workspace, capsys):
    code = main(["train", "--arch", "ts-lstm", "--epochs", "1", "--hidden", "32", "--window", "8", "--json"])
    assert code == 0
    out, err = capsys.readouterr()
    said = json.loads(out.strip().splitlines()[-1])
    assert set(said["baselines"]) >= {"naive", "seasonal_naive", "holt_winters", "arima"}
    assert "classical" in err and re.search(r"\(the last \d+, which early stopping did not watch\)", err)  # the blend
    # one epoch of the network alone: the classical forecasters' lead, and whether it is beyond chance
    assert (
        main(["train", "--arch", "ts-lstm", "--epochs", "1", "--hidden", "32", "--window", "8", "--classical", "none"])
        == 0
    )
    err = capsys.readouterr().err
    assert "better than this run" in err and "chance over these" in err  # the gap's test over the run's test steps


@pytest.mark.slow
def test_a_classical_base_is_corrected_and_its_levels_come_back_exactly():
    cfg = make_config("ts-lstm", classical="residual", window=16, hidden=32, epochs=1)
    data = load_dataset(cfg)
    assert data.facts.base in ("holt_winters", "arima") and data.facts.input_shape == (16, 3)
    assert any(f.kind == "base" for f in data.facts.findings)
    y_true, _, naive = series_levels(data, data.test.y.numpy(), np.zeros_like(data.test.y.numpy()))
    steps = data.display["t"]
    assert np.allclose(y_true[:, 0], data.display["series"][steps])  # targets minus the base, added back
    model = build_model(cfg, data.facts)
    with torch.no_grad():
        assert model(data.test.x[:4]).shape == (4, 1)
    predictor = Predictor(cfg, data.facts, model.state_dict())
    assert np.isfinite(predictor.forecast(data.display["series"][:600], 3)).all()


@pytest.mark.slow
def test_the_residual_base_is_the_one_that_validates_better_than_the_last_value():
    data = load_dataset(make_config("ts-lstm", classical="residual", window=16))
    base = [f.sentence for f in data.facts.findings if f.kind == "base"]
    assert data.facts.base == "arima" and "validation steps with RMSE 0.5139 against 0.5408" in base[0]
    for other in ("blend", "none"):
        plain = load_dataset(make_config("ts-lstm", classical=other, window=16))
        assert plain.facts.base == "" and plain.facts.input_shape == (16, 1)


def test_a_residual_is_one_step_only():
    problems = field_problems(make_config("ts-lstm", classical="residual", horizon=3))
    assert any("--classical residual corrects a one-step forecast" in p for p in problems)
    assert not field_problems(make_config("ts-lstm", horizon=3))  # a blend at horizon 3: the network alone


@pytest.mark.slow
def test_a_run_on_a_base_is_refused_by_export_in_one_sentence(tmp_path):
    from nnlab.engine.runner import execute

    store = RunStore(tmp_path / "ws")
    run_id = store.create(make_config("ts-lstm", classical="residual", window=8, hidden=32, epochs=1, threads=1))
    store.claim_queued(run_id)
    assert execute(store, run_id).status == "finished"
    said = export_problem(store, run_id, "script")
    assert said and "--classical none" in said
    with pytest.raises(NNLabError):
        from nnlab.export import export_run

        export_run(store, run_id, "script", tmp_path / "out")


def test_blend_weight_is_the_mix_that_validates_best():
    actual = np.array([1.0, 2.0, 3.0, 4.0])
    assert blend_weight(actual, actual + 1, actual) == 1.0  # the model alone
    assert blend_weight(actual + 1, actual, actual) == 0.0  # the classical forecaster alone
    assert blend_weight(actual + 1, actual - 1, actual) == 0.5  # errors that cancel
    assert blend_weight(actual + 1, actual + 1, actual) == 1.0  # a tie keeps the network alone


@pytest.mark.slow
def test_a_blended_run_blends_as_its_validation_says_and_the_playground_follows(tmp_path):
    from nnlab.engine.runner import execute

    store = RunStore(tmp_path / "ws")
    run_id = store.create(make_config("ts-lstm", classical="blend", window=8, hidden=32, epochs=2, threads=1))
    store.claim_queued(run_id)
    assert execute(store, run_id).status == "finished"
    res = store.folder(run_id).read_results()
    said = res.report["blend"]
    assert said["with"] in ("holt_winters", "arima") and 0.0 <= said["weight"] <= 1.0
    n_val = store.get(run_id).summary["val_size"]  # every validation step stays the run's; the weight saw the last half
    assert said["weight_steps"] == n_val - n_val // 2 and len(res.predictions.val_index) == n_val
    from nnlab.views.report import build_report

    html = build_report(store.get(run_id), res, store.metrics(run_id))  # the report says what each part did
    assert (
        f"the first {n_val // 2} for early stopping, learning rate, the last {said['weight_steps']} for the blend"
        in html
    )
    p = res.predictions
    assert res.report["rmse"] == pytest.approx(np.sqrt(np.mean((p.y_pred - p.y_true) ** 2)))
    assert res.facts.blend == said["with"] and res.facts.blend_weight == said["weight"]
    predictor = Predictor.from_run(store.folder(run_id), store.get(run_id).config)
    first = res.examples.t[0]  # the classical part is fit again on the history given: close, not equal
    assert predictor.predict_window(res.examples.series[:first])[0] == pytest.approx(p.y_pred[0, 0], rel=0.05)
    assert said["weight"] < 1  # two epochs of a small network: the classical forecaster takes a share
    assert "--classical none" in export_problem(store, run_id, "script")  # the training script trains the network alone


@pytest.mark.slow
def test_a_blended_runs_exported_model_forecasts_like_the_playground(tmp_path):
    """Series runs blend by default: the model export carries the blend (preprocessing.json says it, predict.py
    fits the classical forecaster with statsmodels as the Playground does) instead of a refusal."""
    import pandas as pd

    from nnlab.engine.runner import execute
    from nnlab.export import export_run
    from tests.helpers import isolated

    store = RunStore(tmp_path / "ws")
    cfg = make_config("ts-lstm", window=8, hidden=32, epochs=2, threads=1)
    assert cfg.classical == "blend"  # the default
    run_id = store.create(cfg)
    store.claim_queued(run_id)
    assert execute(store, run_id).status == "finished"
    res = store.folder(run_id).read_results()
    weight = res.report["blend"]["weight"]
    assert weight < 1
    export_run(store, run_id, "torch-export", tmp_path / "model")
    facts = json.loads((tmp_path / "model" / "preprocessing.json").read_text())
    assert facts["blend"]["with"] == res.facts.blend and facts["blend"]["weight"] == weight
    assert "statsmodels" in (tmp_path / "model" / "README.md").read_text()
    history = res.examples.series[: res.examples.t[0]]  # the series up to the first test step
    pd.DataFrame({"value": history}).to_csv(tmp_path / "history.csv", index=False)
    out = isolated(["predict.py", str(tmp_path / "history.csv")], tmp_path / "model")
    assert out.returncode == 0, out.stderr[-2000:]
    predictor = Predictor.from_run(store.folder(run_id), cfg)
    playground = predictor.predict_window(history)
    np.testing.assert_allclose(json.loads(out.stdout), playground, rtol=1e-6)
    gappy = history.copy()
    gappy[100] = np.nan  # an empty row long before the window: the classical fit reads the whole column
    pd.DataFrame({"value": gappy}).to_csv(tmp_path / "gappy.csv", index=False)
    out = isolated(["predict.py", str(tmp_path / "gappy.csv")], tmp_path / "model")
    assert out.returncode == 0, out.stderr[-2000:]  # filled in time, as training and the Playground fill it
    filled = pd.Series(gappy).interpolate().to_numpy()
    np.testing.assert_allclose(json.loads(out.stdout), predictor.predict_window(filled), rtol=1e-6)
    assert "Traceback" not in out.stderr


def test_a_config_saved_before_blending_was_the_default_keeps_the_network_alone():
    from nnlab.core.config import RunConfig

    cfg = make_config("ts-lstm")
    assert RunConfig.from_json(cfg.to_json()).classical == "blend"  # saved now: the default, kept
    old = json.loads(cfg.to_json())
    del old["classical"]  # as a workspace from before the field wrote it
    assert RunConfig.from_json(json.dumps(old)).classical == "none"  # resumed, it forecasts as it did


def test_a_refit_on_the_same_values_is_kept_and_other_values_fit_again():
    """The Playground refits a blended run's forecaster on every rerun (a slider move): the same values, one fit."""
    from nnlab.data.classical import refit

    values = _seasonal(300, 12)
    first = refit("arima", values, 12)
    assert refit("arima", values.copy(), 12) is first
    other = refit("arima", values + 1.0, 12)
    assert other is not first and other.one_step(values + 1.0)[-1] == pytest.approx(
        first.one_step(values)[-1] + 1, abs=0.5
    )


@pytest.mark.parametrize("arch", ["mlp", "lstm"])
def test_a_classifier_early_stops_on_its_whole_validation_split(store, arch):
    """A blend is a series run's: a classifier (whose config keeps the default --classical blend) watches every
    validation example, as its report and exported train.py say (it watched the first half)."""
    from nnlab.engine.runner import execute
    from nnlab.engine.train import Callback
    from tests.helpers import tiny_config

    class Watched(Callback):
        def on_fit_start(self, trainer) -> None:
            self.seen = len(trainer.val_split)

    run_id = store.create(tiny_config(arch, epochs=1))
    assert store.claim_queued(run_id)
    watched = Watched()
    assert execute(store, run_id, callbacks=(watched,)).status == "finished"
    assert watched.seen == store.get(run_id).summary["val_size"] >= 4
