import math
import threading

import pytest
import torch

from nnlab.data import load_dataset
from nnlab.engine.lrpreview import lr_preview
from nnlab.engine.train import Callback, Trainer, make_optimizer, resolve_device
from nnlab.models import build_model
from tests.helpers import small, tiny_config


class Recorder(Callback):
    """Records every event it is sent."""

    def __init__(self):
        self.events = []

    def on_fit_start(self, trainer):
        self.events.append(("start",))

    def on_epoch_end(self, trainer, record, improved):
        self.events.append(("epoch", record, improved))

    def on_fit_end(self, trainer, result):
        self.events.append(("end", result.status))


class OnlyEpochs:
    """A listener with a single hook: the others are skipped."""

    def __init__(self):
        self.epochs = []

    def on_epoch_end(self, trainer, record, improved):
        self.epochs.append(record.epoch)


def _trainer(cfg, callbacks=(), stop=None):
    data = small(load_dataset(cfg), 600)
    return Trainer(cfg, build_model(cfg, data.facts), data, torch.device("cpu"), callbacks, stop)


def test_fit_emits_named_events_and_learns():
    rec, partial = Recorder(), OnlyEpochs()
    trainer = _trainer(tiny_config("mlp", epochs=3, early_stopping=False, lr=0.01), [rec, partial])
    result = trainer.fit()
    kinds = [e[0] for e in rec.events]
    assert kinds == ["start", "epoch", "epoch", "epoch", "end"] and result.status == "finished"
    assert partial.epochs == [1, 2, 3]
    history = [e[1] for e in rec.events if e[0] == "epoch"]
    assert history[-1].train_loss < history[0].train_loss
    assert history[-1].val_metric > 0.7 and all(r.samples_per_s > 0 and r.lr == 0.01 for r in history)


@pytest.mark.parametrize("arch", ["cnn", "lstm", "ts-lstm", "resnet18"])
@pytest.mark.slow
def test_one_epoch_of_every_architecture_on_its_builtin(arch):
    trainer = _trainer(tiny_config(arch, epochs=1))
    result = trainer.fit()
    assert result.status == "finished" and len(result.history) == 1
    assert math.isfinite(result.history[0].val_loss)


@pytest.mark.slow
def test_early_stopping_stops_and_restores_the_best_weights():
    import copy

    class Snapshots(Callback):
        def __init__(self):
            self.states = {}

        def on_epoch_end(self, trainer, record, improved):
            self.states[record.epoch] = copy.deepcopy(trainer.model.state_dict())

    snaps = Snapshots()
    trainer = _trainer(tiny_config("mlp", epochs=50, patience=2, lr=0.01, min_delta=0.3), [snaps])
    result = trainer.fit()
    assert result.status == "early_stopped"
    assert len(result.history) == result.best_epoch + 2 < 50
    best = snaps.states[result.best_epoch]
    assert all(torch.equal(best[k], v) for k, v in trainer.model.state_dict().items())
    last = snaps.states[len(result.history)]
    assert not all(torch.equal(last[k], v) for k, v in trainer.model.state_dict().items())


def test_nan_loss_ends_the_run_as_diverged_with_advice():
    trainer = _trainer(tiny_config("mlp", epochs=3, lr=1e6, expert=True, optimizer="sgd", momentum=0.9))
    result = trainer.fit()
    assert result.status == "diverged"
    assert "lower the learning rate" in result.reason


def test_stop_flag_is_honoured_at_a_batch_boundary():
    stop = threading.Event()

    class StopAfterFirstEpoch(Callback):
        def on_epoch_end(self, trainer, record, improved):
            stop.set()

    trainer = _trainer(tiny_config("mlp", epochs=5), [StopAfterFirstEpoch()], stop)
    result = trainer.fit()
    assert result.status == "stopped" and len(result.history) == 1


