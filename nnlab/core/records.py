"""Small frozen records of runs, epochs and live progress: no torch, no sqlite (the store and the loop share them)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any

from nnlab.core.causes import Cause
from nnlab.core.config import RunConfig
from nnlab.core.placement import Placement

STATUSES = ("queued", "running", "finished", "stopped", "pruned", "failed", "diverged", "interrupted")
ACTIVE = ("queued", "running")
RESUMABLE = ("interrupted", "stopped", "failed")  # failed: e.g. a full disk, fixed since

# Every metric nnlab reports and its direction, the one table of it (records, statistics, sweeps and the tables
# read it): name -> higher is better (scikit-learn's convention: a *_score is higher-better, a *_loss lower).
# The headline test metric is accuracy for classifiers and RMSE for forecasters.
METRICS: dict[str, bool] = {"accuracy": True, "balanced_accuracy": True, "macro_f1": True, "r2": True}
METRICS |= {"rmse": False, "mae": False, "naive_rmse": False, "loss": False}


def higher_is_better(metric: str) -> bool:
    """Whether a larger value of this metric is the better one (accuracy yes, RMSE no)."""
    return METRICS[metric]


def improves(val_loss: float, best_loss: float, min_delta: float) -> bool:
    """Whether an epoch is a new best: its validation loss below the best so far by more than min_delta (the rule
    of the best checkpoint and early stopping, and of the command line's `*`)."""
    return val_loss < best_loss - min_delta


def best_loss(history: Iterable[EpochRecord], min_delta: float) -> float:
    """The best validation loss of these epochs as the trainer counts it: each new best by improves()."""
    best = math.inf
    for record in history:
        if improves(record.val_loss, best, min_delta):
            best = record.val_loss
    return best


@dataclass(frozen=True)
class EpochRecord:
    """One epoch's metrics, as stored and plotted."""

    epoch: int
    train_loss: float
    val_loss: float
    val_metric: float  # the task's metric on validation: accuracy (classifiers) or RMSE in data units (regressors)
    lr: float
    seconds: float
    samples_per_s: float

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EpochRecord:
        """From asdict(), also as checkpoints wrote it when val_metric was called val_score."""
        d = dict(d)
        if "val_score" in d:
            d["val_metric"] = d.pop("val_score")
        return cls(**d)


@dataclass(frozen=True)
class Progress:
    """Where training is within an epoch: sent to listeners a few times a second, stored, shown."""

    epoch: int
    epochs: int
    fraction: float  # of this epoch
    samples_per_s: float
    eta_s: float  # to the end of the run
    train_loss: float  # smoothed
    lr: float | None = None  # the optimizer's rate when stored
    time: float | None = None  # when stored (seconds since the epoch)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | None) -> Progress | None:
        """The stored progress, or None where there is none (or it is not a progress record)."""
        if not text or text == "{}":
            return None
        try:
            return cls(**json.loads(text))
        except (TypeError, ValueError):
            return None


@dataclass(frozen=True)
class RunRecord:
    """One run as stored: its frozen config and what training learned about it."""

    run_id: str
    created: float
    updated: float
    status: str
    arch: str
    dataset: str
    config: RunConfig
    reason: str
    epochs_done: int
    best_val_loss: float | None
    best_val_metric: float | None  # the validation metric (see test_metric for which) at the best epoch
    best_epoch: int | None
    test_metric: str | None  # "accuracy" or "rmse": the name of test_value and best_val_metric
    test_value: float | None
    seconds: float
    samples_per_s: float | None
    device: str
    pid: int | None
    progress: Progress | None
    summary: dict[str, Any]
    sweep_id: str | None = None  # the sweep this run is a trial of (nnlab.sweeps.driver), and its trial number there
    trial: int | None = None
    name: str = ""  # what the user called the run ("" until renamed: nnlab.analysis.naming gives its default)
    note: str = ""  # the user's note on it
    cause: Cause = Cause.NONE  # why it stopped, failed or was interrupted (reason is the sentence for people)
    placement: Placement = Placement()  # where it was last placed: a resume sends it back there

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def epochs_planned(self) -> int:
        """The epochs the run trains at most: as given, or as fitted to the data when given as 0 (auto)."""
        return int(self.summary.get("epochs") or self.config.epochs)

    @property
    def higher_is_better(self) -> bool | None:
        """The direction of test_value and best_val_metric; None before the run has a test metric."""
        return higher_is_better(self.test_metric) if self.test_metric else None

    @property
    def score_text(self) -> str:
        """The test score as a person reads it: "accuracy 0.970", "rmse 1.23"; "–" without one."""
        return f"{self.test_metric} {self.test_value:.3f}" if self.test_value is not None else "–"

    @property
    def created_iso(self) -> str:
        return datetime.fromtimestamp(self.created, UTC).strftime("%Y-%m-%d %H:%M:%S")

    def to_json_dict(self) -> dict[str, Any]:
        """A flat, JSON-ready view for the command line."""
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("config", "progress")}
        d["created"] = self.created_iso
        d["config"] = json.loads(self.config.to_json())
        d["cause"], d["placement"] = str(self.cause), asdict(self.placement)
        if self.test_metric:
            d[f"test_{self.test_metric}"] = self.test_value
            d["higher_is_better"] = self.higher_is_better
        return d


@dataclass(frozen=True)
class Outcome:
    """How a run ended: its status, why (a cause and a sentence), and its test result where it has one."""

    status: str
    cause: Cause = Cause.NONE
    reason: str = ""
    test_metric: str | None = None
    test_value: float | None = None
    summary: dict[str, Any] | None = None  # replaces the stored summary when given


RUN_COLUMNS = tuple(f.name for f in fields(RunRecord))
EPOCH_COLUMNS = tuple(f.name for f in fields(EpochRecord))
