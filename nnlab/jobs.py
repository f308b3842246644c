"""The background job manager: one per process, a FIFO queue, worker threads, stop at a batch boundary."""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections import deque

from nnlab.config import RunConfig, check
from nnlab.errors import NNLabError
from nnlab.runner import execute, refuse_unrunnable_precision
from nnlab.runs import RESUMABLE, RunRecord, RunStore
from nnlab.train import resolve_device


class JobManager:
    """Runs queued runs in daemon threads, `concurrency` at a time (one per GPU by default)."""

    def __init__(self, store: RunStore, concurrency: int = 1, leave_core: bool = True):
        self.store, self.concurrency, self.leave_core = store, concurrency, leave_core
        self._queue: deque[tuple[str, bool]] = deque()
        self._running: dict[str, threading.Event] = {}
        self._cv = threading.Condition()
        self._workers: list[threading.Thread] = []
        self._closed = False
        atexit.register(self.shutdown)

    # -- public ---------------------------------------------------------------------------------
    def submit(self, cfg: RunConfig) -> str:
        """Validate, record as queued, and put on the queue; returns the run id."""
        check(cfg)
        refuse_unrunnable_precision(cfg, resolve_device(cfg.device))
        run_id = self.store.create(cfg)
        self._enqueue(run_id, resume=False)
        return run_id

    def resume(self, run_id: str) -> None:
        """Queue an interrupted or stopped run to continue from its last checkpoint."""
        rec = self.store.get(run_id)
        if rec.status not in RESUMABLE:
            raise NNLabError(f"Run {run_id} is {rec.status}; only interrupted, stopped or failed runs can be resumed.")
        self.store.update(run_id, status="queued", reason="", pid=os.getpid())
        self._enqueue(run_id, resume=True)

    def stop(self, run_id: str) -> str:
        """Stop a queued run at once or a running one at the next batch; returns what happened."""
        with self._cv:
            for item in list(self._queue):
                if item[0] == run_id:
                    self._queue.remove(item)
                    self.store.update(run_id, status="stopped", reason="Stopped before it started.")
                    return f"Run {run_id} was removed from the queue."
            event = self._running.get(run_id)
        if event is None:
            return f"Run {run_id} is not running in this server."
        event.set()
        return f"Run {run_id} will stop at the end of the current batch."

    def is_active(self, run_id: str) -> bool:
        """Queued or running in this manager."""
        with self._cv:
            return run_id in self._running or any(r == run_id for r, _ in self._queue)

    def queued(self) -> list[str]:
        """Run ids waiting, in order."""
        with self._cv:
            return [r for r, _ in self._queue]

    def wait(self, run_id: str, timeout: float = 600) -> RunRecord:
        """Block until a run leaves the queue and finishes (for the command line and tests)."""
        deadline = time.monotonic() + timeout
        while self.is_active(run_id) and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.store.get(run_id)

    def shutdown(self, timeout: float = 10) -> None:
        """Ask running jobs to stop, then wait for them to save their checkpoint and exit."""
        with self._cv:
            self._closed = True
            for event in self._running.values():
                event.set()
            self._cv.notify_all()
        for t in self._workers:
            t.join(timeout)

    # -- workers --------------------------------------------------------------------------------
    def _enqueue(self, run_id: str, resume: bool) -> None:
        with self._cv:
            if self._closed:
                raise NNLabError("The job manager is shutting down; start the run again after the restart.")
            self._queue.append((run_id, resume))
            if len(self._workers) < self.concurrency:
                t = threading.Thread(target=self._work, name=f"nnlab-worker-{len(self._workers)}", daemon=True)
                self._workers.append(t)
                t.start()
            self._cv.notify()

    def _next(self) -> tuple[str, bool, threading.Event] | None:
        with self._cv:
            while not self._queue and not self._closed:
                self._cv.wait()
            if self._closed:
                return None
            run_id, resume = self._queue.popleft()
            event = threading.Event()
            self._running[run_id] = event
            return run_id, resume, event

    def _work(self) -> None:
        while (job := self._next()) is not None:
            run_id, resume, event = job
            try:
                if self.store.claim_queued(run_id):
                    execute(self.store, run_id, event, resume=resume, leave_core=self.leave_core)
            finally:
                with self._cv:
                    self._running.pop(run_id, None)
