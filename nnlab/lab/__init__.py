"""The service: every action that changes state, for every front end.

The dashboard, the command line and any later front end (a REST API would be routes over a Lab) change state
only through a Lab: start runs (one config, K seeds, a placement, a name and a note), resume one or every
interrupted run, stop, delete, rename and note; start, resume, pause and stop sweeps; export; check a run's
training labels and retrain without the doubtful rows. They read
anything below it (the store, the analyses, the views). What an action allows (how many seeds, which queue,
how many runs at once, where a run resumes) is decided here, once, so front ends cannot drift apart.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from nnlab.lab.handover import HandoverActions
from nnlab.lab.labels import LabelActions
from nnlab.lab.runs import Started
from nnlab.lab.seeds import SeedActions
from nnlab.lab.space import SpaceActions
from nnlab.lab.sweeps import SweepActions
from nnlab.store.runs import RunStore
from nnlab.store.unpacked import clean_workspace
from nnlab.sweeps.store import SweepStore

if TYPE_CHECKING:
    from nnlab.jobs.manager import JobManager

__all__ = ["Lab", "Started"]
ISOLATE_ENV = "NNLAB_ISOLATE"  # "0": the dashboard trains in threads of its own process, not in child processes


class Lab(SeedActions, SweepActions, HandoverActions, SpaceActions, LabelActions):
    """Every action on one workspace. `store` and `sweeps` are there to read; `jobs` is the lab's own, made on
    first use (listing runs or comparing them starts no job manager, no Ray driver)."""

    def __init__(self, home: str | Path | None = None, *, local: str = "thread", leave_core: bool = False):
        self.store = RunStore(home)
        self.sweeps = SweepStore(self.store)
        self._local, self._leave_core = local, leave_core
        self._jobs: JobManager | None = None
        self._lock = threading.Lock()
        self._usage, self._usage_lock, self._visitors = None, threading.Lock(), {}  # for SpaceActions

    @property
    def jobs(self) -> JobManager:
        """The job manager: its queue lanes and the executors it hands runs to."""
        from nnlab.jobs.manager import JobManager  # torch and the trainer: only when a job is at hand

        with self._lock:
            if self._jobs is None:
                self._jobs = JobManager(self.store, leave_core=self._leave_core, local=self._local)
            return self._jobs

    @classmethod
    def for_dashboard(cls, home: str | Path) -> Lab:
        """The dashboard's lab: runs train in child processes (the pages' script runs never slow them) and leave
        a core to the pages; queued runs of the previous server start now, and keep being taken over."""
        lab = cls(home, local="thread" if os.environ.get(ISOLATE_ENV) == "0" else "process", leave_core=True)
        lab.jobs.take_over()
        clean_workspace(lab.store)  # archives unpacked for runs deleted since, or for previews never started
        return lab

    # -- what is going on (reads the front ends need of the jobs) ----------------------------------
    def queued(self) -> list[str]:
        """Run ids waiting in this server, in order."""
        return self.jobs.queued()

    def running(self) -> list[str]:
        """Run ids training in this server (or handed to a Ray cluster from it), oldest first."""
        return self.jobs.running()

    def is_active(self, run_id: str) -> bool:
        """Queued or running in this server, or on a Ray cluster it sent the run to."""
        return self.jobs.is_active(run_id)

    def clusters(self) -> list[dict]:
        """The clusters of the executors elsewhere (Ray) this workspace is connected to: nodes, CPUs, GPUs, runs."""
        from nnlab.core.placement import Placement, placements

        return [c for kind in placements()[1:] for c in self.jobs.executor_for(Placement(kind)).clusters()]

    def shutdown(self, wait: bool = True) -> None:
        """Interrupt what trains here (resumable, cause "shutdown") and take no more work: the process is ending.
        Without `wait` it only asks (safe in a signal handler); runs placed elsewhere train on."""
        if self._jobs is None:
            return
        if wait:
            self._jobs.shutdown()
        else:
            self._jobs.close()
