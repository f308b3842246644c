"""--classical blend: a series run's forecasts blended with the classical forecaster that validates best, at the
network's weight that validates best (1: the network alone), as forecasters combine models (M4's lesson).

The weight is chosen on validation steps that early stopping did not watch: early stopping keeps the epoch that
scores best on the steps it watches, so the network's score there flatters it, where the classical forecasters
(fit on the training part) are scored fairly on every step. On 19 series, seeds 0-3, choosing the weight on the
same steps early stopping watched left the network the whole weight where it then forecast the test steps up to
46% worse than the classical forecaster (nnlab/analysis/README.md has the figures)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from nnlab.core.config import RunConfig
from nnlab.data.base import Dataset
from nnlab.data.classical import baselines, best_on, blend_weight
from nnlab.data.prep import series_bounds, val_levels
from nnlab.engine.train import Trainer


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(a, dtype=np.float64) - b) ** 2)))


STOP_SHARE_MIN = 4  # validation steps below which early stopping and the weight share them all (too few to halve)


def blends(cfg: RunConfig, data: Dataset) -> bool:
    """Whether the run's test forecasts are blended: a series run (a classifier keeps --classical's default too, but
    has nothing to blend), --classical blend, one step ahead, no base (not a residual)."""
    base = getattr(data.facts, "base", "")
    series = data.task == "regression"
    return series and cfg.classical == "blend" and cfg.horizon == 1 and not base and data.val.index is not None


def stopping_steps(n_val: int) -> int:
    """How many of a blended run's first validation steps early stopping watches: half of them (all when there are
    fewer than STOP_SHARE_MIN); the steps after them choose the blend's weight."""
    return n_val // 2 if n_val >= STOP_SHARE_MIN else n_val


def for_training(data: Dataset, cfg: RunConfig) -> Dataset:
    """The data a run trains on: a blended run's early stopping watches the first part of the validation steps only
    (the whole run, its report and predictions.npz keep every step)."""
    if not blends(cfg, data):
        return data
    return replace(data, val=data.val.subset(np.arange(stopping_steps(len(data.val)))))


def blend(
    trainer: Trainer, data: Dataset, cfg: RunConfig, y_true: np.ndarray, y_pred: np.ndarray
) -> tuple[np.ndarray, dict[str, Any] | None]:
    """The test forecasts (N, 1) blended as the validation steps say, and what was done (None: not blended)."""
    if not blends(cfg, data):
        return y_pred, None
    series = data.display["series"]
    fitted = baselines(series, series_bounds(len(series), cfg)[0])
    steps, actual = data.val.index, series[data.val.index]
    partner = best_on({n: _rmse(f[steps], actual) for n, f in fitted.forecasts.items()})
    if partner is None:
        return y_pred, None
    mine = val_levels(data, trainer.predict(data.val.to(trainer.device)).float().numpy())[:, 0]
    theirs = fitted.forecasts[partner]
    watched = stopping_steps(len(steps))
    unseen = slice(watched if watched < len(steps) else 0, None)  # the steps early stopping did not watch (or all)
    mine, yours, actual = mine[unseen], theirs[steps][unseen], actual[unseen]
    weight = blend_weight(mine, yours, actual)
    blended = weight * y_pred + (1 - weight) * theirs[data.display["t"]][:, None]
    return blended, {
        "with": partner,
        "label": fitted.forecasters[partner].label,
        "weight": weight,
        "season": fitted.season,
        "network_rmse": _rmse(y_pred[:, 0], y_true[:, 0]),
        "weight_steps": len(actual),  # the last validation steps, which the weight was chosen on
        "val_rmse": {"network": _rmse(mine, actual), partner: _rmse(yours, actual)},
    }


def blended_facts(data: Dataset, said: dict[str, Any]) -> Any:
    """The run's data facts with the blend it forecasts with (the Playground blends the same way)."""
    return replace(data.facts, blend=said["with"], blend_weight=said["weight"], season=said["season"])
