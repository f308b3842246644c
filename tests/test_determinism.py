"""Same config and seed, same result on the CPU: in one thread, beside other threads, and across a resume."""

import threading

import numpy as np
import pytest
import torch

from nnlab.core.facts import TabularFacts
from nnlab.data import load_dataset
from nnlab.data.registry import make_config
from nnlab.engine.runner import execute
from nnlab.engine.train import Callback, Trainer
from nnlab.models import build_model
from tests.helpers import small, tiny_config

CPU = torch.device("cpu")


def _fit(cfg, callbacks=(), state=None):
    data = small(load_dataset(cfg), 600)
    trainer = Trainer(cfg, build_model(cfg, data.facts), data, CPU, callbacks)
    if state is not None:
        trainer.load_state_dict(state)
    result = trainer.fit()
    return trainer, result, trainer.predict(data.test)


@pytest.mark.parametrize("arch", ["mlp", pytest.param("lstm", marks=pytest.mark.slow)])
@pytest.mark.slow
def test_same_config_and_seed_give_identical_predictions(arch):
    cfg = tiny_config(arch, epochs=2, dropout=0.3)
    _, _, first = _fit(cfg)
    _, _, second = _fit(cfg)
    assert torch.equal(first, second)
    _, _, other_seed = _fit(cfg.replace(seed=1))
    assert not torch.equal(first, other_seed)


@pytest.mark.slow
def test_other_threads_drawing_random_numbers_do_not_change_a_run():
    """The dashboard builds models (parameter previews, the Playground) while a run trains in a worker thread."""
    cfg = tiny_config("mlp", epochs=3, dropout=0.3, hidden_sizes=(64,))
    _, _, alone = _fit(cfg)
    done = threading.Event()

    def disturb():
        other = tiny_config("mlp", seed=7)
        facts = TabularFacts(classes=tuple("0123456789"), features=64)
        while not done.is_set():
            torch.rand(1000)
            build_model(other, facts)

    thread = threading.Thread(target=disturb, daemon=True)
    thread.start()
    try:
        _, _, beside = _fit(cfg)
    finally:
        done.set()
        thread.join(10)
    assert torch.equal(alone, beside)


def test_models_built_with_one_seed_start_from_the_same_weights_and_leave_the_global_stream_alone():
    cfg, info = tiny_config("mlp"), TabularFacts(classes=tuple("0123456789"), features=64)
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    a, b = build_model(cfg, info).state_dict(), build_model(cfg, info).state_dict()
    assert torch.equal(torch.random.get_rng_state(), before)
    assert all(torch.equal(a[k], b[k]) for k in a)
    c = build_model(cfg.replace(seed=1), info).state_dict()
    assert not all(torch.equal(a[k], c[k]) for k in a)


class StopAfter(Callback):
    def __init__(self, epoch):
        self.epoch, self.state = epoch, None

    def on_epoch_end(self, trainer, record, improved):
        if record.epoch == self.epoch:
            self.state = trainer.state_dict()
            trainer.stop.set()


@pytest.mark.parametrize("arch", ["mlp", pytest.param("lstm", marks=pytest.mark.slow)])
@pytest.mark.slow
def test_a_resumed_run_ends_exactly_where_an_uninterrupted_one_does(arch):
    cfg = tiny_config(arch, epochs=3, dropout=0.3, early_stopping=False)
    _, _, full = _fit(cfg)
    stopper = StopAfter(1)
    _, result, _ = _fit(cfg, [stopper])
    assert result.status == "stopped" and stopper.state is not None
    trainer, result, resumed = _fit(cfg, state=stopper.state)
    assert result.status == "finished" and len(trainer.history) == 3
    assert torch.equal(full, resumed)


@pytest.mark.slow
def test_two_stored_runs_of_the_digits_mlp_with_one_config_and_seed_predict_identically(store):
    cfg = make_config("mlp", dataset="digits", epochs=3, seed=5)
    preds = []
    for _ in range(2):
        run_id = store.create(cfg)
        store.claim_queued(run_id)
        assert execute(store, run_id).status == "finished"
        with np.load(store.run_dir(run_id) / "predictions.npz") as z:
            preds.append((z["y_pred"], z["probs"]))
    assert np.array_equal(preds[0][0], preds[1][0]) and np.array_equal(preds[0][1], preds[1][1])
