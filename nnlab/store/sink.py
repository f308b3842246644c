"""What the runner (nnlab.engine.runner.execute) reads of the run it trains and writes about it, named once.

Two classes implement it: the run store (SQLite and the run folder, on the machine of the workspace) and the Ray
relay (nnlab.jobs.ray.worker.RelayStore: kept in memory and a worker-side folder, pulled by the driver). A new
place to train writes through one of them, or is a third implementation of this class."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from nnlab.core.records import EpochRecord, Outcome, Progress, RunRecord
from nnlab.store.runfolder import RunFolder


class RunSink(ABC):
    """The runner's side of a run: its record and folder to read, and its progress, epochs and outcome to write."""

    @abstractmethod
    def get(self, run_id: str) -> RunRecord:
        """The run's record: its config, and what it has recorded so far."""

    @abstractmethod
    def folder(self, run_id: str) -> RunFolder:
        """The run's files: its checkpoints, results and data facts are written and read there."""

    @abstractmethod
    def set_started(self, run_id: str, device: str, summary: dict[str, Any]) -> None:
        """Training begins: the device it trains on and the sizes it trains with (parameters, splits, epochs)."""

    @abstractmethod
    def add_summary(self, run_id: str, values: dict[str, Any]) -> None:
        """Facts learned while it trains (its forecast, what its first epoch took), kept in its summary."""

    @abstractmethod
    def workspace(self) -> Path | None:
        """The workspace the run is recorded in, where it lives on this machine (None on a Ray worker)."""

    @abstractmethod
    def set_progress(self, run_id: str, progress: Progress | None) -> None:
        """Where training is within an epoch (None: no longer training)."""

    @abstractmethod
    def add_epoch(self, run_id: str, rec: EpochRecord, best: tuple[float, float, int] | None) -> None:
        """One finished epoch; `best` (val loss, val metric, epoch) when it is the best so far."""

    @abstractmethod
    def truncate_metrics(self, run_id: str, after_epoch: int) -> None:
        """Forget the epochs after the checkpoint a resumed run continues from."""

    @abstractmethod
    def set_outcome(self, run_id: str, outcome: Outcome) -> None:
        """How the run ended (status, cause and sentence, test result); its live progress is cleared."""
