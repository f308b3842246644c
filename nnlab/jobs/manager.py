"""The background job manager: one per process, FIFO queues in lanes, worker threads, stop at a batch boundary.

A lane is a queue with its own number of runs at once: the dashboard's runs share the lane "runs" (one at a time
by default), and each sweep trains its trials in a lane of its own sized by its "trials at once", so a sweep's
parallelism never reaches the other runs and a resumed sweep gets it back from its spec."""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections import deque
from collections.abc import Callable

from nnlab.core.config import RunConfig
from nnlab.core.errors import NNLabError
from nnlab.core.liveness import Heartbeat
from nnlab.core.placement import Placement
from nnlab.core.records import NOT_STARTED, RESUMABLE, USER_STOPPED, EpochRecord, RunRecord
from nnlab.data.registry import check
from nnlab.engine.runner import StopFlag, execute, refuse_unrunnable_precision
from nnlab.engine.train import Callback, Trainer, resolve_device
from nnlab.jobs.lanes import RUNS_LANE
from nnlab.jobs.process import run_isolated
from nnlab.jobs.ray.backend import RayBackend
from nnlab.store.runs import RunStore

# Called on the driver (this process) with each epoch's record of a run, after the store has it; True means
# "prune it now": the run stops at the next batch boundary and ends as `pruned`, its curve and results kept.
# The local executor calls it from the run's epoch listener; a remote executor calls it as epochs arrive.
EpochObserver = Callable[[str, EpochRecord], bool]
SHUTDOWN_REASON = "Interrupted (server shut down); resume it to continue from its last complete epoch."
PRUNED_REASON = "Pruned after epoch {epoch}: its validation value was behind the other trials' at that epoch."


class _Observe(Callback):
    """Hands each finished epoch to an EpochObserver and prunes the run when it says so."""

    def __init__(self, run_id: str, observer: EpochObserver, flag: StopFlag):
        self.run_id, self.observer, self.flag = run_id, observer, flag

    def on_epoch_end(self, trainer: Trainer, record: EpochRecord, improved: bool) -> None:
        if not self.flag.is_set() and self.observer(self.run_id, record):
            self.flag.request("pruned", PRUNED_REASON.format(epoch=record.epoch))


