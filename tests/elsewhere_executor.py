"""An executor written outside nnlab, as a Slurm or Kubernetes one would be: one module and one registry line
(nnlab.core.placement.EXECUTORS). It stands for a cluster: runs train on its own schedule (`here = False`), in a
thread of this process, through the ordinary runner; `down` says why it cannot take runs now."""

from __future__ import annotations

from nnlab.core.placement import Placement
from nnlab.engine.runner import execute
from nnlab.jobs.executor import Job
from nnlab.jobs.local import LocalExecutor

SUBMITTED: list[tuple[str, bool]] = []  # (run id, resume) of every job this executor was given


class ElsewhereExecutor(LocalExecutor):
    """Trains each run in a thread of its own as soon as it is submitted (its "cluster" has room for all)."""

    here = False
    down = ""  # set by a test: why the cluster cannot take runs now

    def submit(self, job: Job) -> None:
        SUBMITTED.append((job.run_id, job.resume))
        super().submit(job)

    def train(self, job: Job, flag) -> None:
        execute(self.store, job.run_id, flag, job.in_process.listeners, job.resume)

    def unavailable(self, placement: Placement) -> str:
        return type(self).down
