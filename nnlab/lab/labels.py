"""Label actions: check a run's training labels (K fold models trained here, or in a background process for the
dashboard), and retrain a run without the rows whose labels look wrong."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from nnlab.analysis.label_state import CheckState, check_state, classifier_results
from nnlab.analysis.naming import run_name
from nnlab.core.config import RunConfig
from nnlab.core.errors import NNLabError
from nnlab.core.text import plural
from nnlab.lab.runs import Started

if TYPE_CHECKING:
    from nnlab.core.records import RunRecord
    from nnlab.engine.kfold import CheckProgress
    from nnlab.store.runfolder import RunFolder
    from nnlab.store.runs import RunStore

DEFAULT_FOLDS, MIN_FOLDS, MAX_FOLDS = 5, 2, 10
SAVE_EVERY_S = 0.5  # how often a running check writes its progress


def check_folds(folds: int) -> int:
    """The one bound on the check's fold models, for every front end."""
    if not MIN_FOLDS <= folds <= MAX_FOLDS:
        raise NNLabError(f"--folds must be from {MIN_FOLDS} to {MAX_FOLDS} (got {folds}): each fold is a model.")
    return folds


class LabelActions:
    """Mixed into Lab: the label check of a run's training and validation rows, and retraining without them."""

    store: RunStore
    prepare: Callable[..., list[RunConfig]]  # RunActions'
    start_message: Callable[..., str]
    queue_place: Callable[[str], int]
    _queue: Callable[..., str]

    def check_labels(
        self,
        run_id: str,
        folds: int = DEFAULT_FOLDS,
        on_progress: Callable[[CheckProgress], None] | None = None,
        stop: threading.Event | None = None,
    ) -> CheckState:
        """Train the check's fold models in this thread and write their out-of-sample probabilities into the run's
        folder; returns how the check ended (finished, stopped, failed)."""
        rec, _ = classifier_results(self.store, run_id)
        self._refuse_second(run_id)
        folds = check_folds(folds)
        epochs = max(1, rec.best_epoch or rec.epochs_done)
        per_fold = rec.seconds * epochs / max(rec.epochs_done, 1)
        folder = self.store.folder(run_id)
        state = CheckState("running", folds, epochs, eta_s=per_fold * folds, pid=_pid(), started=time.time())
        folder.write_label_check(state.to_dict())
        try:
            return self._check(run_id, state, per_fold, on_progress, stop)
        except NNLabError as exc:
            return self._ended(run_id, state, "failed", str(exc))
        except Exception as exc:  # a bug or an unexpected input: the check fails in one sentence, the log has it
            folder.log_traceback()
            return self._ended(run_id, state, "failed", f"{type(exc).__name__} (details in log.txt of the run folder)")

    def _check(
        self,
        run_id: str,
        state: CheckState,
        per_fold: float,
        on_progress: Callable[[CheckProgress], None] | None,
        stop: threading.Event | None,
    ) -> CheckState:
        import numpy as np

        from nnlab.analysis.label_report import shown_positions
        from nnlab.data import load_dataset
        from nnlab.engine.kfold import out_of_sample, pooled, viewable

        cfg, folder = self.store.get(run_id).config, self.store.folder(run_id)
        with _threads(cfg.threads):
            data = load_dataset(cfg)
            oos = out_of_sample(
                cfg, data, state.epochs, state.folds, _saver(folder, state, on_progress), stop, per_fold
            )
        if oos is None:
            return self._ended(run_id, state, "stopped", "Stopped before its fold models were trained; start it again.")
        shown = shown_positions(oos.labels, oos.probs)
        arrays = {
            "index": oos.index,
            "split": oos.split,
            "labels": oos.labels,
            "probs": oos.probs,
            "indexed": np.asarray(oos.indexed),
            "shown": shown,
            **viewable(pooled(data)[0], shown, data.facts),
        }
        if data.files is not None and oos.indexed:  # a folder of images: each row's file, as the user finds it
            arrays["files"] = data.files[oos.index]
        elapsed = time.time() - state.started
        done = CheckState("finished", state.folds, state.epochs, 1.0, elapsed, started=state.started)
        folder.write_label_check(done.to_dict(), arrays)
        return done

    def _ended(self, run_id: str, state: CheckState, status: str, reason: str) -> CheckState:
        ended = CheckState(status, state.folds, state.epochs, reason=reason, started=state.started)
        self.store.folder(run_id).write_label_check(ended.to_dict())
        return ended

    def _refuse_second(self, run_id: str) -> None:
        state = check_state(self.store, run_id)
        if state is not None and state.running and state.pid != _pid():
            raise NNLabError(f"The training labels of run {run_id} are being checked already; {state.sentence()}")

    def start_label_check(self, run_id: str, folds: int = DEFAULT_FOLDS) -> str:
        """Check the run's training labels in a background process (the dashboard's pages keep their own CPU
        time); its progress is in the run's folder. Says what was started."""
        rec, _ = classifier_results(self.store, run_id)
        self._refuse_second(run_id)
        folds = check_folds(folds)
        command = [sys.executable, "-m", "nnlab", "label-issues", run_id, "--split", "train", "--json"]
        command += ["--folds", str(folds), "--store", str(self.store.root)]
        with open(self.store.folder(run_id).path / "log.txt", "a") as log:
            proc = subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True
            )
        epochs = max(1, rec.best_epoch or rec.epochs_done)
        eta = rec.seconds * epochs / max(rec.epochs_done, 1) * folds
        if (check_state(self.store, run_id) or CheckState("", 0)).pid != proc.pid:  # the child has not written yet
            state = CheckState("running", folds, epochs, eta_s=eta, pid=proc.pid, started=time.time())
            self.store.folder(run_id).write_label_check(state.to_dict())
        return f"Checking the training labels of run {run_id} with {folds} fold models (about {eta:.0f} s)."

    def retrain_without(self, run_id: str, rows: list[int]) -> Started:
        """Queue run_id's config again with these rows of the data left out of training and validation (the labels
        found doubtful); the new run is named after the first and keeps which run it was retrained from."""
        rec = self.store.get(run_id)
        if not rows:
            raise NNLabError(f"No rows to leave out of run {run_id}; its label check flagged none.")
        rows = sorted({int(r) for r in rows} | set(rec.config.exclude_rows))
        cfg = rec.config.replace(exclude_rows=tuple(rows))
        checked = self.prepare(cfg)[0]
        name = f"{run_name(self._first_of(rec))} without {plural(len(rows), 'doubtful label')}"
        note = f"Retrained from run {run_id} with {plural(len(rows), 'row')} whose labels look wrong left out."
        new = self._queue(checked, None, name, note, {RETRAINED_FROM: run_id})
        return Started((new,), self.start_message(cfg, (new,), None), self.queue_place(new))

    def _first_of(self, rec: RunRecord) -> RunRecord:
        """The run a chain of retraining without doubtful labels began with (rec itself when it was not retrained,
        or when the runs before it were deleted): the new run is named after it, not 'X without 29 ... without 33'."""
        seen = {rec.run_id}
        while (before := rec.summary.get(RETRAINED_FROM)) and before not in seen:
            found = self.store.find(before)
            if found is None:
                break
            seen.add(before)
            rec = found
        return rec


RETRAINED_FROM = "retrained_from"  # a run summary's key: the run it was retrained from, without doubtful labels


def _saver(
    folder: RunFolder, state: CheckState, on_progress: Callable[[CheckProgress], None] | None
) -> Callable[[CheckProgress], None]:
    """A progress listener that tells on_progress every time and writes the state into the folder twice a second."""
    saved = [0.0]

    def progress(p: CheckProgress) -> None:
        if on_progress is not None:
            on_progress(p)
        if time.monotonic() - saved[0] >= SAVE_EVERY_S:
            saved[0] = time.monotonic()
            folder.write_label_check(
                {**state.to_dict(), "fraction": p.fraction, "elapsed_s": p.elapsed_s, "eta_s": p.eta_s}
            )

    return progress


@contextmanager
def _threads(given: int) -> Iterator[None]:
    """torch's threads for the check: the run's --threads, or no more than the CPUs idle now (as `train`)."""
    import torch

    from nnlab.engine.threads import threads_for_idle_cpus

    before = torch.get_num_threads()
    torch.set_num_threads(given or threads_for_idle_cpus())
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _pid() -> int:
    return os.getpid()
