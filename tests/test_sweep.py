"""Sweeps end to end on tiny digits MLPs: accounting, pruning, seeds, reproducibility, pause/stop/resume,
re-running failed trials, and recovery from a crash between Optuna's proposal and the store."""

import re
import threading

import pytest

from nnlab.jobs.manager import JobManager
from nnlab.sweeps.driver import SweepDriver, make_spec, open_study, rerun_failed_trials, start_in_thread
from nnlab.sweeps.results import summary, trials_of
from nnlab.sweeps.space import parse_dim
from nnlab.sweeps.store import SweepStore
from tests.helpers import tiny_config, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def manager(store):
    m = JobManager(store, leave_core=False)
    yield m
    m.shutdown()


def new_sweep(store, trials=4, epochs=3, **options):
    base = tiny_config("mlp", epochs=epochs, early_stopping=False)
    dims = [parse_dim("lr", "1e-4:1e-2:log"), parse_dim("batch_size", "32,128")]
    options.setdefault("confirm_top", 0)  # these tests count the trials' own runs
    return SweepStore(store).create(make_spec(base, dims, trials, **options))


def params_of(store, sweep_id):
    return [(t.number, t.params) for t in trials_of(store, SweepStore(store).get(sweep_id))]


def test_every_trial_is_an_ordinary_run_and_pruned_trials_keep_their_curve(manager):
    sweep_id = new_sweep(manager.store, trials=6, epochs=5, pruner="median", strategy="random", seed=3)
    rec = SweepDriver(manager, sweep_id).run()
    out = summary(manager.store, rec)
    assert rec.status == "finished" and out["trials"] == 6
    assert out["finished"] + out["pruned"] + out["failed"] == 6 and out["pruned"] >= 1
    runs = manager.store.list(sweep_id=sweep_id)
    assert sorted(r.trial for r in runs) == list(range(6))
    for r in runs:
        assert r.status in ("finished", "pruned") and len(manager.store.metrics(r.run_id)) == r.epochs_done
        if r.status == "pruned":
            assert 2 <= r.epochs_done < 5 and "Pruned after epoch" in r.reason and r.test_value is not None
    best = manager.store.get(out["best_run_id"])
    assert best.best_val_loss == pytest.approx(out["best_value"])
    assert out["best_params"] == {"lr": best.config.lr, "batch_size": best.config.batch_size}


def test_the_same_sweep_proposes_the_same_trials(manager):
    first = new_sweep(manager.store, trials=4, strategy="tpe", seed=7)
    second = new_sweep(manager.store, trials=4, strategy="tpe", seed=7)
    other = new_sweep(manager.store, trials=4, strategy="tpe", seed=8)
    for sweep_id in (first, second, other):
        SweepDriver(manager, sweep_id).run()
    assert params_of(manager.store, first) == params_of(manager.store, second)
    assert params_of(manager.store, first) != params_of(manager.store, other)


def test_a_grid_sweep_runs_every_grid_point_once_and_finishes(manager):
    base = tiny_config("mlp", epochs=1, early_stopping=False)
    dims = [parse_dim("batch_size", "32,128"), parse_dim("dropout", "0.1,0.3")]
    sweep_id = SweepStore(manager.store).create(make_spec(base, dims, 4, strategy="grid", seed=0, confirm_top=0))
    rec = SweepDriver(manager, sweep_id).run()  # Optuna's grid sampler stops the study after its last point
    assert rec.status == "finished" and summary(manager.store, rec)["finished"] == 4
    points = sorted((p["batch_size"], p["dropout"]) for _, p in params_of(manager.store, sweep_id))
    assert points == [(32, 0.1), (32, 0.3), (128, 0.1), (128, 0.3)]


def test_each_trial_runs_its_seeds_and_scores_their_mean(manager):
    sweep_id = new_sweep(manager.store, trials=2, epochs=2, seeds=2, seed=5)
    rec = SweepDriver(manager, sweep_id).run()
    for t in trials_of(manager.store, rec):
        assert [r.config.seed for r in t.runs] == [5, 6]
        assert t.value == pytest.approx(sum(r.best_val_loss for r in t.runs) / 2)
    assert summary(manager.store, rec)["trials"] == 2


