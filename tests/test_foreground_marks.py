"""The command line marks an epoch `*` when it is a new best (the best checkpoint is saved): the trainer's rule,
in a run and in its resume alike."""

from __future__ import annotations

import pytest

from nnlab.cli.main import main
from nnlab.core.causes import Cause
from nnlab.data.registry import make_config
from nnlab.engine import train as train_module
from nnlab.engine.train import Callback
from nnlab.lab import Lab


class Bests(Callback):
    """The epochs the trainer itself counts as a new best (and saves best.pt for); stops the run in the epoch after
    `stop_after`, as Ctrl-C would."""

    def __init__(self, lab: Lab, stop_after: int = 0):
        self.lab, self.stop_after, self.epochs = lab, stop_after, []

    def on_epoch_end(self, trainer, record, improved) -> None:
        self.epochs += [record.epoch] if improved else []

    def on_progress(self, trainer, progress) -> None:
        if self.stop_after and progress.epoch == self.stop_after + 1:
            self.lab.interrupt()


@pytest.mark.slow
def test_the_epochs_marked_new_best_are_the_trainers_also_after_a_resume(workspace, monkeypatch):
    monkeypatch.setattr(train_module, "PROGRESS_INTERVAL_S", 0.0)  # progress every batch: the stop lands in epoch 7
    lab = Lab(workspace)
    # min_delta wide against this run's steps: an epoch lower than the best by less than it is no new best
    cfg = make_config(
        "mlp", dataset="digits", hidden_sizes=(32,), epochs=12, early_stopping=False, min_delta=0.05, threads=1
    )
    marked: list[int] = []

    def shown(record, epochs, improved) -> None:
        marked.extend([record.epoch] if improved else [])

    trainer = Bests(lab, stop_after=6)
    [cut] = lab.train(cfg, listeners=(trainer,), on_epoch=shown)
    assert cut.status == "stopped" and cut.epochs_done == 6
    before = list(marked)
    assert before == trainer.epochs
    resumed = Bests(lab)
    lab.resume_here(cut.run_id, listeners=(resumed,), on_epoch=shown)
    assert marked[len(before) :] == resumed.epochs  # not every resumed epoch below the first one it saw
    assert lab.store.get(cut.run_id).best_epoch == max(before + resumed.epochs)
    lab.shutdown()


class StopIn(Callback):
    """Stops the foreground run part way through `epoch`, as Ctrl-C (the user) or SIGTERM (a shutdown) would."""

    def __init__(self, lab: Lab, epoch: int, cause: Cause):
        self.lab, self.epoch, self.cause = lab, epoch, cause

    def on_progress(self, trainer, progress) -> None:
        if progress.epoch == self.epoch:
            self.lab.interrupt(self.cause)


@pytest.mark.slow
def test_a_stopped_run_resumed_and_interrupted_shows_no_test_score_of_the_model_it_trained_past(
    workspace, monkeypatch, capsys
):
    monkeypatch.setattr(train_module, "PROGRESS_INTERVAL_S", 0.0)
    lab = Lab(workspace)
    cfg = make_config("mlp", dataset="digits", hidden_sizes=(32,), epochs=12, early_stopping=False, threads=1)
    [stopped] = lab.train(cfg, listeners=(StopIn(lab, 3, Cause.USER),))
    assert stopped.status == "stopped" and stopped.test_value is not None  # the model of epoch 2, tested
    cut = lab.resume_here(stopped.run_id, listeners=(StopIn(lab, 6, Cause.SHUTDOWN),))
    assert cut.status == "interrupted" and cut.epochs_done == 5
    # trained past the model its test score was of: none now, in the store, the run folder and `nnlab runs`
    assert cut.test_value is None and not lab.store.folder(cut.run_id).has_results()
    lab.shutdown()
    capsys.readouterr()
    assert main(["runs", "--store", str(workspace)]) == 0
    [line] = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith(cut.run_id)]
    assert line.split()[1:3] == ["interrupted", "mlp"] and "accuracy" not in line
