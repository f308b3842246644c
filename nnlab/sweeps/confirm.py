"""A sweep's finish that guards against the winner's curse: its top trials re-run with more seeds, then a
headline that says what holds.

The best of many trials is partly the best seed's luck. When a sweep's budget is spent (and on request), the
`confirm_top` trials with the best objective are re-run with `confirm_seeds` more seeds each: ordinary runs of
the sweep, with the trial's number and seeds after the sweep's own (resumable like its trials). Once they end,
each confirmed trial is scored by its mean test metric over every seed, and the best is compared with each of
the others on their shared test rows (nnlab.analysis.comparison): "Best: trial 17, 0.981 ± 0.004 over 3 seeds,
better than trial 9 by 0.006 (p = 0.01)", or "Tie between 17 and 9 within seed noise: 9 is 2.3 times faster
per epoch".
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from scipy.stats import mannwhitneyu

from nnlab.analysis.comparison import compare
from nnlab.analysis.sides import metric_of_results, resolve
from nnlab.analysis.stats import ALPHA, NO_DIFFERENCE, side_interval
from nnlab.analysis.wording import p_text
from nnlab.core.config import RunConfig
from nnlab.core.records import ACTIVE, EpochRecord, RunRecord, higher_is_better
from nnlab.core.text import and_list
from nnlab.store.runs import RunStore
from nnlab.sweeps.results import Trial, trials_of
from nnlab.sweeps.store import SweepRecord
from nnlab.sweeps.trials import is_confirmation


@dataclass(frozen=True)
class Confirmed:
    """One confirmed trial over every seed it has: its runs, test metric mean with a 95% interval and spread,
    and how it stands against the best (the difference, its p-value, and whether they tie within seed noise)."""

    trial: int
    run_ids: tuple[str, ...]
    seeds: tuple[int, ...]
    mean: float
    interval: tuple[float, float]
    sd: float | None
    seconds_per_epoch: float | None  # the median of epoch_seconds
    best: bool = False
    tied_with_best: bool = False
    diff: float | None = None  # this trial's mean minus the best's
    p_value: float | None = None
    epoch_seconds: tuple[float, ...] = ()  # each epoch's seconds over its seeds, each run's first (start-up) left out

    def to_json(self) -> dict[str, Any]:
        return {
            "trial": self.trial,
            "run_ids": list(self.run_ids),
            "seeds": list(self.seeds),
            "mean": self.mean,
            "interval": list(self.interval),
            "tied_with_best": self.tied_with_best,
            "best": self.best,
        }


@dataclass(frozen=True)
class Confirmation:
    """The confirmed trials, best first, the metric they are scored by, the headline, and whether every planned
    re-run has ended (until then the headline says how far it is)."""

    metric: str
    trials: tuple[Confirmed, ...]
    headline: str
    complete: bool


def top_trials(rec: SweepRecord, trials: list[Trial], k: int) -> list[Trial]:
    """The k finished trials with the best objective, best first."""
    done = [t for t in trials if t.value is not None]
    sign = 1 if rec.spec.direction == "minimize" else -1
    return sorted(done, key=lambda t: (sign * t.value, t.number))[: max(0, k)]


def planned_runs(store: RunStore, rec: SweepRecord) -> list[tuple[int, RunConfig]]:
    """(trial number, config) of each confirmation re-run the sweep still lacks."""
    spec = rec.spec
    if spec.confirm_top < 1 or spec.confirm_seeds < 1:
        return []
    have = {(r.trial, r.config.seed) for r in store.list(sweep_id=rec.sweep_id)}
    first = spec.seed + spec.seeds
    return [
        (t.number, t.runs[0].config.replace(seed=seed))
        for t in top_trials(rec, trials_of(store, rec), spec.confirm_top)
        for seed in range(first, first + spec.confirm_seeds)
        if (t.number, seed) not in have
    ]


def confirmation_runs(store: RunStore, rec: SweepRecord) -> list[RunRecord]:
    """The sweep's re-runs that confirm its top trials."""
    return [r for r in store.list(sweep_id=rec.sweep_id) if is_confirmation(r, rec.spec)]


def confirmation(store: RunStore, rec: SweepRecord) -> Confirmation | None:
    """What the confirmation found; None where the sweep has none (not asked, or not started yet)."""
    extra = confirmation_runs(store, rec)
    if not extra:
        return None
    numbers = sorted({r.trial for r in extra})
    pending = [r for r in extra if r.status in ACTIVE or r.status == "interrupted"]
    if pending:
        done, names = len(extra) - len(pending), _names(numbers)
        return Confirmation("", (), f"Confirming {names} with more seeds: {done} of {len(extra)} runs done.", False)
    own = store.list(sweep_id=rec.sweep_id)
    scored_runs = {n: rs for n in numbers if (rs := [r for r in own if r.trial == n and r.test_value is not None])}
    epochs = store.metrics_many([r.run_id for rs in scored_runs.values() for r in rs])
    scored = [_scored(n, rs, epochs) for n, rs in scored_runs.items()]
    if not scored:
        return Confirmation("", (), "No confirmation run finished with a test score.", True)
    metric = scored[0].metric
    order = [t.number for t in top_trials(rec, trials_of(store, rec), len(own))]
    ranked = ranked_trials(metric, [c.trial for c in scored], order)
    best = replace(ranked[0], best=True, interval=_interval_of(store, ranked[0]))
    trials = (best, *(_against(store, best, c) for c in ranked[1:]))
    return Confirmation(metric, trials, headline(metric, trials), True)


