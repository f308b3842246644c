"""What a sweep has found, read from the run store: trial states, the best trial, a summary, a time estimate."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from nnlab.core.records import RunRecord
from nnlab.store.runs import RunStore
from nnlab.sweeps.store import SweepRecord, SweepStore
from nnlab.sweeps.trials import ENDED, group_trials, own_runs, run_value, trial_state


@dataclass(frozen=True)
class Trial:
    """One trial of a sweep: its number, state, the params it tried, its runs (one per seed) and its value."""

    number: int
    state: str
    params: dict[str, Any]
    runs: tuple[RunRecord, ...]
    value: float | None  # mean objective over its finished runs (None until it finished)
    seconds: float


def trials_of(store: RunStore, rec: SweepRecord) -> list[Trial]:
    """The sweep's trials in order, failed trials that were queued again left out."""
    spec = rec.spec
    out = []
    for number, runs in group_trials(own_runs(store.list(sweep_id=rec.sweep_id), spec)).items():
        if number in rec.retried:
            continue
        state = trial_state(runs, spec.seeds)
        values = [run_value(r, spec.objective) for r in runs]
        value = statistics.fmean(values) if state == "finished" and None not in values else None
        params = {d.name: getattr(runs[0].config, d.name) for d in spec.dims}
        out.append(Trial(number, state, params, tuple(runs), value, sum(r.seconds for r in runs)))
    return out


def best_trial(rec: SweepRecord, trials: list[Trial]) -> Trial | None:
    """The finished trial with the best objective."""
    done = [t for t in trials if t.value is not None]
    if not done:
        return None
    pick = min if rec.spec.direction == "minimize" else max
    return pick(done, key=lambda t: t.value)


def best_run_of(rec: SweepRecord, trial: Trial) -> RunRecord:
    """The run of a trial (one per seed) with the best objective."""
    sign = 1 if rec.spec.direction == "minimize" else -1
    return min(trial.runs, key=lambda r: sign * (run_value(r, rec.spec.objective) or 0))


def summary(store: RunStore, rec: SweepRecord) -> dict[str, Any]:
    """The sweep's one-line JSON summary (the command line's --json)."""
    trials = trials_of(store, rec)
    states = [t.state for t in trials]
    best = best_trial(rec, trials)
    return {
        "sweep_id": rec.sweep_id,
        "status": rec.status,
        "trials": len(trials),
        "finished": states.count("finished"),
        "pruned": states.count("pruned"),
        "failed": states.count("failed"),
        "stopped": states.count("stopped"),  # by hand, on the run's page: the sweep went on without it
        "best_run_id": best_run_of(rec, best).run_id if best else None,
        "best_value": best.value if best else None,
        "best_params": best.params if best else None,
        "objective": rec.spec.objective,
        "seconds": round(rec.elapsed, 2),
        **({"reason": rec.reason} if rec.reason else {}),
    }


def ended(summary: dict[str, Any]) -> int:
    """How many of a summary's trials have ended: finished, pruned, failed or stopped by hand."""
    return sum(summary[state] for state in ENDED)


def best_so_far(rec: SweepRecord, trials: list[Trial]) -> list[tuple[int, float]]:
    """(trial number, best value up to it) over the finished trials, in order."""
    out: list[tuple[int, float]] = []
    better = min if rec.spec.direction == "minimize" else max
    for t in trials:
        if t.value is not None:
            out.append((t.number, t.value if not out else better(out[-1][1], t.value)))
    return out


def sweeps_table(store: RunStore) -> list[dict[str, Any]]:
    """One summary per sweep, newest first."""
    return [summary(store, rec) | {"created": rec.created_iso} for rec in SweepStore(store).list()]
