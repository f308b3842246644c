"""The job manager: one per process. It keeps the queue lanes and the liveness of the runs this process holds, and
hands each run to the executor its placement names (nnlab.jobs.executor): a run placed on this machine to the
manager's local executor ("thread" or "process") when its lane has room, a run placed elsewhere ("ray") to that
executor at once (its cluster schedules it).

A lane is a queue with its own number of runs at once: the runs started one by one share the lane "runs" (one at a
time by default), and each sweep trains its trials in a lane of its own sized by its "trials at once", so a sweep's
parallelism never reaches the other runs and a resumed sweep gets it back from its spec."""

from __future__ import annotations

import atexit
import threading
import time
from collections import deque
from dataclasses import replace
from functools import partial

from nnlab.core.causes import NOT_STARTED, STOP_REASON, STOP_STATUS, Cause
from nnlab.core.config import RunConfig
from nnlab.core.errors import NNLabError
from nnlab.core.liveness import Heartbeat
from nnlab.core.placement import Placement, placements
from nnlab.core.records import RESUMABLE, Outcome, RunRecord
from nnlab.data.registry import check
from nnlab.jobs.executor import EpochObserver, Executor, InProcess, Job, Settings, build
from nnlab.jobs.lanes import RUNS_LANE
from nnlab.store.runs import RunStore

CARRIED = ("queued", "running", "interrupted")  # runs an executor elsewhere may still carry after a restart


