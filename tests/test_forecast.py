"""The pre-flight, closed loop: each run keeps its estimate beside what epoch 1 took, and the workspace's history
of those errors (per device and architecture) calibrates the next estimate."""

from __future__ import annotations

import json

import pytest

from nnlab.core.forecast import Forecast
from nnlab.data.registry import make_config
from nnlab.engine.preflight import Budget, estimate
from nnlab.lab import Lab
from nnlab.store import calibration


def test_the_forecast_says_the_estimate_beside_what_epoch_1_took():
    f = Forecast(41.0, 400.0, 120.0, "cpu (2 threads)", 41.0)
    assert f.sentence() == "estimated 41 s an epoch"
    done = f.with_actual(38.0)
    assert done.sentence() == "estimated 41 s an epoch, took 38 s (−7%)"
    assert done.to_json()["error"] == pytest.approx(-3 / 41, abs=1e-4)
    assert Forecast.from_json(json.loads(json.dumps(done.to_json()))) == done


def test_the_history_keeps_the_last_ratios_per_device_and_architecture(tmp_path):
    assert calibration.factor(tmp_path, "cpu (2 threads)", "mlp") == 1.0
    for real in (1.2, 1.4, 1.3):
        calibration.record(tmp_path, "cpu (2 threads)", "mlp", 1.0, real)
    calibration.record(tmp_path, "cpu (2 threads)", "mlp", 1.0, 40.0)  # a disturbed run: not kept
    assert calibration.ratios(tmp_path, "cpu (2 threads)", "mlp") == [1.2, 1.4, 1.3]
    assert calibration.factor(tmp_path, "cpu (2 threads)", "mlp") == pytest.approx(1.3)
    assert calibration.factor(tmp_path, "cpu (1 thread)", "mlp") == 1.0  # another device: its own history
    assert calibration.factor(tmp_path, "cpu (2 threads)", "cnn") == 1.0


def test_an_estimate_is_scaled_by_its_devices_history(tmp_path):
    cfg = make_config("mlp", hidden_sizes=(32,), epochs=2, threads=1)
    first = estimate(cfg, budget=Budget(max_seconds=0.5), root=tmp_path)
    assert first.calibration == 1.0
    calibration.record(tmp_path, first.device, "mlp", 1.0, 2.0)
    second = estimate(cfg, budget=Budget(max_seconds=0.5), root=tmp_path)
    assert second.calibration == 2.0
    measured = second.seconds_per_epoch / 2.0
    assert 0.2 < measured / first.seconds_per_epoch < 5  # the same steps, timed again


def test_a_run_keeps_its_estimate_beside_epoch_1_and_adds_to_the_history(tmp_path):
    lab = Lab(tmp_path)
    (rec,) = lab.train(make_config("mlp", hidden_sizes=(32,), epochs=2, threads=1))
    forecast = Forecast.of(rec.summary)
    assert forecast is not None and forecast.took is not None and forecast.error is not None
    assert forecast.device == rec.device
    assert len(calibration.ratios(tmp_path, rec.device, "mlp")) == 1
    assert "took" in forecast.sentence()


def test_a_sweeps_trial_does_not_measure_itself(tmp_path):
    lab = Lab(tmp_path)
    cfg = make_config("mlp", hidden_sizes=(32,), epochs=1, threads=1)
    run_id = lab.store.create(cfg, sweep_id="sw-x", trial=0)
    lab.store.claim_queued(run_id)
    from nnlab.engine.runner import execute

    rec = execute(lab.store, run_id)
    assert rec.status == "finished" and Forecast.of(rec.summary) is None


def test_the_command_lines_json_holds_the_estimate_beside_the_actual(tmp_path, capsys, monkeypatch):
    from nnlab.cli.main import main

    monkeypatch.setenv("NNLAB_HOME", str(tmp_path))  # main() points it at --store: put it back afterwards
    assert (
        main(["train", "--arch", "mlp", "--dataset", "digits", "--epochs", "2", "--json", "--store", str(tmp_path)])
        == 0
    )
    out, err = capsys.readouterr()
    summary = json.loads(out.strip().splitlines()[-1])
    est = summary["estimate"]
    assert est["seconds_per_epoch"] > 0 and est["took"] > 0 and "error" in est
    assert "nnlab: estimated" in err and "an epoch" in err


def test_a_run_whose_steps_outrun_its_own_budget_still_measures_two(tmp_path, monkeypatch):
    from dataclasses import replace

    from nnlab.engine import forecasting

    monkeypatch.setattr(forecasting, "IN_RUN", replace(forecasting.IN_RUN, max_seconds=1e-6))  # every step "slow"
    (rec,) = Lab(tmp_path).train(make_config("mlp", hidden_sizes=(32,), epochs=1, threads=1))
    forecast = Forecast.of(rec.summary)
    assert forecast is not None and forecast.seconds_per_epoch > 0  # an LSTM step outran 2 s and got none


@pytest.mark.parametrize(("one_thread", "kept"), [(0.005, 1), (0.0095, 2)])
def test_quick_steps_keep_one_thread_only_where_it_measured_faster(monkeypatch, one_thread, kept):
    import torch

    from nnlab.engine import forecasting
    from nnlab.engine.preflight import Estimate

    def timed(step: float) -> Estimate:
        return Estimate(1, 1, 1.0, 1.0, 2.0, "cpu", step_seconds=step)

    monkeypatch.setattr(forecasting, "estimate", lambda *a, **k: timed(one_thread))
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        cfg = make_config("mlp", threads=0)
        got = forecasting.fewer_threads_if_faster(cfg, None, None, timed(0.01))
        assert torch.get_num_threads() == kept and got.step_seconds == (one_thread if kept == 1 else 0.01)
        torch.set_num_threads(2)
        pinned = forecasting.fewer_threads_if_faster(cfg.replace(threads=2), None, None, timed(0.01))
        assert torch.get_num_threads() == 2 and pinned.step_seconds == 0.01  # --threads given: left alone
    finally:
        torch.set_num_threads(before)
