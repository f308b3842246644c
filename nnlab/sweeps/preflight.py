"""Pre-flight for a whole sweep: its wall time and peak memory before Start, and the time left while it runs.

Per-trial estimates are measured (nnlab.engine.preflight: real steps on the trial's device with the threads a
trial will have) at a few corners of the search space, not at every trial: each varied field at its low and
high end (a list at its first and last value), at most CORNERS of those combinations, drawn with the sweep's
seed. A trial costs their mean; the runs (trials x seeds) go `parallel` at a time, each with cores / parallel
threads; the pruner cuts the epochs trained to its expected survival: a prior at first (none 1, median 0.65,
Hyperband 0.45), the share of epochs the ended trials really trained once a few have ended. Peak memory is the
largest corner's times the trials at once. While it runs, the time left is the runs still to train times the
mean wall time of the ended ones (the estimate until then), `parallel` at a time.
"""

from __future__ import annotations

import itertools
import math
import os
import random
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nnlab.core.config import RunConfig
from nnlab.core.errors import NNLabError
from nnlab.store.runs import RunStore
from nnlab.sweeps.space import Dim
from nnlab.sweeps.store import SweepRecord, SweepSpec

CORNERS = 4  # corners of the search space measured, at most
SURVIVAL_PRIOR = {"none": 1.0, "median": 0.65, "hyperband": 0.45}  # share of the planned epochs a trial trains
OBSERVED_AFTER = 3  # ended trials before their observed survival replaces the prior
ENDED = ("finished", "pruned", "failed", "stopped")


@dataclass(frozen=True)
class SweepEstimate:
    """What a sweep will cost: wall time, peak memory, and the figures behind them."""

    seconds: float | None  # the whole sweep's wall time (None when no corner could be timed)
    peak_memory_mb: float
    trials: int
    runs: int  # trials x seeds, and the re-runs that confirm the top trials at the end
    parallel: int
    executor: str
    threads_per_trial: int  # 0: as one run alone (all the cores it is given)
    trial_seconds: float | None  # one run's expected wall time (mean of the corners, before pruning)
    survival: float  # expected share of the planned epochs a run trains
    survival_from: str  # "prior" or "observed"
    corners: tuple[dict[str, Any], ...] = ()  # each measured corner: its params, seconds, memory

    def to_json(self) -> dict[str, Any]:
        """The object `sweep --dry-run --json` prints."""
        out = asdict(self)
        out["corners"] = list(self.corners)
        for k in ("seconds", "peak_memory_mb", "trial_seconds", "survival"):
            out[k] = None if out[k] is None else round(out[k], 3)
        return out


def threads_per_trial(parallel: int, cores: int | None = None) -> int:
    """CPU threads each of `parallel` trials at once trains with: the cores split between them (at least 1)."""
    return max(1, (cores or os.cpu_count() or 1) // max(1, parallel))


def split_cores(cfg: RunConfig, spec: SweepSpec) -> RunConfig:
    """A trial's config with its share of the cores when several train at once on this machine (threads left as
    given where the user set them, or where the trials go to a Ray cluster, whose nodes have cores of their own)."""
    if cfg.threads or spec.parallel <= 1 or spec.executor != "local":
        return cfg
    return cfg.replace(threads=threads_per_trial(spec.parallel))


def _ends(dim: Dim) -> tuple[Any, ...]:
    if dim.values:
        return tuple(dict.fromkeys((dim.values[0], dim.values[-1])))
    low, high = dim.grid()[0], dim.grid()[-1]
    return (low, high) if low != high else (low,)


def corners(spec: SweepSpec, most: int = CORNERS) -> list[RunConfig]:
    """Configs at corners of the search space (at most `most`, drawn with the sweep's seed), each with the
    threads a trial will have."""
    combos = list(itertools.product(*(_ends(d) for d in spec.dims)))
    if len(combos) > most:
        combos = random.Random(spec.seed).sample(combos, most)
    names = [d.name for d in spec.dims]
    return [split_cores(spec.base.replace(**dict(zip(names, c, strict=True))), spec) for c in combos]


def observed_survival(store: RunStore, rec: SweepRecord) -> float | None:
    """The share of their planned epochs the sweep's ended runs trained, once a few have ended."""
    ended = [r for r in store.list(sweep_id=rec.sweep_id) if r.status in ENDED and r.epochs_planned]
    if len(ended) < OBSERVED_AFTER:
        return None
    return sum(r.epochs_done for r in ended) / sum(r.epochs_planned for r in ended)


def _corner(cfg: RunConfig, spec: SweepSpec, root: Path | None) -> dict[str, Any]:
    """One corner's params, a run's seconds (None when it could not be timed) and memory."""
    from nnlab.engine.preflight import Budget, estimate

    params = {d.name: getattr(cfg, d.name) for d in spec.dims}
    try:
        est = estimate(cfg, budget=Budget(max_seconds=3.0), root=root)
    except NNLabError as exc:  # steps too slow to time in the budget: the corner counts for memory only
        return {"params": params, "seconds": None, "memory_mb": 0.0, "problem": str(exc)}
    return {"params": params, "seconds": est.seconds_total, "memory_mb": round(est.memory_mb, 2)}


def estimate_sweep(spec: SweepSpec, root: Path | None = None, survival: float | None = None) -> SweepEstimate:
    """Measure the corners and put the sweep's wall time and peak memory together (nothing is recorded)."""
    measured = [_corner(cfg, spec, root) for cfg in corners(spec)]
    timed = [m["seconds"] for m in measured if m["seconds"] is not None]
    per_run = statistics.fmean(timed) if timed else None
    share, source = (survival, "observed") if survival is not None else (SURVIVAL_PRIOR[spec.pruner], "prior")
    runs, confirming = spec.trials * spec.seeds, spec.confirm_top * spec.confirm_seeds  # the finish's re-runs train
    rounds, extra = math.ceil(runs / max(1, spec.parallel)), math.ceil(confirming / max(1, spec.parallel))  # whole
    return SweepEstimate(
        seconds=None if per_run is None else (rounds * share + extra) * per_run,
        peak_memory_mb=max(m["memory_mb"] for m in measured) * spec.parallel,
        trials=spec.trials,
        runs=runs + confirming,
        parallel=spec.parallel,
        executor=spec.executor,
        threads_per_trial=split_cores(spec.base, spec).threads,
        trial_seconds=per_run,
        survival=share,
        survival_from=source,
        corners=tuple(measured),
    )


def seconds_left(store: RunStore, rec: SweepRecord, est: SweepEstimate | None = None) -> float | None:
    """The sweep's time left: the runs not yet ended times the mean wall time of the ended ones (or the
    estimate's per run before any ended), `parallel` at a time; None when neither is known."""
    runs = store.list(sweep_id=rec.sweep_id)
    done = [r.seconds for r in runs if r.status in ENDED and r.seconds > 0]
    spec = rec.spec
    if done:
        per_run = statistics.fmean(done)
    elif est is not None and est.trial_seconds is not None:
        per_run = est.trial_seconds * est.survival
    else:
        return None
    planned = spec.trials * spec.seeds + spec.confirm_top * spec.confirm_seeds  # with the confirmation's re-runs
    left = max(0, planned - len([r for r in runs if r.status in ENDED]))
    return math.ceil(left / max(1, spec.parallel)) * per_run
