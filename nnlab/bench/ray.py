"""`python -m nnlab bench --ray`: what the Ray executor costs and gains, side by side with the local one in one
process: the wall time of a short run submitted to each, and of a 4-trial sweep trained one after another
here against two at a time on Ray."""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

from nnlab.core.placement import Placement, default_address
from nnlab.data.registry import make_config
from nnlab.jobs.manager import JobManager
from nnlab.jobs.ray.backend import RayTable, driver_paths
from nnlab.store.runs import RunStore

SHORT = {"dataset": "digits", "hidden_sizes": (64,), "epochs": 3, "threads": 1, "seed": 0}
TRIAL = {"dataset": "digits", "hidden_sizes": (128, 64), "epochs": 10, "early_stopping": False, "threads": 1}
LRS = (3e-4, 1e-3, 3e-3, 1e-2)  # the sweep's four trials


def _timed(manager: JobManager, configs: list, executor: Placement | None) -> float:
    """Submit every config at once and wait for all; wall seconds from the first submit to the last end."""
    t0 = time.perf_counter()
    ids = [manager.submit(cfg, placement=executor) for cfg in configs]
    for run_id in ids:
        rec = manager.wait(run_id, timeout=1800)
        if rec.status != "finished":
            raise RuntimeError(f"benchmark run {run_id} ended {rec.status}: {rec.reason}")
    return time.perf_counter() - t0


def run(repeats: int = 2, address: str | None = None, say: Callable[[str], None] = print) -> dict[str, Any]:
    """Time both executors; figures in seconds."""
    ray = Placement("ray", default_address() if address is None else address)
    with tempfile.TemporaryDirectory(prefix="nnlab-bench-ray-") as home:
        store = RunStore(home)
        manager = JobManager(store, leave_core=False)
        short = make_config("mlp", **SHORT)
        say(f"Ray executor on {ray.where}: first run (starts the driver{'' if ray.address else ' and Ray'})...")
        cold = _timed(manager, [short], ray)
        local_s, ray_s = [], []
        for i in range(repeats):  # alternate, so drift in the machine's load hits both alike
            local_s.append(_timed(manager, [short], None))
            ray_s.append(_timed(manager, [short], ray))
            say(f"  short run {i + 1}/{repeats}: local {local_s[-1]:.2f} s · Ray {ray_s[-1]:.2f} s")
        trials = [make_config("mlp", **TRIAL, lr=lr, seed=i) for i, lr in enumerate(LRS)]
        say("4-trial sweep, one after another here...")
        sweep_local = _timed(manager, trials, None)
        say("4-trial sweep on Ray, two at a time (one CPU each)...")
        sweep_ray = _timed(manager, trials, ray)
        manager.shutdown()
        _end_driver(store, ray.address)
    return {
        "where": ray.where,
        "first_ray_run_s": cold,
        "short_run_local_s": statistics.median(local_s),
        "short_run_ray_s": statistics.median(ray_s),
        "ray_overhead_s": statistics.median(r - loc for r, loc in zip(ray_s, local_s, strict=True)),
        "sweep_local_sequential_s": sweep_local,
        "sweep_ray_parallel2_s": sweep_ray,
        "sweep_speedup": sweep_local / sweep_ray,
    }


def _end_driver(store: RunStore, address: str) -> None:
    """The benchmark's driver (and the local Ray instance it started) ends with the benchmark."""
    import os
    import signal

    _, info, _ = driver_paths(store, address)
    if info.exists() and not RayTable(store).pending(address):
        pid = json.loads(info.read_text()).get("pid")
        if pid:
            os.kill(pid, signal.SIGTERM)


def main(as_json: bool = False, address: str | None = None) -> int:
    """Print the figures (and one JSON line with --json)."""
    r = run(address=address)
    print(f"Ray executor vs local, {r['where']} (wall seconds, median of 2):")
    print(f"  short run (MLP, digits, 3 epochs): local {r['short_run_local_s']:.2f} · Ray {r['short_run_ray_s']:.2f}")
    print(
        f"  per-run overhead of Ray: {r['ray_overhead_s']:+.2f} s (first Ray run, with start-up: {r['first_ray_run_s']:.1f} s)"
    )
    print(
        f"  4-trial sweep: local one at a time {r['sweep_local_sequential_s']:.1f} · Ray two at a time "
        f"{r['sweep_ray_parallel2_s']:.1f} ({r['sweep_speedup']:.2f}x)"
    )
    if as_json:
        print(json.dumps(r))
    return 0
