"""A whole sweep's pre-flight: corners of its space measured, wall time and peak memory, the cores split between
trials at once, and the time left while it runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from nnlab.data.registry import make_config
from nnlab.store.runs import RunStore
from nnlab.sweeps.preflight import SURVIVAL_PRIOR, corners, estimate_sweep, seconds_left, split_cores
from nnlab.sweeps.space import Dim
from nnlab.sweeps.store import SweepSpec, SweepStore


def _spec(**changes) -> SweepSpec:
    base = make_config("mlp", hidden_sizes=(32,), epochs=2, threads=1, early_stopping=False)
    dims = (Dim("lr", 1e-4, 1e-2, log=True), Dim("batch_size", values=(32, 64, 128)))
    return SweepSpec(**{"base": base, "dims": dims, "trials": 4, **changes})


def test_the_corners_are_each_fields_ends_at_most_four_drawn_with_the_seed():
    found = corners(_spec())
    assert {(c.lr, c.batch_size) for c in found} == {(1e-4, 32), (1e-4, 128), (0.01, 32), (0.01, 128)}
    three = _spec(dims=(*_spec().dims, Dim("dropout", 0.1, 0.5)))
    assert len(corners(three)) == 4 and corners(three) == corners(three)  # drawn, the same each time


def test_trials_at_once_split_the_cores_unless_threads_are_given_or_they_go_to_ray():
    cores = os.cpu_count() or 1
    base = make_config("mlp")
    assert split_cores(base, _spec(parallel=1)).threads == 0
    assert split_cores(base, _spec(parallel=2)).threads == max(1, cores // 2)
    assert split_cores(base.replace(threads=3), _spec(parallel=2)).threads == 3
    assert split_cores(base, _spec(parallel=2, executor="ray")).threads == 0


def test_the_sweep_estimate_puts_runs_rounds_and_the_pruners_survival_together():
    est = estimate_sweep(_spec(pruner="median", parallel=2, seeds=2, confirm_top=0))
    assert est.runs == 8 and est.parallel == 2 and est.survival == SURVIVAL_PRIOR["median"]
    assert len(est.corners) == 4 and est.trial_seconds > 0
    assert est.seconds == pytest.approx(4 * est.trial_seconds * SURVIVAL_PRIOR["median"])  # 8 runs, 2 at a time
    assert est.peak_memory_mb == pytest.approx(2 * max(c["memory_mb"] for c in est.corners))
    assert set(est.to_json()) >= {"seconds", "peak_memory_mb"}


def test_the_confirmation_of_the_top_trials_counts_whole_runs_in_the_estimate():
    est = estimate_sweep(_spec(pruner="median", parallel=2, seeds=2, confirm_top=3, confirm_seeds=2))
    assert est.runs == 8 + 6  # the re-runs are not pruned: whole runs, 2 at a time
    assert est.seconds == pytest.approx((4 * SURVIVAL_PRIOR["median"] + 3) * est.trial_seconds)


def test_the_time_left_comes_from_the_runs_that_ended(tmp_path):
    store = RunStore(tmp_path)
    spec = _spec(trials=3, confirm_top=0)
    sweep_id = SweepStore(store).create(spec)
    rec = SweepStore(store).get(sweep_id)
    assert seconds_left(store, rec) is None  # nothing ended, no estimate: unknown
    for seconds in (10.0, 20.0):
        run_id = store.create(spec.base, sweep_id=sweep_id, trial=0)
        store.update(run_id, status="finished", seconds=seconds)
    assert seconds_left(store, rec) == pytest.approx(15.0)  # one run left at the mean of the two


@pytest.mark.slow
def test_the_sweep_dry_run_prints_seconds_and_peak_memory_and_starts_nothing(tmp_path):
    args = ["--arch", "mlp", "--hidden-sizes", "32", "--epochs", "2", "--vary", "lr=1e-4:1e-2:log", "--trials", "3"]
    out = subprocess.run(
        [sys.executable, "-m", "nnlab", "sweep", *args, "--dry-run", "--json", "--store", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    est = json.loads(out.stdout.strip().splitlines()[-1])
    assert est["seconds"] > 0 and est["peak_memory_mb"] > 0 and est["runs"] == 3 + 6  # and the top 3 confirmed
    assert SweepStore(RunStore(tmp_path)).list() == []
