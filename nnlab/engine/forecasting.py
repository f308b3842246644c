"""A run's pre-flight, closed loop: the estimate a run starts with (the one measured before Start, or measured
now on the run's own data, device and threads), told to the listeners before the first epoch; after epoch 1,
what it really took is kept beside it, and the ratio joins the workspace's history that calibrates the next
estimate on this device for this architecture (nnlab.store.calibration)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from nnlab.core.config import RunConfig
from nnlab.core.errors import NNLabError
from nnlab.core.forecast import FORECAST_KEY, Forecast
from nnlab.data.base import Dataset
from nnlab.engine.memory import out_of_budget
from nnlab.engine.preflight import Budget, Estimate, estimate, forecast_of
from nnlab.engine.train import Callback, Trainer
from nnlab.store import calibration

if TYPE_CHECKING:
    from nnlab.core.records import EpochRecord
    from nnlab.store.sink import RunSink

# what a run spends measuring itself: 2 s of steps (at least two, however slow), 256 validation examples
QUICK_STEP_S = 0.02  # steps this short are timed on one thread too (fewer_threads_if_faster)
IN_RUN = Budget(max_seconds=2.0, max_build_mb=256.0, eval_samples=256, always=True)


def workspace_of(store: RunSink) -> Path | None:
    """The workspace folder of the run's store (a Ray worker's relay has none)."""
    root = store.workspace()
    return root if root is not None and root.is_dir() else None


def forecast_for(store: RunSink, run_id: str, cfg: RunConfig, data: Dataset, resume: bool) -> Forecast | None:
    """The run's forecast: the one its start recorded, else (a fresh run of its own, not a sweep's trial: the sweep
    has its estimate) one measured now on a model of its own; None where none is made or measuring failed."""
    rec = store.get(run_id)
    kept = Forecast.from_json(rec.summary.get(FORECAST_KEY))
    root = workspace_of(store)
    if kept is not None or resume or rec.sweep_id or root is None:
        return kept
    try:
        est = fewer_threads_if_faster(cfg, data, root, estimate(cfg, budget=IN_RUN, data=data, root=root))
    except NNLabError:  # it trains too slowly to time within the budget: the run goes on without a forecast
        return None
    except Exception as exc:  # measuring must never fail the run itself, unless it ran out of the run's memory
        if out_of_budget(exc):
            raise
        logging.getLogger("nnlab.preflight").warning("The estimate of run %s failed", run_id, exc_info=True)
        return None
    found = forecast_of(est)
    if found is not None:
        _keep(store, run_id, found)
    return found


def fewer_threads_if_faster(cfg: RunConfig, data: Dataset, root: Path, est: Estimate) -> Estimate:
    """Quick steps on several CPU threads often wait for each other (OpenMP's fork and join at every small op, a
    neighbour holding a core): where the run's threads were not given, its steps are timed on one thread too,
    and the run keeps one when that is faster by a tenth. On this 2-core machine the MNIST MLP's whole job took
    8 s on one thread and 12 to 13 s on two (load 1.7)."""
    threads = torch.get_num_threads()
    if cfg.threads or threads == 1 or cfg.device == "cuda" or not est.step_seconds or est.step_seconds > QUICK_STEP_S:
        return est
    torch.set_num_threads(1)
    one = estimate(cfg, budget=IN_RUN, data=data, root=root)
    if one.step_seconds and one.step_seconds < 0.9 * est.step_seconds:
        return one
    torch.set_num_threads(threads)
    return est


def _keep(store: RunSink, run_id: str, forecast: Forecast) -> None:
    store.add_summary(run_id, {FORECAST_KEY: forecast.to_json()})


class ForecastListener(Callback):
    """After the first epoch this fit trains: keeps what it took beside the estimate, and the ratio in the
    workspace's calibration history."""

    def __init__(self, store: RunSink, run_id: str, forecast: Forecast, arch: str):
        self.store, self.run_id, self.forecast, self.arch = store, run_id, forecast, arch
        self.start, self.first = 0.0, 1

    def on_fit_start(self, trainer: Trainer) -> None:
        self.start, self.first = time.perf_counter(), len(trainer.history) + 1

    def on_epoch_end(self, trainer: Trainer, record: EpochRecord, improved: bool) -> None:
        if record.epoch != self.first or self.forecast.took is not None:
            return
        took = time.perf_counter() - self.start  # training, validation and the checkpoint: the epoch as waited for
        self.forecast = self.forecast.with_actual(took)
        _keep(self.store, self.run_id, self.forecast)
        root = workspace_of(self.store)
        if root is not None:
            calibration.record(root, self.forecast.device, self.arch, self.forecast.measured_per_epoch, took)
