"""`python -m nnlab train --executor ray`: the run trains on Ray while this process prints its epochs from the
store, and Ctrl-C stops it at a batch boundary like a local run."""

from __future__ import annotations

import argparse
import signal
import sys
import time

from nnlab.config import RunConfig
from nnlab.executors import EXECUTORS, Executor
from nnlab.records import ACTIVE
from nnlab.runs import RunStore

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


def train_elsewhere(store: RunStore, cfg: RunConfig, executor: Executor, as_json: bool) -> int:
    """Submit to the executor, print each epoch as it reaches the store, and report how the run ended."""
    from nnlab.cli import epoch_line, report
    from nnlab.jobs import JobManager
    from nnlab.models import MODELS

    manager = JobManager(store, leave_core=False)
    run_id = manager.submit(cfg, executor=executor)
    sys.stderr.write(f"run {run_id} submitted to {executor.where}\n")
    stop = _on_interrupt(lambda: manager.stop(run_id))
    shown, said, best, regression = 0, "", float("inf"), MODELS[cfg.arch].task == "regression"
    while True:
        rec = store.get(run_id)
        if rec.status == "queued" and rec.reason and rec.reason != said:
            said = rec.reason
            sys.stderr.write(f"nnlab: {said}\n")
        for r in store.metrics(run_id, after_epoch=shown):
            improved, best = r.val_loss < best - cfg.min_delta, min(best, r.val_loss)
            sys.stderr.write(epoch_line(r, cfg.epochs, regression, improved))
            shown = r.epoch
        if rec.status not in ACTIVE:
            break
        time.sleep(POLL_S)
    del stop
    rec = store.get(run_id)
    if rec.reason and rec.status != "finished":
        sys.stderr.write(f"nnlab: {rec.reason}\n")
    return report(rec, as_json)


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
