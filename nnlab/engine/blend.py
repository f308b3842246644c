"""--classical blend: a series run's forecasts blended with the classical forecaster that validates best, at the
network's weight that validates best (1: the network alone), as forecasters combine models (M4's lesson)."""

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


def blend(
    trainer: Trainer, data: Dataset, cfg: RunConfig, y_true: np.ndarray, y_pred: np.ndarray
) -> tuple[np.ndarray, dict[str, Any] | None]:
    """The test forecasts (N, 1) blended as the validation steps say, and what was done (None: not blended)."""
    if cfg.classical != "blend" or cfg.horizon != 1 or getattr(data.facts, "base", "") or data.val.index is None:
        return y_pred, None
    series = data.display["series"]
    fitted = baselines(series, series_bounds(len(series), cfg)[0])
    steps, actual = data.val.index, series[data.val.index]
    partner = best_on({n: _rmse(f[steps], actual) for n, f in fitted.forecasts.items()})
    if partner is None:
        return y_pred, None
    mine = val_levels(data, trainer.predict(data.val.to(trainer.device)).float().numpy())[:, 0]
    theirs = fitted.forecasts[partner]
    weight = blend_weight(mine, theirs[steps], actual)
    blended = weight * y_pred + (1 - weight) * theirs[data.display["t"]][:, None]
    return blended, {
        "with": partner,
        "label": fitted.forecasters[partner].label,
        "weight": weight,
        "season": fitted.season,
        "network_rmse": _rmse(y_pred[:, 0], y_true[:, 0]),
        "val_rmse": {"network": _rmse(mine, actual), partner: _rmse(theirs[steps], actual)},
    }


def blended_facts(data: Dataset, said: dict[str, Any]) -> Any:
    """The run's data facts with the blend it forecasts with (the Playground blends the same way)."""
    return replace(data.facts, blend=said["with"], blend_weight=said["weight"], season=said["season"])
