"""The lab decides what an action allows, once, for every front end: one bound on seeds (and on a sweep's trials
at once), one queue for runs started one by one, and a sweep's parallelism confined to its own trials (also when
a fresh dashboard resumes it)."""

from __future__ import annotations

import pytest

from nnlab.cli.main import main
from nnlab.core.errors import NNLabError
from nnlab.core.limits import MAX_PARALLEL, MAX_SEEDS
from nnlab.lab import Lab
from nnlab.sweeps.driver import make_spec
from nnlab.sweeps.space import parse_dim
from tests.helpers import app_at, tiny_config, wait_until

LONG = {"epochs": 200, "early_stopping": False, "threads": 1}  # trains until stopped


@pytest.fixture
def lab(workspace):
    lab = Lab(workspace)
    yield lab
    lab.jobs.stop_all()
    lab.shutdown()


def test_seeds_have_one_bound_in_the_lab_the_cli_and_the_form(lab, workspace, capsys):
    with pytest.raises(NNLabError, match=f"--seeds must be from 1 to {MAX_SEEDS} \\(got {MAX_SEEDS + 1}\\)"):
        lab.start(tiny_config(), seeds=MAX_SEEDS + 1)
    args = ["train", "--arch", "mlp", "--dataset", "digits", "--store", str(workspace)]
    assert main([*args, "--seeds", "1000"]) == 2
    assert f"--seeds must be from 1 to {MAX_SEEDS} (got 1000)" in capsys.readouterr().err
    assert lab.store.list() == []  # refused before anything was recorded
    at = app_at("pages/1_Train.py").run()
    assert at.number_input("tr_seeds").max == MAX_SEEDS


def test_a_sweeps_trials_at_once_and_seeds_have_the_same_bounds_on_the_cli_and_the_sweep_page(workspace, capsys):
    base = ["sweep", "--arch", "mlp", "--dataset", "digits", "--vary", "lr=1e-4:1e-2:log", "--store", str(workspace)]
    assert main([*base, "--parallel", "500"]) == 2
    assert f"Parallel must be at most {MAX_PARALLEL} (got 500)" in capsys.readouterr().err
    assert main([*base, "--seeds", "1000"]) == 2
    assert f"Seeds must be at most {MAX_SEEDS} (got 1000)" in capsys.readouterr().err
    at = app_at("pages/5_Sweep.py").run()
    assert at.number_input("sw_parallel").max == MAX_PARALLEL and at.number_input("sw_seeds").max == MAX_SEEDS


def _sweep(lab: Lab, parallel: int, trials: int = 2) -> str:
    spec = make_spec(tiny_config(**LONG), [parse_dim("lr", "1e-3,3e-3,1e-2")], trials, parallel=parallel, confirm_top=0)
    return lab.start_sweep(spec)


def _running(lab: Lab, sweep_id: str | None = None) -> int:
    return sum(r.status == "running" for r in lab.store.list("running") if r.sweep_id == sweep_id)


@pytest.mark.slow
def test_a_sweeps_trials_at_once_never_reach_the_other_runs(lab):
    sweep_id = _sweep(lab, parallel=2)
    wait_until(lambda: _running(lab, sweep_id) == 2, "both trials of the sweep to train at once")
    first, second = lab.start(tiny_config(**LONG)), lab.start(tiny_config(**LONG))
    wait_until(lambda: lab.store.get(first.run_id).status == "running", "the first run to start")
    assert lab.store.get(second.run_id).status == "queued" and lab.queue_place(second.run_id) == 1
    assert second.place >= 1 and f"number {second.place} in line" in second.message
    assert _running(lab, sweep_id) == 2  # the sweep keeps its own two


@pytest.mark.slow
def test_a_parallel_sweep_resumed_by_a_fresh_dashboard_trains_its_trials_in_parallel(workspace):
    first = Lab(workspace)
    sweep_id = _sweep(first, parallel=2, trials=3)
    wait_until(lambda: _running(first, sweep_id) == 2, "two trials at once")
    first.shutdown()  # the server stops: the sweep and its running trials end interrupted
    wait_until(lambda: first.sweeps.get(sweep_id).status == "interrupted", "the sweep to be interrupted")
    fresh = Lab(workspace)  # a new server: its job manager has never seen this sweep
    try:
        fresh.resume_sweep(sweep_id)
        wait_until(lambda: _running(fresh, sweep_id) == 2, "two trials at once after the resume")
    finally:
        fresh.stop_sweep(sweep_id)
        wait_until(lambda: fresh.sweeps.get(sweep_id).status != "running", "the sweep to stop")
        fresh.shutdown()


def test_a_visitors_sweep_keeps_no_more_runs_at_once_than_a_visitor_may_have(lab, monkeypatch):
    """A visitor of a shared dashboard may have NNLAB_VISITOR_RUNS runs queued or running, but a sweep had no such
    bound: 16 trials at a time with 10 seeds each queued 160 runs. A visitor's sweep is refused, before anything is
    recorded, where its trials at once times their seeds pass what the visitor may still start."""
    monkeypatch.setenv("NNLAB_VISITOR_RUNS", "2")
    spec = make_spec(tiny_config(), [parse_dim("lr", "1e-3,1e-2")], 4, parallel=2, seeds=2, confirm_top=0)
    with pytest.raises(NNLabError, match=r"keeps 4 runs queued or running.* may have 2 at once"):
        lab.start_sweep(spec, visitor="203.0.113.7 via -")
    assert lab.sweeps.list() == [] and lab.store.list() == []
    narrow = make_spec(tiny_config(), [parse_dim("lr", "1e-3,1e-2")], 4, parallel=1, seeds=2, confirm_top=0)
    assert lab.create_sweep(narrow, visitor="203.0.113.7 via -")  # 2 at once: allowed
