"""Train a run in a child process that the job thread supervises.

Why: a Python-bound training loop in a thread of the dashboard's process shares one GIL with Streamlit's
script runs; each live-view poll then costs the loop far more than the poll's own work (the loop waits
for the GIL at every tensor op it releases it for), so one open tab cut the digits MLP's speed by more
than half. In its own process the loop keeps its core; the store (SQLite, WAL) is the channel back,
exactly as for a thread, and a pipe carries stop requests down and epoch records up (for an epoch observer, a
sweep's pruner, which stays in the dashboard's process). Trainer listeners given with a job do not cross over.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import sys
import threading
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection

from nnlab.core.causes import Cause, pruned_reason
from nnlab.core.records import EpochRecord, Outcome
from nnlab.engine.runner import StopFlag, execute
from nnlab.engine.train import Callback, Trainer
from nnlab.jobs.executor import Job
from nnlab.jobs.local import LocalExecutor
from nnlab.models import load_outside, outside_modules
from nnlab.store.runs import RunStore

Observer = Callable[[str, EpochRecord], bool]
LOST_CHILD = "The training process ended unexpectedly ({why}); resume the run to continue."
SERVER_GONE_REASON = "The server stopped while this run trained; resume it to continue."  # its pipe closed
_POLL_S = 0.1  # how often the supervisor forwards a stop request and checks the child
_CTX = multiprocessing.get_context("forkserver" if sys.platform.startswith("linux") else "spawn")
if sys.platform.startswith("linux"):
    _CTX.set_forkserver_preload(["nnlab.engine.runner"])  # each run forks with torch already imported


class ProcessExecutor(LocalExecutor):
    """Trains in a child process per run, supervised by a thread of this one: the dashboard's runs."""

    def train(self, job: Job, flag: StopFlag) -> None:
        code = run_isolated(str(self.store.root), job.run_id, flag, job.observer, job.resume, self.settings.leave_core)
        if self.store.get(job.run_id).status == "running":  # the child died without recording an outcome
            why = f"signal {-code}" if code < 0 else f"exit code {code}"
            self.store.set_outcome(job.run_id, Outcome("interrupted", Cause.LOST, LOST_CHILD.format(why=why)))


def run_isolated(
    root: str, run_id: str, flag: StopFlag, observer: Observer | None, resume: bool, leave_core: bool
) -> int:
    """Run `execute` for a claimed run in a child process until it ends; returns the child's exit code.

    `flag` is the job's StopFlag: setting it (Stop, shutdown) reaches the child at its next batch.
    """
    here, there = _CTX.Pipe()
    args = (root, run_id, resume, leave_core, there, observer is not None, outside_modules(), operator_settings())
    proc = _CTX.Process(target=_child, args=args, name=f"nnlab-run-{run_id}")
    with _no_main_script():
        proc.start()
    there.close()
    try:
        _supervise(proc, here, run_id, flag, observer)
    finally:
        proc.join()
        here.close()
    return proc.exitcode or 0


_PLAIN_MAIN = types.ModuleType("__main__")  # no __file__, no __spec__: a child has no main script to run


@contextmanager
def _no_main_script() -> Iterator[None]:
    """Start a child without the parent's main script. A spawned or forkserver child runs the parent's __main__
    (as __mp_main__) before its target, and while Streamlit runs a page it installs that script as __main__: every
    training process ran the whole app, bare (8 "missing ScriptRunContext" warnings each in the server's log,
    and a lab and job manager of its own). The child needs nothing from it."""
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = _PLAIN_MAIN
    try:
        yield
    finally:
        if sys.modules.get("__main__") is _PLAIN_MAIN:  # a script run may have installed its own since
            sys.modules["__main__"] = main


def _supervise(proc, conn: Connection, run_id: str, flag: StopFlag, observer: Observer | None) -> None:
    sent = False
    while True:
        if flag.is_set() and not sent:
            sent = _send(conn, ("stop", str(flag.cause), flag.reason))
        try:
            ready = conn.poll(_POLL_S)
            message = conn.recv() if ready else None
        except (EOFError, OSError):  # the child has exited (or died)
            return
        if message is not None and message[0] == "epoch":
            prune = bool(observer and observer(run_id, message[1]))
            _send(conn, ("verdict", prune))
        if not proc.is_alive() and not conn.poll():
            return


def _send(conn: Connection, message: tuple) -> bool:
    try:
        conn.send(message)
    except (BrokenPipeError, OSError):
        return False
    return True


def operator_settings() -> dict[str, str]:
    """The NNLAB_* settings as this process has them now (memory budget, data limits, quotas, ...)."""
    return {k: v for k, v in os.environ.items() if k.startswith("NNLAB_")}


def _take_settings(settings: dict[str, str]) -> None:
    """The parent's NNLAB_* settings in this child: a forkserver child inherits the environment the server had
    when its fork server started, not the one a run is started under."""
    for key in [k for k in os.environ if k.startswith("NNLAB_") and k not in settings]:
        del os.environ[key]
    os.environ.update(settings)


def _child(
    root: str,
    run_id: str,
    resume: bool,
    leave_core: bool,
    conn: Connection,
    observed: bool,
    outside: str,
    settings: dict[str, str],
) -> None:
    _take_settings(settings)
    load_outside(outside)  # architectures registered from outside nnlab in the parent (forked from a preloaded server)
    flag, verdicts = StopFlag(), queue.Queue()
    threading.Thread(target=_listen, args=(conn, flag, verdicts), daemon=True, name="nnlab-pipe").start()
    listeners = (_Relay(conn, flag, verdicts),) if observed else ()
    execute(RunStore(root), run_id, flag, listeners, resume=resume, leave_core=leave_core, own_process=True)


def _listen(conn: Connection, flag: StopFlag, verdicts: queue.Queue) -> None:
    """Stop requests from the supervisor; its going away (the server died) interrupts the run."""
    while True:
        try:
            kind, *rest = conn.recv()
        except (EOFError, OSError):
            flag.request(Cause.LOST, SERVER_GONE_REASON)
            verdicts.put(False)
            return
        if kind == "stop":
            flag.request(Cause(rest[0]), rest[1])
        else:
            verdicts.put(rest[0])


class _Relay(Callback):
    """An epoch listener that asks the driver's observer after each epoch and waits for its answer."""

    def __init__(self, conn: Connection, flag: StopFlag, verdicts: queue.Queue):
        self.conn, self.flag, self.verdicts = conn, flag, verdicts

    def on_epoch_end(self, trainer: Trainer, record: EpochRecord, improved: bool) -> None:
        if self.flag.is_set() or not _send(self.conn, ("epoch", record)):
            return
        if self.verdicts.get() and not self.flag.is_set():
            self.flag.request(Cause.PRUNED, pruned_reason(record.epoch))