def test_a_proposal_the_store_never_saw_is_trained_after_a_crash(manager):
    sweep_id = new_sweep(manager.store, trials=2, epochs=1, seed=1)
    sweeps = SweepStore(manager.store)
    study = open_study(sweeps, sweeps.get(sweep_id))
    asked = study.ask({d.name: d.distribution() for d in sweeps.get(sweep_id).spec.dims})  # then "killed"
    rec = SweepDriver(manager, sweep_id).run()
    trials = trials_of(manager.store, rec)
    assert [t.number for t in trials] == [0, 1] and trials[0].params == asked.params
    assert all(t.state == "finished" and len(t.runs) == 1 for t in trials)


def test_pause_stop_and_resume(manager):
    sweeps = SweepStore(manager.store)
    sweep_id = new_sweep(manager.store, trials=3, epochs=60, seed=2)
    thread = start_in_thread(manager, sweep_id)
    wait_until(lambda: any(r.epochs_done >= 1 for r in manager.store.list(sweep_id=sweep_id)), "an epoch")
    sweeps.request(sweep_id, "stop")
    thread.join(120)
    rec = sweeps.get(sweep_id)
    assert rec.status == "stopped" and [r.status for r in manager.store.list(sweep_id=sweep_id)] == ["stopped"]
    stopped_at = manager.store.list(sweep_id=sweep_id)[0].epochs_done
    thread = start_in_thread(manager, sweep_id)  # resume: the stopped trial continues from its checkpoint
    wait_until(lambda: len(manager.store.list(sweep_id=sweep_id)) == 2, "two runs")
    sweeps.request(sweep_id, "pause")  # no new trials; the running one finishes
    thread.join(240)
    rec = sweeps.get(sweep_id)
    assert rec.status == "paused" and summary(manager.store, rec)["finished"] == 2
    first = manager.store.list(sweep_id=sweep_id)[-1]
    assert [m.epoch for m in manager.store.metrics(first.run_id)] == list(range(1, 61)) and stopped_at < 60
    rec = SweepDriver(manager, sweep_id).run()
    assert rec.status == "finished" and summary(manager.store, rec)["trials"] == 3


def test_failed_trials_run_again(manager, monkeypatch):
    import nnlab.engine.runner

    real, calls = nnlab.engine.runner.load_dataset, []

    def first_call_fails(cfg):
        calls.append(cfg)
        if len(calls) == 1:
            raise ValueError("disk hiccup")
        return real(cfg)

    monkeypatch.setattr(nnlab.engine.runner, "load_dataset", first_call_fails)
    sweep_id = new_sweep(manager.store, trials=3, epochs=1, seed=4)
    rec = SweepDriver(manager, sweep_id).run()
    first = summary(manager.store, rec)
    assert first["failed"] == 1 and first["trials"] == 3
    assert rerun_failed_trials(manager.store, sweep_id) == 1
    rec = SweepDriver(manager, sweep_id).run()
    again = summary(manager.store, rec)
    assert again["trials"] == 3 and again["failed"] == 0 and again["finished"] == 3
    trials = trials_of(manager.store, rec)
    assert trials[-1].params == {"lr": calls[0].lr, "batch_size": calls[0].batch_size}


def test_a_sweep_driven_elsewhere_is_not_driven_twice(manager):
    sweep_id = new_sweep(manager.store, trials=1, epochs=20)
    thread = start_in_thread(manager, sweep_id)
    assert start_in_thread(manager, sweep_id) is thread
    wait_until(lambda: SweepStore(manager.store).get(sweep_id).status == "running", "the sweep to run")
    with pytest.raises(Exception, match="already running"):
        SweepDriver(manager, sweep_id).run()
    SweepStore(manager.store).request(sweep_id, "stop")
    thread.join(60)
    assert not thread.is_alive() and threading.active_count() >= 1