def ranked_trials(metric: str, trials: list[Confirmed], order: list[int]) -> list[Confirmed]:
    """Confirmed trials best first by their mean test score; equal scores keep the sweep's order (`order`: trial
    numbers by objective, best first), so the sweep's best trial, its best_run_id's, stays first in a tie."""
    sign, rank = (-1 if higher_is_better(metric) else 1), {n: i for i, n in enumerate(order)}
    return sorted(trials, key=lambda c: (sign * c.mean, rank.get(c.trial, len(rank))))


@dataclass(frozen=True)
class _Scored:
    trial: Confirmed
    metric: str


def _scored(number: int, runs: list[RunRecord], epochs: Mapping[str, list[EpochRecord]]) -> _Scored:
    runs = sorted(runs, key=lambda r: r.config.seed)
    values = [r.test_value for r in runs]
    per_epoch = [t for r in runs for t in _run_epoch_seconds(r, epochs.get(r.run_id, []))]
    mean = statistics.fmean(values)
    confirmed = Confirmed(
        number,
        tuple(r.run_id for r in runs),
        tuple(r.config.seed for r in runs),
        mean,
        (mean, mean),  # the bootstrap interval comes with the comparison
        statistics.stdev(values) if len(values) > 1 else None,
        statistics.median(per_epoch) if per_epoch else None,
        epoch_seconds=tuple(per_epoch),
    )
    return _Scored(confirmed, runs[0].test_metric or "accuracy")


def _run_epoch_seconds(run: RunRecord, epochs: list[EpochRecord]) -> list[float]:
    """A run's seconds per epoch, its first epoch (the process's and the data's start-up) left out where it has more."""
    if epochs:
        return [e.seconds for e in (epochs[1:] if len(epochs) > 1 else epochs)]
    return [run.seconds / run.epochs_done] if run.epochs_done else []


def _against(store: RunStore, best: Confirmed, other: Confirmed) -> Confirmed:
    """The other trial with its interval and its verdict against the best (over every seed, on shared rows)."""
    v = compare(store, ",".join(best.run_ids), ",".join(other.run_ids)).verdict
    return replace(other, interval=v.b_ci, tied_with_best=v.verdict == NO_DIFFERENCE, diff=v.diff, p_value=v.p_value)


def _interval_of(store: RunStore, trial: Confirmed) -> tuple[float, float]:
    """A trial's 95% interval over its seeds and test examples."""
    side = resolve(store, ",".join(trial.run_ids))
    return side_interval(metric_of_results(side.members[0].results), [m.values for m in side.members])


def _names(numbers: list[int]) -> str:
    words = [str(n) for n in numbers]
    return ("trial " if len(words) == 1 else "trials ") + and_list(words)


def _value(metric: str, x: float) -> str:
    return f"{x:.4g}" if metric == "rmse" else f"{x:.3f}"


def headline(metric: str, trials: tuple[Confirmed, ...]) -> str:
    """What holds after the confirmation, in one sentence (trials: best first)."""
    best, others = trials[0], trials[1:]
    spread = f" ± {_value(metric, best.sd)}" if best.sd is not None else ""
    score = f"{_value(metric, best.mean)}{spread} over {len(best.seeds)} seed{'s' if len(best.seeds) != 1 else ''}"
    tied = [t for t in others if t.tied_with_best]
    if tied:
        return f"Tie between {_listing([best, *tied])} within seed noise: {_speed([best, *tied])}"
    if not others:
        return f"Best: trial {best.trial}, {score} (the only trial confirmed)."
    runner = others[0]
    return (
        f"Best: trial {best.trial}, {score}, better than trial {runner.trial} by {_value(metric, abs(runner.diff or 0))} "
        f"(p = {p_text(runner.p_value or 1.0)})."
    )


def _listing(trials: list[Confirmed]) -> str:
    return and_list([str(t.trial) for t in trials])


def _speed(trials: list[Confirmed]) -> str:
    """Which of the tied trials trains fastest per epoch (by its median epoch), and by how much against the slowest:
    said only where its epochs are faster by a one-sided Mann-Whitney test over every epoch of every seed (p < 0.05)
    and by 10% or more; a busy machine makes epochs of one config differ by more than that."""
    timed = sorted((t for t in trials if t.epoch_seconds), key=lambda t: statistics.median(t.epoch_seconds))
    if len(timed) < 2:
        return "they train about as fast per epoch."
    fast, slow = timed[0], timed[-1]
    ratio = statistics.median(slow.epoch_seconds) / statistics.median(fast.epoch_seconds)
    faster = mannwhitneyu(fast.epoch_seconds, slow.epoch_seconds, alternative="less").pvalue < ALPHA
    if ratio < 1.1 or not faster:
        return "they train about as fast per epoch."
    than = "" if len(trials) == 2 else f" than {slow.trial}"
    return f"{fast.trial} is {ratio:.1f} times faster per epoch{than}."


def confirm_fields(store: RunStore, rec: SweepRecord) -> dict[str, Any]:
    """The sweep's JSON summary's confirmation: `confirmed`, per re-run trial (best first) its run ids, seeds,
    mean, interval and tied_with_best, and the `headline` ("" while there is none)."""
    found = confirmation(store, rec)
    if found is None:
        return {"confirmed": [], "headline": ""}
    return {"confirmed": [t.to_json() for t in found.trials], "headline": found.headline}
