"""Carry out one stored run: load data, build the model, fit with the store listening, write artifacts."""

from __future__ import annotations

import threading
import time
from contextlib import nullcontext
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from nnlab.core.arithmetic import CHANGES, KEY, Arithmetic, Change, changes, recorded
from nnlab.core.causes import STOP_REASON, STOP_STATUS, USER_STOPPED, Cause
from nnlab.core.config import RunConfig
from nnlab.core.errors import NNLabError
from nnlab.core.limits import BUDGET_KEY, MemoryBudget, run_memory_budget
from nnlab.core.records import EpochRecord, Outcome, Progress, RunRecord
from nnlab.data import DATASETS, Dataset, load_dataset
from nnlab.data.classical import scored
from nnlab.data.prep import series_bounds, series_levels
from nnlab.data.registry import check
from nnlab.engine.arithmetic import settle
from nnlab.engine.blend import blend, blended_facts, for_training
from nnlab.engine.forecasting import ForecastListener, forecast_for
from nnlab.engine.memory import capped, grew_past, memory_problem, out_of_budget
from nnlab.engine.metrics import classification_metrics, regression_metrics, test_metric_of
from nnlab.engine.precision import bf16_check
from nnlab.engine.threads import device_label
from nnlab.engine.train import Callback, FitResult, Trainer, seed_everything
from nnlab.models import build_model, count_parameters
from nnlab.store.runfolder import Predictions, RunFolder
from nnlab.store.sink import RunSink


class StoreListener(Callback):
    """Writes live progress and each epoch's metrics into the run's sink (the store: the pages' only source)."""

    def __init__(self, store: RunSink, run_id: str):
        self.store, self.run_id = store, run_id

    def on_progress(self, trainer: Trainer, progress: Progress) -> None:
        self.store.set_progress(self.run_id, _stamped(trainer, progress))

    def on_epoch_end(self, trainer: Trainer, record: EpochRecord, improved: bool) -> None:
        best = (trainer.best_loss, record.val_metric, record.epoch) if improved else None
        self.store.add_epoch(self.run_id, record, best)
        eta = trainer.eta_s(record.epoch, 1.0)
        end = Progress(record.epoch, trainer.cfg.epochs, 1.0, record.samples_per_s, eta, record.train_loss)
        # the rate the epoch trained with, as in its record: the scheduler has already stepped (cosine ends at 0)
        self.store.set_progress(self.run_id, replace(_stamped(trainer, end), lr=record.lr))


def _stamped(trainer: Trainer, progress: Progress) -> Progress:
    """The progress with the optimizer's current rate and the time it was stored."""
    return replace(progress, lr=trainer.optimizer.param_groups[0]["lr"], time=time.time())


class CheckpointListener(Callback):
    """Saves the resumable state after every epoch and the best weights when validation improves."""

    def __init__(self, folder: RunFolder):
        self.folder = folder

    def on_epoch_end(self, trainer: Trainer, record: EpochRecord, improved: bool) -> None:
        try:
            self.folder.save_checkpoint(trainer.state_dict(), trainer.model.state_dict() if improved else None)
        except OSError as exc:  # the previous checkpoint is intact: saves go to a temporary file first
            raise NNLabError(
                f"Could not write the checkpoint of epoch {record.epoch} in {self.folder.path} "
                f"({exc.strerror or exc}); free disk space or fix the folder's permissions, then resume the run."
            ) from exc


class StopFlag(threading.Event):
    """A run's stop flag that also says why it stops: a cause (the user, its sweep, a shutdown, ...) and a sentence;
    the cause decides how the run ends ("stopped", "pruned" or "interrupted": nnlab.core.causes.STOP_STATUS)."""

    def __init__(self) -> None:
        super().__init__()
        self.cause, self.reason = Cause.USER, USER_STOPPED

    @property
    def status(self) -> str:
        """The status the run ends with once it has stopped."""
        return STOP_STATUS[self.cause]

    def request(self, cause: Cause = Cause.USER, reason: str = "") -> None:
        """Stop at the next batch boundary, for `cause`, with this sentence (or the cause's own)."""
        self.cause, self.reason = cause, reason or STOP_REASON[cause]
        self.set()


