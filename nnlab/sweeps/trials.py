"""A sweep's trials read from its runs: which runs are a trial's own and which re-run it to confirm it, how a
trial stands, and its objective. Shared by the driver, the results and the confirmation."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from nnlab.core.causes import Cause
from nnlab.core.records import RunRecord

FAILED = ("failed", "diverged")
ENDED = ("finished", "pruned", "failed", "stopped")  # trial states that use up one trial of the budget
# the sweep's Stop holds its running trials (cause "held": they resume with the sweep); a run
# stopped for any other cause was stopped by hand (Stop on its run page): its trial ends as `stopped` and the sweep
# goes on


def run_value(rec: RunRecord, objective: str) -> float | None:
    """A finished run's objective: validation loss, accuracy or RMSE at its best epoch (the weights it keeps)."""
    return rec.best_val_loss if objective == "val_loss" else rec.best_val_metric


def trial_state(runs: list[RunRecord], seeds: int) -> str:
    """How a trial stands, from its runs: finished, pruned, failed, stopped (by hand), running, queued or paused
    (held by the sweep's Stop, or interrupted: it resumes with the sweep)."""
    statuses = {r.status for r in runs}
    if "pruned" in statuses:
        return "pruned"
    if statuses & set(FAILED):
        return "failed"
    if any(r.status == "stopped" and r.cause != Cause.HELD for r in runs):
        return "stopped"
    if len(runs) >= seeds and statuses == {"finished"}:
        return "finished"
    if "running" in statuses:
        return "running"
    return "queued" if statuses <= {"queued", "finished"} else "paused"


def group_trials(runs: list[RunRecord]) -> dict[int, list[RunRecord]]:
    """A sweep's runs by trial number, each trial's runs in seed order."""
    groups: dict[int, list[RunRecord]] = defaultdict(list)
    for r in sorted(runs, key=lambda r: r.config.seed):
        groups[r.trial].append(r)
    return dict(sorted(groups.items()))


def is_confirmation(rec: RunRecord, spec: Any) -> bool:
    """Whether a run of a sweep re-runs a trial with a seed beyond the sweep's own (seed, ..., seed + seeds - 1)
    to confirm it: a sweep's finish does that for its top trials (nnlab.sweeps.confirm)."""
    return rec.config.seed >= spec.seed + spec.seeds


def own_runs(runs: list[RunRecord], spec: Any) -> list[RunRecord]:
    """The runs of a sweep that are its trials' own (its confirmation re-runs left out)."""
    return [r for r in runs if not is_confirmation(r, spec)]