class JobManager:
    """Runs queued runs in daemon threads, lane by lane (`concurrency` at a time in the lane "runs"), or hands
    them to a Ray cluster when the run's placement says so."""

    def __init__(
        self,
        store: RunStore,
        concurrency: int = 1,
        leave_core: bool = True,
        executor: Placement | None = None,
        isolate: bool = False,
    ):
        self.store, self.leave_core = store, leave_core
        self.executor = executor  # where runs given no executor train (None: here); a sweep's choice
        self.isolate = isolate  # train in a child process (the dashboard: its script runs keep their own GIL)
        self._lanes: dict[str, int] = {RUNS_LANE: concurrency}  # lane -> runs at once
        self._queue: deque[tuple[str, bool, EpochObserver | None, str]] = deque()  # every lane's, in order
        self._running: dict[str, StopFlag] = {}
        self._busy: dict[str, str] = {}  # run id -> its lane, while a worker has it
        self._cv = threading.Condition()
        self._workers: list[threading.Thread] = []
        self._idle: dict[str, int] = {}  # lane -> workers waiting for a run
        self._closed = False
        self._heartbeat: Heartbeat | None = None
        self.ray = RayBackend(store, PRUNED_REASON)
        self.ray.reattach()  # Ray runs of an earlier dashboard keep training; their driver finds them
        atexit.register(self.shutdown)

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
        taken = self.store.adopt_orphans(lambda run_id: not self.ray.is_active(run_id))  # Ray's driver has those
        for run_id in taken:  # resume=True: a run that was resumed before it was queued continues its checkpoint
            self._enqueue(run_id, resume=True, observer=None, lane=RUNS_LANE)
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
            self._cv.notify_all()

    def submit(
        self,
        cfg: RunConfig,
        observer: EpochObserver | None = None,
        run_id: str | None = None,
        executor: Placement | None = None,
        lane: str = RUNS_LANE,
    ) -> str:
        """Validate, record as queued (or take the given queued record), queue it in `lane` here or hand it to Ray
        (executor); returns the run id."""
        check(cfg)
        executor = executor or self.executor
        if cfg.precision == "bf16" and not (executor and executor.is_ray):  # a Ray worker checks its own device
            refuse_unrunnable_precision(cfg, resolve_device(cfg.device))
        run_id = run_id or self.store.create(cfg)
        self._dispatch(run_id, False, observer, executor, lane)
        return run_id

    def resume(
        self,
        run_id: str,
        observer: EpochObserver | None = None,
        executor: Placement | None = None,
        lane: str = RUNS_LANE,
    ) -> str:
        """Queue an interrupted or stopped run to continue from its last checkpoint (on Ray if it trained there);
        returns what resuming does (from which epoch, and why when that is before the last recorded one)."""
        rec = self.store.get(run_id)
        if rec.status not in RESUMABLE:
            raise NNLabError(f"Run {run_id} is {rec.status}; only interrupted, stopped or failed runs can be resumed.")
        if self.ray.is_active(run_id):
            raise NNLabError(f"Run {run_id} is being found again on its Ray cluster; wait a few seconds.")
        point = self.store.folder(run_id).resume_point(rec.epochs_done)  # before the run takes up its checkpoint
        self.store.update(run_id, status="queued", reason="", pid=os.getpid())
        self._dispatch(run_id, True, observer, executor or self.ray.previous(run_id) or self.executor, lane)
        return point

    def _dispatch(
        self, run_id: str, resume: bool, observer: EpochObserver | None, executor: Placement | None, lane: str
    ) -> None:
        if executor is not None and executor.is_ray:
            self.ray.submit(run_id, executor, resume, observer)
        else:
            self._enqueue(run_id, resume=resume, observer=observer, lane=lane)

    def stop(self, run_id: str, status: str = "stopped", reason: str = USER_STOPPED) -> str:
        """Stop a queued run at once or a running one at the next batch, ending as `status` with `reason` (a plain
        Stop of a queued run: "Stopped before it started."); says what happened."""
        with self._cv:
            for item in list(self._queue):
                if item[0] == run_id:
                    self._queue.remove(item)
                    before = NOT_STARTED if reason == USER_STOPPED else reason
                    self.store.update(run_id, status=status, reason=before)
                    return f"Run {run_id} was removed from the queue."
            flag = self._running.get(run_id)
        if flag is None and self.ray.stop(run_id, status, reason):
            return f"Run {run_id} will stop at the end of the current batch on its Ray worker."
        if flag is None:
            return f"Run {run_id} is not running in this server."
        flag.request(status, reason)
        return f"Run {run_id} will stop at the end of the current batch."

    @property
    def closed(self) -> bool:
        """Shutting down (the server exits): running jobs are being interrupted and no new one is taken."""
        with self._cv:
            return self._closed

    def is_active(self, run_id: str) -> bool:
        """Queued or running in this manager."""
        with self._cv:
            if run_id in self._running or any(item[0] == run_id for item in self._queue):
                return True
        return self.ray.is_active(run_id)

    def queued(self, lane: str | None = None) -> list[str]:
        """Run ids waiting, in order (of one lane, or of every lane)."""
        with self._cv:
            return [item[0] for item in self._queue if lane is None or item[3] == lane]

    def place(self, run_id: str) -> int:
        """Where a run waits in its lane: 1 for the next to start when a run of the lane ends, 2 for the one after;
        0 when it is not waiting here, or when its lane has room for it now (a worker is about to take it)."""
        with self._cv:
            lane = next((item[3] for item in self._queue if item[0] == run_id), None)
            if lane is None:
                return 0
            waiting = [item[0] for item in self._queue if item[3] == lane]
            room = self._lanes.get(lane, 1) - sum(1 for busy in self._busy.values() if busy == lane)
            return max(0, waiting.index(run_id) + 1 - room)

    def running(self) -> list[str]:
        """Run ids a worker has taken (loading their data or training), oldest first."""
        with self._cv:
            return list(self._running)

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

    def shutdown(self, timeout: float = 10) -> None:
        """Interrupt running jobs (resumable, not the user's Stop) and wait for them to exit; queued runs stay
        queued in the store for the next server to start."""
        with self._cv:
            self._closed = True
            for flag in self._running.values():
                flag.request("interrupted", SHUTDOWN_REASON)
            self._cv.notify_all()
        if self._heartbeat is not None:
            self._heartbeat.stop()
        for t in self._workers:
            t.join(timeout)

    # -- workers --------------------------------------------------------------------------------
    def _enqueue(self, run_id: str, resume: bool, observer: EpochObserver | None, lane: str) -> None:
        with self._cv:
            if self._closed:
                raise NNLabError("The job manager is shutting down; start the run again after the restart.")
            self._lanes.setdefault(lane, 1)
            self._queue.append((run_id, resume, observer, lane))
            if not self._idle.get(lane):  # a worker per queued run; each ends when its lane has no more room
                t = threading.Thread(target=self._work, args=(lane,), name=f"nnlab-{lane}-worker", daemon=True)
                self._workers.append(t)
                self._idle[lane] = self._idle.get(lane, 0) + 1
                t.start()
            self._cv.notify_all()

    def _take(self, lane: str) -> tuple[str, bool, EpochObserver | None] | None:
        """The lane's next queued run when the lane has room for it."""
        if sum(1 for v in self._busy.values() if v == lane) >= self._lanes.get(lane, 1):
            return None
        item = next((i for i in self._queue if i[3] == lane), None)
        if item is None:
            return None
        self._queue.remove(item)
        return item[:3]

    def _next(self, lane: str) -> tuple[str, bool, EpochObserver | None, StopFlag] | None:
        with self._cv:
            while not self._closed and (job := self._take(lane)) is None:
                if not any(i[3] == lane for i in self._queue):  # nothing left to wait for: this worker ends
                    self._idle[lane] -= 1
                    return None
                self._cv.wait()
            if self._closed:
                return None
            self._idle[lane] -= 1
            run_id, resume, observer = job
            flag = StopFlag()
            self._running[run_id], self._busy[run_id] = flag, lane
            return run_id, resume, observer, flag

    def _execute(self, run_id: str, resume: bool, observer: EpochObserver | None, flag: StopFlag) -> None:
        if not self.isolate:
            listeners = (_Observe(run_id, observer, flag),) if observer is not None else ()
            execute(self.store, run_id, flag, listeners, resume=resume, leave_core=self.leave_core)
            return
        root = str(self.store.root)
        code = run_isolated(root, run_id, flag, observer, PRUNED_REASON, resume, self.leave_core)
        if self.store.get(run_id).status == "running":  # the child died without recording an outcome
            why = f"signal {-code}" if code < 0 else f"exit code {code}"
            self.store.update(
                run_id,
                status="interrupted",
                reason=f"The training process ended unexpectedly ({why}); resume the run to continue.",
                progress=None,
            )

    def _work(self, lane: str) -> None:
        while (job := self._next(lane)) is not None:
            run_id, resume, observer, flag = job
            try:
                if self.store.claim_queued(run_id):
                    self._execute(run_id, resume, observer, flag)
            finally:
                with self._cv:
                    self._running.pop(run_id, None)
                    self._busy.pop(run_id, None)
                    self._idle[lane] += 1
                    self._cv.notify_all()