def refuse_unrunnable_precision(cfg: RunConfig, device: torch.device) -> None:
    """A bfloat16 run this machine cannot train fails at once with the reason, not with a kernel's error."""
    if cfg.precision == "bf16" and cfg.dataset in DATASETS:
        problem = bf16_check(cfg.arch, DATASETS[cfg.dataset].kind, device).problem
        if problem:
            raise NNLabError(f"Precision bfloat16 cannot train here: {problem}; choose fp32 or automatic precision.")


def execute(
    store: RunSink,
    run_id: str,
    stop: StopFlag | None = None,
    callbacks: tuple[Callback, ...] = (),
    resume: bool = False,
    leave_core: bool = False,
    data: Dataset | None = None,
    own_process: bool = False,
) -> RunRecord:
    """Train a claimed (running) run to its end and record the outcome; never raises for a run's own failure.

    data: the run's dataset when the caller has already read it (and checked it) for this very config.
    own_process: the run is this process's only work (a child process, the command line), so the process is
    capped at the run's memory budget: growing past it fails the run with advice, never the machine."""
    folder = store.folder(run_id)
    budget = run_memory_budget(store.get(run_id).summary.get(BUDGET_KEY))
    try:
        cfg = check(store.get(run_id).config)
        with capped(budget) if own_process else nullcontext():
            _train(store, run_id, cfg, folder, stop or StopFlag(), callbacks, resume, leave_core, budget, data)
    except NNLabError as exc:
        _fail(store, run_id, str(exc))
    except torch.OutOfMemoryError:
        folder.log_traceback()
        _fail(store, run_id, "The GPU ran out of memory; lower the batch size (or the image size) and run again.")
    except Exception as exc:  # a bug or an unexpected input: the run fails, the process lives on
        folder.log_traceback()
        _fail(store, run_id, grew_past(budget) if out_of_budget(exc) else _failed_with(exc))
    return store.get(run_id)


def _failed_with(exc: Exception) -> str:
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    return f"Training failed with {type(exc).__name__}: {first} (details in log.txt of the run folder)."


def _fail(store: RunSink, run_id: str, reason: str) -> None:
    store.set_outcome(run_id, Outcome("failed", Cause.ERROR, reason))


def _train(
    store: RunSink,
    run_id: str,
    cfg: RunConfig,
    folder: RunFolder,
    stop: StopFlag,
    callbacks: tuple[Callback, ...],
    resume: bool,
    leave_core: bool,
    budget: MemoryBudget,
    data: Dataset | None = None,
) -> None:
    before = store.get(run_id).summary
    used, device, cause = settle(cfg, recorded(before), leave_core)  # recorded threads, whatever the load
    refuse_unrunnable_precision(cfg.replace(precision=used.precision), device)
    seed_everything(cfg.seed)
    data = data if data is not None else load_dataset(cfg)  # loading draws from no global random state
    refused = memory_problem(cfg, data.facts, budget)  # counted on the meta device: nothing allocated yet
    if refused:
        raise NNLabError(refused)
    model = build_model(cfg, data.facts)
    folder.write_facts(data.facts)
    listeners = (StoreListener(store, run_id), CheckpointListener(folder), *callbacks)
    trainer = Trainer(cfg.replace(precision=used.precision), model, for_training(data, cfg), device, listeners, stop)
    if resume and folder.has_checkpoint():
        trainer.load_state_dict(folder.load_checkpoint())
    store.truncate_metrics(run_id, 0)  # the checkpoint's history is the truth a resumed run continues from
    for record in trainer.history:
        store.add_epoch(run_id, record, best=None)
    forecast = forecast_for(store, run_id, trainer.cfg, data, resume)  # may keep fewer threads (measured faster)
    if device.type == "cpu" and torch.get_num_threads() != used.threads:
        used = replace(used, threads=torch.get_num_threads())
    store.set_started(
        run_id,
        device_label(device),
        store.get(run_id).summary  # what the start recorded (a raised memory budget) stays
        | {
            "parameters": count_parameters(trainer.model),
            "trainable_parameters": count_parameters(trainer.model, trainable_only=True),
            "train_size": len(data.train),
            "val_size": len(data.val),
            "test_size": len(data.test),
            "batch_size": trainer.cfg.batch_size,  # as given, or fitted to the data (see fit_to_data)
            "epochs": trainer.cfg.epochs,
            "class_weights": trainer.weighted,  # as given, or automatic: on where the classes are strongly imbalanced
            "threads": torch.get_num_threads() if device.type == "cpu" else 0,  # what an exported script follows
            **arithmetic_summary(before, used, cause, len(trainer.history)),
        },
    )
    if forecast is not None:
        trainer.emit("on_estimate", forecast)  # the command line prints it before the first epoch
        if forecast.took is None:
            trainer.callbacks.append(ForecastListener(store, run_id, forecast, cfg.arch))
    result = trainer.fit()
    _record_outcome(store, run_id, trainer, data, result, folder, stop)