class JobManager:
    """Queues runs lane by lane (`concurrency` at a time in the lane "runs") and hands them to their executors."""

    def __init__(
        self,
        store: RunStore,
        concurrency: int = 1,
        leave_core: bool = True,
        local: str = "thread",
    ):
        self.store, self.local = store, local  # local: the executor of runs placed on this machine
        self.settings = Settings(leave_core)
        self._executors: dict[str, Executor] = {}
        self._lanes: dict[str, int] = {RUNS_LANE: concurrency}  # lane -> runs at once
        self._queue: deque[tuple[Job, str]] = deque()  # every lane's jobs, in order, with their lane
        self._busy: dict[str, str] = {}  # run id -> its lane, while a local executor has it
        self._cv = threading.Condition()
        self._closed = False
        self._heartbeat: Heartbeat | None = None
        for kind in store.placement_kinds(CARRIED) & (set(placements()) - {"local"}):
            self.executor_for(Placement(kind)).reattach()  # runs of an earlier process train on; found again
        atexit.register(self.shutdown)

    def executor_for(self, placement: Placement) -> Executor:
        """The executor that carries out runs with this placement (built on first use)."""
        name = self.local if placement.is_local else placement.kind
        with self._cv:
            if name not in self._executors:
                self._executors[name] = build(name, self.store, self.settings)
            return self._executors[name]

    def _built(self) -> list[Executor]:
        with self._cv:
            return list(self._executors.values())

    def take_over(self) -> list[str]:
        """The dashboard's manager: queue the queued runs an earlier server left behind (oldest first) and keep
        doing so, renewing this process's heartbeat and marking lost runs interrupted; returns the ids queued."""
        if self._heartbeat is None:
            self._heartbeat = Heartbeat(self._tick, name="nnlab-manager-heartbeat")
        return self._adopt()

    def _tick(self) -> None:
        self.store.beat()
        self._adopt()

    def _adopt(self) -> list[str]:
        if self.closed:
            return []
        elsewhere = [e for e in self._built() if not e.here]  # their runs wait for a cluster, not for a server
        taken = self.store.adopt_orphans(lambda run_id: not any(e.is_active(run_id) for e in elsewhere))
        for run_id in taken:  # resume=True: a run that was resumed before it was queued continues its checkpoint
            self._dispatch(Job(run_id, True, self.store.get(run_id).placement), RUNS_LANE)
        return taken

    def resume_all(self) -> list[str]:
        """Queue every interrupted run (not a sweep's trial: its sweep resumes it), oldest first; returns their ids."""
        runs = [r for r in reversed(self.store.list("interrupted")) if not r.sweep_id]
        for rec in runs:
            self.resume(rec.run_id)
        return [r.run_id for r in runs]

    # -- public ---------------------------------------------------------------------------------
    def set_lane(self, lane: str, concurrency: int) -> None:
        """How many runs of `lane` train at once (a sweep's "trials at once"); other lanes are untouched."""
        with self._cv:
            self._lanes[lane] = max(1, concurrency)
            self._pump()

    def submit(
        self,
        cfg: RunConfig,
        observer: EpochObserver | None = None,
        run_id: str | None = None,
        placement: Placement | None = None,
        lane: str = RUNS_LANE,
        in_process: InProcess = InProcess(),
    ) -> str:
        """Validate, record as queued (or take the given queued record) and hand it to the executor of its placement
        (this machine by default), in `lane` where it trains here; returns the run id. in_process reaches the run
        where it trains in this process."""
        check(cfg)
        placement = placement or Placement()
        self.executor_for(placement).admit(cfg)
        run_id = run_id or self.store.create(cfg)
        self.store.set_placement(run_id, placement)
        self._dispatch(Job(run_id, False, placement, observer, in_process), lane)
        return run_id

    def resume(
        self,
        run_id: str,
        observer: EpochObserver | None = None,
        placement: Placement | None = None,
        lane: str = RUNS_LANE,
        in_process: InProcess = InProcess(),
    ) -> str:
        """Queue an interrupted, stopped or failed run to continue from its last checkpoint where it was placed (or
        at `placement`); returns what resuming does: from which epoch (and why when that is before the last recorded
        one), and where, with why not where it was placed when that cannot take it now."""
        rec = self.store.get(run_id)
        if rec.status not in RESUMABLE:
            raise NNLabError(f"Run {run_id} is {rec.status}; only interrupted, stopped or failed runs can be resumed.")
        if any(e.is_active(run_id) for e in self._built()):
            raise NNLabError(f"Run {run_id} is being found again where it trained; wait a few seconds.")
        placement, where = self._reachable(rec, placement or rec.placement)
        point = self.store.folder(run_id).resume_point(rec.epochs_done)  # before the run takes up its checkpoint
        self.store.requeue(run_id)
        self.store.set_placement(run_id, placement)
        self._dispatch(Job(run_id, True, placement, observer, in_process), lane)
        return f"{point} {where}".strip()

    def _reachable(self, rec: RunRecord, wanted: Placement) -> tuple[Placement, str]:
        """Where a resumed run goes: `wanted`, or this machine when that cannot take runs now; and a sentence."""
        if wanted.is_local:
            return wanted, ""
        why = f"this nnlab has no {wanted.kind} executor" if wanted.kind not in placements() else ""
        why = why or self.executor_for(wanted).unavailable(wanted)
        if why:
            return Placement(), f"It trained on {wanted.where}, but {why}: it resumes on this machine instead."
        return wanted, f"It resumes on {wanted.where}, where it trained."

    def _dispatch(self, job: Job, lane: str) -> None:
        executor = self.executor_for(job.placement)
        if executor.here:  # this machine's lanes decide when it starts
            self._enqueue(job, lane)
        else:  # its cluster's scheduler decides
            executor.submit(job)

    def stop(self, run_id: str, cause: Cause = Cause.USER, reason: str = "") -> str:
        """Stop a queued run at once or a running one at the next batch, for `cause` with this sentence (or the
        cause's own; a plain Stop of a queued run: "Stopped before it started."); says what happened."""
        reason = reason or STOP_REASON[cause]
        with self._cv:
            item = next((i for i in self._queue if i[0].run_id == run_id), None)
            if item is not None:
                self._queue.remove(item)
                before = NOT_STARTED if cause == Cause.USER else reason
                self.store.set_outcome(run_id, Outcome(STOP_STATUS[cause], cause, before))
                return f"Run {run_id} was removed from the queue."
        for executor in self._built():
            said = executor.stop(run_id, cause, reason)
            if said:
                return said
        return f"Run {run_id} is not running in this server."

    @property
    def closed(self) -> bool:
        """Shutting down (the process ends): running jobs are being interrupted and no new one is taken."""
        with self._cv:
            return self._closed

    def is_active(self, run_id: str) -> bool:
        """Queued or running in this manager, or carried by an executor elsewhere that it handed the run to."""
        with self._cv:
            if run_id in self._busy or any(job.run_id == run_id for job, _ in self._queue):
                return True
        return any(e.is_active(run_id) for e in self._built())

    def queued(self, lane: str | None = None) -> list[str]:
        """Run ids waiting, in order (of one lane, or of every lane)."""
        with self._cv:
            return [job.run_id for job, at in self._queue if lane is None or at == lane]

    def place(self, run_id: str) -> int:
        """Where a run waits in its lane: 1 for the next to start when a run of the lane ends, 2 for the one after;
        0 when it is not waiting here, or when its lane has room for it now (a worker is about to take it)."""
        with self._cv:
            lane = next((at for job, at in self._queue if job.run_id == run_id), None)
            if lane is None:
                return 0
            waiting = [job.run_id for job, at in self._queue if at == lane]
            room = self._lanes.get(lane, 1) - sum(1 for busy in self._busy.values() if busy == lane)
            return max(0, waiting.index(run_id) + 1 - room)

    def running(self) -> list[str]:
        """Run ids a local executor has taken (loading their data or training), oldest first."""
        with self._cv:
            return list(self._busy)

    def stop_all(self) -> int:
        """Empty the queue and stop every running run at its next batch; returns how many were stopped."""
        ids = [*self.queued(), *self.running()]
        for run_id in ids:
            self.stop(run_id)
        return len(ids)

    def wait(self, run_id: str, timeout: float = 600) -> RunRecord:
        """Block until a run leaves the queue and finishes (for the command line and tests)."""
        deadline = time.monotonic() + timeout
        while self.is_active(run_id) and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.store.get(run_id)

    def close(self) -> None:
        """Take no new work and interrupt what trains here (resumable, cause "shutdown"), without waiting: safe in a
        signal handler. Queued runs stay queued in the store for the next server; runs elsewhere train on."""
        with self._cv:
            self._closed = True
        for executor in self._built():
            executor.shutdown(timeout=0)

    def shutdown(self, timeout: float = 10) -> None:
        """close(), then wait up to `timeout` for what trains here to record its end."""
        self.close()
        if self._heartbeat is not None:
            self._heartbeat.stop()
        for executor in self._built():
            executor.shutdown(timeout)

    # -- lanes ----------------------------------------------------------------------------------
    def _enqueue(self, job: Job, lane: str) -> None:
        with self._cv:
            if self._closed:
                raise NNLabError("The job manager is shutting down; start the run again after the restart.")
            self._lanes.setdefault(lane, 1)
            self._queue.append((job, lane))
            self._pump()

    def _pump(self) -> None:
        """Hand the next jobs of every lane with room to the local executor (called with the lock held; submit
        returns at once: the executor's own thread claims the run and trains it)."""
        for job, lane in list(self._queue):
            if self._closed or sum(1 for at in self._busy.values() if at == lane) >= self._lanes.get(lane, 1):
                continue
            self._queue.remove((job, lane))
            self._busy[job.run_id] = lane
            self.executor_for(job.placement).submit(replace(job, done=partial(self._release, job.run_id)))

    def _release(self, run_id: str) -> None:
        with self._cv:
            self._busy.pop(run_id, None)
            self._pump()
            self._cv.notify_all()
