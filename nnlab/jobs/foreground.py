"""`python -m nnlab train --executor ray`: the run trains on Ray while this process prints its epochs from the
store, and Ctrl-C stops it at a batch boundary like a local run."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable

from nnlab.core.placement import EXECUTORS, Executor
from nnlab.core.records import ACTIVE, EpochRecord, RunRecord
from nnlab.store.runs import RunStore

POLL_S = 0.3


def add_executor_options(p: argparse.ArgumentParser) -> None:
    """--executor and --ray-address, shared by train and sweep."""
    p.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="local",
        help="where to train: this machine (default) or a Ray cluster",
    )
    p.add_argument(
        "--ray-address",
        help="the Ray cluster's head, like 10.0.0.5:6379 (default $NNLAB_RAY_ADDRESS or $RAY_ADDRESS; "
        "none starts a local Ray instance)",
    )


def train_elsewhere(
    store: RunStore, run_id: str, executor: Executor, on_epoch: Callable[[EpochRecord, int, bool], None]
) -> RunRecord:
    """Hand a queued run to the executor, pass each epoch to on_epoch as it reaches the store (with the epochs the
    run trains at most, as fitted to its data when given as 0, and whether it improved), and return the run's
    record once it has ended."""
    from nnlab.jobs.manager import JobManager

    cfg = store.get(run_id).config
    manager = JobManager(store, leave_core=False)
    manager.submit(cfg, run_id=run_id, executor=executor)
    sys.stderr.write(f"run {run_id} submitted to {executor.where}\n")
    stop = _on_interrupt(lambda: manager.stop(run_id))
    shown, said, best = 0, "", float("inf")
    while True:
        rec = store.get(run_id)
        if rec.status == "queued" and rec.reason and rec.reason != said:
            said = rec.reason
            sys.stderr.write(f"nnlab: {said}\n")
        records = store.metrics(run_id, after_epoch=shown)
        planned = store.get(run_id).epochs_planned if records else 0  # read after its epochs: the fitted count is in
        for r in records:
            improved, best = r.val_loss < best - cfg.min_delta, min(best, r.val_loss)
            on_epoch(r, planned, improved)
            shown = r.epoch
        if rec.status not in ACTIVE:
            break
        time.sleep(POLL_S)
    del stop
    rec = store.get(run_id)
    if rec.reason and rec.status != "finished":
        sys.stderr.write(f"nnlab: {rec.reason}\n")
    return rec


def _on_interrupt(action) -> list:
    """Ctrl-C or SIGTERM asks the run to stop (once); the loop goes on until the run has recorded its end."""
    asked: list[bool] = []

    def handler(*_):
        if not asked:
            asked.append(True)
            sys.stderr.write("nnlab: stopping the run at the end of the current batch...\n")
            action()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
    return asked