def arithmetic_summary(before: dict[str, Any], used: Arithmetic, cause: str, epoch: int) -> dict[str, Any]:
    """The summary's record of the run's arithmetic: what it started with (kept on every resume; a plan that
    left some of it open is completed), and each resume that had to use something else, with why."""
    start = recorded(before)
    first = start is None or not start.device
    out: dict[str, Any] = {KEY: (used if first else start).to_dict()}
    kept = [c.to_dict() for c in changes(before)]
    if cause and not first:
        kept.append(Change(epoch, used, cause).to_dict())
    return out | ({CHANGES: kept} if kept else {})


def _record_outcome(
    store: RunSink,
    run_id: str,
    trainer: Trainer,
    data: Dataset,
    result: FitResult,
    folder: RunFolder,
    stop: StopFlag,
) -> None:
    if result.status == "stopped" and stop.status == "interrupted":  # a shutdown: resumable, no results yet
        store.set_outcome(run_id, Outcome("interrupted", stop.cause, stop.reason))
        return
    summary = store.get(run_id).summary  # what the start and the forecast recorded
    summary.update({"stopped_early": result.status == "early_stopped", "best_epoch": result.best_epoch})
    if result.status == "diverged":
        store.set_outcome(run_id, Outcome("diverged", Cause.DIVERGED, result.reason, summary=summary))
        return
    metrics = write_test_outputs(trainer, data, folder)
    metric, value = test_metric_of(metrics)
    summary.update(
        {
            k: metrics[k]
            for k in ("accuracy", "balanced_accuracy", "rmse", "mae", "r2", "naive_rmse", "baselines")
            if k in metrics
        }
    )
    if metrics["task"] == "classification":
        summary["macro_f1"] = metrics["report"]["macro avg"]["f1-score"]
    ended = Outcome("finished", test_metric=metric, test_value=value, summary=summary)
    if result.status == "stopped":  # by the user, by its sweep (held, pruned, time limit): the flag says why
        ended = Outcome(stop.status, stop.cause, stop.reason, metric, value, summary)
    store.set_outcome(run_id, ended)


def series_baselines(
    data: Dataset, cfg: RunConfig, actual: np.ndarray, forecast: np.ndarray
) -> tuple[dict[str, Any], np.ndarray | None]:
    """The classical forecasters fit on the run's training part, scored one step ahead on its test steps, and the
    test steps' forecasts of the one that scored best (kept for the verdict's test)."""
    series, steps = data.display["series"], data.display["t"]
    return scored(series, series_bounds(len(series), cfg)[0], steps, actual, forecast)


def write_test_outputs(trainer: Trainer, data: Dataset, folder: RunFolder) -> dict[str, Any]:
    """Evaluate on the test split; save the weights, predictions, viewable examples and the report."""
    folder.save_weights(trainer.model.state_dict())
    out = trainer.predict(data.test.to(trainer.device)).float()
    y = data.test.y.cpu()
    if data.task == "classification":
        probs = torch.softmax(out, dim=1).numpy()
        y_true, y_pred = y.numpy(), probs.argmax(1)
        metrics = classification_metrics(y_true, y_pred, data.classes)
        predictions = Predictions(y_true, y_pred, probs=probs)
    else:
        y_true, y_pred, naive = series_levels(data, y.numpy(), out.numpy())
        y_pred, mixed = blend(trainer, data, trainer.cfg, y_true, y_pred)
        metrics = regression_metrics(y_true, y_pred, naive)
        said, classical = series_baselines(data, trainer.cfg, y_true[:, 0], y_pred[:, 0])
        metrics.update(said, horizon=trainer.cfg.horizon)
        if mixed is not None:  # the Playground blends as the run did
            metrics["blend"] = mixed
            folder.write_facts(blended_facts(data, mixed))
        predictions = Predictions(y_true, y_pred, naive=naive, classical=classical)
    predictions = replace(predictions, index=data.test.index, val_index=data.val.index)
    folder.write_results(metrics, predictions, data.display)
    return metrics
