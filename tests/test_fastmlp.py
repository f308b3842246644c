"""The MLP's fast step trains the run autograd would (same masks, same fused Adam update, up to float rounding),
keeps the optimizer's state dict and a resume as they were, and steps aside where it does not apply."""

from __future__ import annotations

import pytest
import torch

from nnlab.data import load_dataset
from nnlab.data.registry import make_config
from nnlab.engine.train import Trainer
from nnlab.models import build_model


def _trainer(fast: bool, **changes) -> Trainer:
    cfg = make_config("mlp", epochs=2, threads=1, early_stopping=False, schedule="none", **changes)
    data = load_dataset(cfg)
    torch.manual_seed(0)
    trainer = Trainer(cfg, build_model(cfg, data.facts), data, torch.device("cpu"))
    if not fast:
        trainer._fast = None
    return trainer


@pytest.mark.parametrize("changes", [{}, {"optimizer": "adamw", "weight_decay": 1e-3}, {"class_weights": True}])
def test_the_fast_step_trains_what_autograd_trains(changes):
    fast, slow = _trainer(True, **changes), _trainer(False, **changes)
    assert fast._fast is not None
    for epoch in (1, 2):
        a, b = fast.train_one_epoch(epoch), slow.train_one_epoch(epoch)
        assert a == pytest.approx(b, rel=1e-4)
    for (name, p), q in zip(fast.model.named_parameters(), slow.model.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-5), name
    state, want = fast.optimizer.state_dict(), slow.optimizer.state_dict()
    for k, s in state["state"].items():
        assert float(s["step"]) == float(want["state"][k]["step"])
        assert torch.allclose(s["exp_avg_sq"], want["state"][k]["exp_avg_sq"], atol=1e-7)


def test_a_resumed_fast_run_continues_from_the_loaded_state():
    first = _trainer(True)
    first.train_one_epoch(1)
    saved = first.state_dict()
    resumed, straight = _trainer(True), first
    resumed.load_state_dict(saved)
    resumed.train_one_epoch(2), straight.train_one_epoch(2)
    for p, q in zip(resumed.model.parameters(), straight.model.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-6)


@pytest.mark.parametrize("changes", [{"batchnorm": True}, {"optimizer": "sgd"}, {"precision": "bf16"}])
def test_what_the_fast_step_does_not_cover_trains_through_autograd(changes):
    assert _trainer(True, **changes)._fast is None
