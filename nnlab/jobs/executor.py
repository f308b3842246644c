"""The executor protocol and its registry: where the job manager's runs train.

An executor carries out runs: submit, stop, is-active and re-attach. The job manager keeps the queue lanes and
calls a run's executor by its placement: a run placed "local" goes to the manager's local executor ("thread" on
the command line, "process" in the dashboard), any other placement to the executor of that name ("ray"). The
names are registered in nnlab.core.placement.EXECUTORS (as "module:Class", so front ends know the choices
without importing any executor) and built here on first use.

A new executor (Slurm, Kubernetes) is one module with a subclass of Executor and one line in EXECUTORS; it
writes the run's progress, epochs and outcome into the store (a RunSink: see nnlab.store.sink), or runs the
ordinary runner (nnlab.engine.runner.execute) where the workspace is, as the Ray executor's workers do.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nnlab.core.causes import Cause
from nnlab.core.config import RunConfig
from nnlab.core.errors import NNLabError
from nnlab.core.placement import EXECUTORS, Placement
from nnlab.core.records import EpochRecord
from nnlab.store.runs import RunStore

if TYPE_CHECKING:
    from nnlab.data.base import Dataset
    from nnlab.engine.train import Callback  # torch: only where a run trains in this process

# Called on this side with each epoch's record of a run, after the store has it; True means "prune it now": the
# run stops at the next batch boundary and ends as `pruned`, its curve and results kept.
EpochObserver = Callable[[str, EpochRecord], bool]


@dataclass(frozen=True)
class Settings:
    """How runs training on this machine use its cores: leave one to the dashboard's pages (leave_core)."""

    leave_core: bool = False


@dataclass(frozen=True)
class InProcess:
    """What reaches a run only where it trains in this process (the command line's foreground run)."""

    listeners: tuple[Callback, ...] = ()  # trainer listeners: a progress bar
    data: Dataset | None = None  # its dataset, already read and checked by the caller for this very config
    sole: bool = False  # the process's only work: the process is capped at the run's memory budget


@dataclass(frozen=True)
class Job:
    """One run for an executor to carry out: queued in the store, to start afresh or to resume from its checkpoint."""

    run_id: str
    resume: bool
    placement: Placement
    observer: EpochObserver | None = None  # sees each epoch on this side (a sweep's pruner, the command line)
    in_process: InProcess = InProcess()
    done: Callable[[], None] = lambda: None  # called once the run no longer holds a slot of this machine's lanes


class Executor(ABC):
    """Carries out the job manager's runs somewhere. One that trains `here` (on this machine) is handed a run when its
    lane has room and calls job.done when the run has ended; one elsewhere takes the queued run over at once (its
    own scheduler, a cluster's, decides when it trains) and answers for it until it ends, also after a restart."""

    here = True

    def __init__(self, store: RunStore, settings: Settings):
        self.store, self.settings = store, settings

    @abstractmethod
    def submit(self, job: Job) -> None:
        """Start carrying out a job; returns at once."""

    @abstractmethod
    def stop(self, run_id: str, cause: Cause, reason: str) -> str | None:
        """Ask a run this executor carries to stop at its next batch, for `cause` with this sentence; says what
        happens, or None when the run is not this executor's."""

    @abstractmethod
    def is_active(self, run_id: str) -> bool:
        """Whether this executor still carries the run (waiting for resources, training, recording its end)."""

    def reattach(self) -> None:
        """After a restart: find again the runs an earlier process handed to this executor (they trained on)."""
        return None  # by default none: runs on this machine end with the process that trained them

    def admit(self, cfg: RunConfig) -> None:
        """Refuse (NNLabError) a run this executor cannot train, before it is queued."""
        return None  # by default it takes every checked config

    def unavailable(self, placement: Placement) -> str:
        """Why runs cannot be sent to this placement now, as a clause ("" when they can): "Ray is not installed"."""
        return ""

    def clusters(self) -> list[dict]:
        """What this executor's clusters look like now (address, nodes, CPUs, GPUs, runs), for the Home page."""
        return []

    def shutdown(self, timeout: float) -> None:
        """The process is ending: interrupt what trains here (resumable) and wait up to `timeout` for it."""
        return None  # by default nothing: runs elsewhere train on, and the next process finds them (reattach)


def build(name: str, store: RunStore, settings: Settings) -> Executor:
    """The executor registered as `name`, imported now."""
    if name not in EXECUTORS:
        raise NNLabError(f"Executor {name!r} is not known; use one of {', '.join(EXECUTORS)}.")
    module, _, cls = EXECUTORS[name].partition(":")
    executor = getattr(importlib.import_module(module), cls)(store, settings)
    if not isinstance(executor, Executor):
        raise TypeError(f"{EXECUTORS[name]} is not an Executor")
    return executor