def test_kill_9_mid_sweep_then_resume_ends_with_exactly_the_budget(workspace, store):
    import os
    import signal
    import subprocess
    import sys

    from nnlab.cli.main import main

    args = ["sweep", "--arch", "mlp", "--dataset", "digits", "--hidden-sizes", "32", "--epochs", "8"]
    args += ["--no-early-stopping", "--vary", "lr=1e-4:1e-2:log", "--trials", "3", "--store", str(workspace)]
    args += ["--confirm-top", "0"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "nnlab", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_until(lambda: any(r.epochs_done >= 2 for r in store.list() if r.trial == 1), "trial 1's second epoch", 300)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    store.recover()  # what opening the store does: the dead driver's sweep and run are interrupted
    sweeps = SweepStore(store)
    (rec,) = sweeps.list()
    assert rec.status == "interrupted"
    assert [r.status for r in store.list(sweep_id=rec.sweep_id)] == ["interrupted", "finished"]
    assert main(["sweep", "resume", rec.sweep_id, "--json", "--store", str(workspace)]) == 0
    runs = store.list(sweep_id=rec.sweep_id)
    assert sorted(r.trial for r in runs) == [0, 1, 2] and {r.status for r in runs} == {"finished"}
    resumed = next(r for r in runs if r.trial == 1)
    assert [m.epoch for m in store.metrics(resumed.run_id)] == list(range(1, 9))
    assert summary(store, sweeps.get(rec.sweep_id))["trials"] == 3


def test_a_server_shutdown_mid_sweep_holds_the_running_trial_for_the_resume(store):
    first = JobManager(store, leave_core=False)
    sweeps = SweepStore(store)
    sweep_id = new_sweep(store, trials=2, epochs=60, seed=2)
    thread = start_in_thread(first, sweep_id)
    wait_until(lambda: any(r.epochs_done >= 1 for r in store.list(sweep_id=sweep_id)), "an epoch")
    first.shutdown()  # what the dashboard's exit does: its runs are interrupted, resumable
    thread.join(60)
    rec = sweeps.get(sweep_id)
    assert rec.status == "interrupted" and [t.state for t in trials_of(store, rec)] == ["paused"]
    second = JobManager(store, leave_core=False)
    try:
        rec = SweepDriver(second, sweep_id).run()  # resume: the interrupted trial continues from its checkpoint
    finally:
        second.shutdown()
    runs = store.list(sweep_id=sweep_id)
    assert rec.status == "finished" and sorted(r.trial for r in runs) == [0, 1]
    assert {r.status for r in runs} == {"finished"} and summary(store, rec)["finished"] == 2


def test_a_cli_sweep_ended_by_sigterm_is_interrupted_not_stopped_by_the_user(workspace, store):
    """SIGTERM (a shutdown, a job scheduler's end) is not the user's Stop: the sweep and its running trial end
    interrupted with cause "shutdown", and the sweep resumes from there; Ctrl-C stays the user's Stop."""
    import signal
    import subprocess
    import sys

    from nnlab.core.causes import Cause

    args = ["sweep", "--arch", "mlp", "--dataset", "digits", "--hidden-sizes", "32", "--epochs", "60"]
    args += ["--no-early-stopping", "--vary", "lr=1e-4:1e-2:log", "--trials", "2", "--store", str(workspace)]
    proc = subprocess.Popen([sys.executable, "-m", "nnlab", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: any(r.epochs_done >= 1 for r in store.list()), "the first epoch", 300)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    (rec,) = SweepStore(store).list()
    assert rec.status == "interrupted" and "told to end" in rec.reason, (rec.status, rec.reason, err[-500:])
    (run,) = store.list(sweep_id=rec.sweep_id)
    assert (run.status, run.cause) == ("interrupted", Cause.SHUTDOWN) and "Stopped by the user" not in run.reason
    assert [t.state for t in trials_of(store, rec)] == ["paused"]  # it resumes with the sweep


@pytest.mark.slow
def test_the_sweeps_closing_line_reads_as_trains_does(workspace, capsys):
    """Without --json a sweep ended 'best_value=0.07361263781785965  best_params={'lr': 0.0035028614325694246,
    ...}', a Python dict in full digits, where train's line gives 4 digits: it now reads 'best_params=lr 0.0001'."""
    from nnlab.cli.main import main

    args = ["sweep", "--arch", "mlp", "--dataset", "digits", "--hidden-sizes", "32", "--epochs", "1", "--trials", "2"]
    args += ["--vary", "lr=1e-4,3.3333e-4", "--strategy", "grid", "--confirm-top", "0", "--store", str(workspace)]
    assert main(args) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert "{" not in line and "headline" not in line and re.search(r"best_params=lr 0\.000(1|3333)\b", line), line
    assert re.search(r"best_value=\d\.\d{1,4}\b(?!\d)", line), line
