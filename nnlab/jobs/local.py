"""Executors that train on this machine: one thread per run, which trains it (ThreadExecutor) or supervises the
child process that does (nnlab.jobs.process.ProcessExecutor). The job manager's lanes decide when each starts."""

from __future__ import annotations

import threading
from abc import abstractmethod

from nnlab.core.causes import Cause, pruned_reason
from nnlab.core.config import RunConfig
from nnlab.core.records import EpochRecord, Outcome
from nnlab.engine.runner import StopFlag, execute, refuse_unrunnable_precision
from nnlab.engine.train import Callback, Trainer, resolve_device
from nnlab.jobs.executor import EpochObserver, Executor, Job


class Observe(Callback):
    """Hands each finished epoch to an EpochObserver and prunes the run when it says so."""

    def __init__(self, run_id: str, observer: EpochObserver, flag: StopFlag):
        self.run_id, self.observer, self.flag = run_id, observer, flag

    def on_epoch_end(self, trainer: Trainer, record: EpochRecord, improved: bool) -> None:
        if not self.flag.is_set() and self.observer(self.run_id, record):
            self.flag.request(Cause.PRUNED, pruned_reason(record.epoch))


class LocalExecutor(Executor):
    """Trains each submitted run in a thread of its own once the store says it is still queued (claimed)."""

    here = True

    def __init__(self, store, settings):
        super().__init__(store, settings)
        self._flags: dict[str, StopFlag] = {}  # run id -> its stop flag, while this executor carries it
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def submit(self, job: Job) -> None:
        flag = StopFlag()
        thread = threading.Thread(target=self._carry, args=(job, flag), name=f"nnlab-run-{job.run_id}")
        thread.daemon = True  # a server told to end does not hang on it: shutdown() interrupts it and waits
        with self._lock:
            self._flags[job.run_id], self._threads[job.run_id] = flag, thread
        thread.start()

    def _carry(self, job: Job, flag: StopFlag) -> None:
        try:
            if self.store.claim_queued(job.run_id):  # not stopped or taken by another process meanwhile
                self.train(job, flag)
        except Exception as exc:  # the executor's own fault (the runner records a run's): the run must not hang
            failed = f"The {type(self).__name__} failed with {type(exc).__name__}: {exc}"[:300].rstrip(".") + "."
            self.store.set_outcome(job.run_id, Outcome("failed", Cause.ERROR, failed))
            raise
        finally:
            with self._lock:
                self._flags.pop(job.run_id, None)
                self._threads.pop(job.run_id, None)
            job.done()

    @abstractmethod
    def train(self, job: Job, flag: StopFlag) -> None:
        """Train the claimed run to its end and record its outcome (in this thread)."""

    def stop(self, run_id: str, cause: Cause, reason: str) -> str | None:
        with self._lock:
            flag = self._flags.get(run_id)
        if flag is None:
            return None
        flag.request(cause, reason)
        return f"Run {run_id} will stop at the end of the current batch."

    def is_active(self, run_id: str) -> bool:
        with self._lock:
            return run_id in self._flags

    def admit(self, cfg: RunConfig) -> None:
        if cfg.precision == "bf16":  # a bfloat16 run this machine cannot train is refused before it queues
            refuse_unrunnable_precision(cfg, resolve_device(cfg.device))

    def shutdown(self, timeout: float) -> None:
        with self._lock:
            flags, threads = list(self._flags.values()), list(self._threads.values())
        for flag in flags:
            flag.request(Cause.SHUTDOWN)
        for thread in threads:
            thread.join(timeout)


class ThreadExecutor(LocalExecutor):
    """Trains in a thread of this process: the command line's runs, and its listeners (a progress bar) see them."""

    def train(self, job: Job, flag: StopFlag) -> None:
        import torch

        here = job.in_process
        observe = (Observe(job.run_id, job.observer, flag),) if job.observer is not None else ()
        before = torch.get_num_threads()  # the run sets its recorded threads; the command line's go back after
        try:
            execute(
                self.store, job.run_id, flag, (*here.listeners, *observe), job.resume, self.settings.leave_core,
                here.data, own_process=here.sole,
            )  # fmt: skip
        finally:
            if here.sole:
                torch.set_num_threads(before)