@pytest.mark.slow
def test_resume_from_state_dict_continues_where_it_left_off():
    first = _trainer(tiny_config("mlp", epochs=4, early_stopping=False, schedule="cosine"))
    first.cfg = first.cfg.replace(epochs=2)
    first.fit()
    state = first.state_dict()
    path_state = {k: v for k, v in state.items()}
    second = _trainer(tiny_config("mlp", epochs=4, early_stopping=False, schedule="cosine"))
    second.load_state_dict(path_state)
    result = second.fit()
    assert [r.epoch for r in result.history] == [1, 2, 3, 4]
    assert result.history[2].lr < result.history[0].lr  # the cosine schedule went on, not restarted


@pytest.mark.parametrize("schedule", ["plateau", "step", "cosine", "onecycle", "none"])
@pytest.mark.slow
def test_every_schedule_trains_and_previews(schedule):
    cfg = tiny_config("mlp", epochs=3, schedule=schedule, step_size=1, gamma=0.5)
    assert _trainer(cfg).fit().status in ("finished", "early_stopped")
    lrs = lr_preview(cfg, steps_per_epoch=10)
    assert len(lrs) == 3
    if schedule == "step":
        assert lrs == pytest.approx([1e-3, 5e-4, 2.5e-4])
    if schedule in ("none", "plateau"):
        assert lrs == [1e-3] * 3


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd"])
def test_optimizers_use_the_given_settings(name):
    cfg = tiny_config("mlp", optimizer=name, weight_decay=1e-4)
    opt = make_optimizer(cfg, [torch.nn.Parameter(torch.zeros(2))], torch.device("cpu"))
    group = opt.param_groups[0]
    assert group["lr"] == 1e-3 and group["weight_decay"] == 1e-4
    if name == "sgd":
        assert group["momentum"] == 0.9


def test_device_auto_falls_back_to_cpu_and_missing_devices_are_refused():
    if not torch.cuda.is_available():
        assert resolve_device("auto").type in ("cpu", "mps")
        with pytest.raises(Exception, match="not available"):
            resolve_device("cuda")


@pytest.mark.slow
def test_early_stopping_gives_a_lowered_rate_one_full_patience(monkeypatch):
    cfg = tiny_config("mlp", epochs=40, patience=5, lr_patience=3)
    trainer = _trainer(cfg)
    monkeypatch.setattr(trainer, "evaluate", lambda split: (1.0, 0.5))  # validation never improves
    result = trainer.fit()
    lrs = [r.lr for r in result.history]
    # best at epoch 1; the rate drops after 4 bad epochs (lr_patience 3), one short of the patience of 5:
    # the lowered rate then gets 5 epochs of its own, and the run stops at 1 + 4 + 5 = 10
    assert result.status == "early_stopped" and result.best_epoch == 1
    assert lrs[5] == pytest.approx(lrs[0] * 0.1)
    assert len(result.history) == 10


def _never_improving(monkeypatch, trainer):
    monkeypatch.setattr(trainer, "evaluate", lambda split: (1.0, 0.5))
    return trainer


@pytest.mark.parametrize("layout", ["listener", "before the listener"])
@pytest.mark.slow
def test_early_stopping_keeps_its_state_across_a_resume(monkeypatch, layout):
    cfg = tiny_config("mlp", epochs=40, patience=5, lr_patience=3)
    first = _never_improving(monkeypatch, _trainer(cfg.replace(epochs=7)))
    assert first.fit().status == "finished"
    state = first.state_dict()
    assert state["callbacks"]["early_stopping"]["bad"] == 2  # renewed at epoch 5, then epochs 6 and 7
    if layout == "before the listener":  # a checkpoint of an older nnlab: the counters sat beside the best epoch
        stopper = state.pop("callbacks")["early_stopping"]
        state["best"] |= {"bad": stopper["bad"], "renewed": stopper["renewed"]}
        state["best_model"] = stopper["best_model"]
        state["history"] = [{**r, "val_score": r.pop("val_metric")} for r in state["history"]]  # its old name
    second = _never_improving(monkeypatch, _trainer(cfg))
    second.load_state_dict(state)
    result = second.fit()
    assert result.status == "early_stopped" and len(result.history) == 10  # as if never interrupted
