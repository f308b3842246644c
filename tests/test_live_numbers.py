"""The live view's numbers: the learning rate a cosine run ended with, an ETA that holds still, sub-second times,
and the running time of a run in the middle of an epoch."""

from __future__ import annotations

from dataclasses import replace

import torch

from nnlab.core.records import Progress
from nnlab.core.text import format_duration
from nnlab.data import load_dataset
from nnlab.engine.runner import StoreListener
from nnlab.engine.train import Trainer
from nnlab.models import build_model
from nnlab.ui.home import time_so_far
from tests.helpers import small, tiny_config


def test_a_cosine_run_ends_showing_the_rate_its_last_epoch_used_and_a_steady_eta(store):
    cfg = tiny_config(schedule="cosine", epochs=3, early_stopping=False)
    run_id = store.create(cfg)
    store.claim_queued(run_id)
    data = small(load_dataset(cfg))
    trainer = Trainer(cfg, build_model(cfg, data.facts), data, torch.device("cpu"), [StoreListener(store, run_id)])
    history = trainer.fit().history
    assert trainer.optimizer.param_groups[0]["lr"] == 0  # where cosine annealing ends
    shown = store.get(run_id).progress
    assert shown.lr == history[-1].lr > 0
    per_epoch = sum(r.seconds for r in history) / 3
    # half an epoch left at a burst of speed within the epoch: the ETA follows the finished epochs' pace
    assert abs(trainer.eta_s(3, 0.5, rate=1e9) - 0.5 * per_epoch) < 1e-9


def test_durations_under_ten_seconds_keep_a_decimal():
    assert [format_duration(s) for s in (0.42, 3.0, 42, 185)] == ["0.4 s", "3.0 s", "42 s", "3 min 05 s"]
    assert [format_duration(s) for s in (0.0, 0.04, 0.0012)] == [
        "0.0 s",
        "40 ms",
        "1.2 ms",
    ]  # never "0.0 s" for time spent


def test_running_time_counts_the_epoch_under_way(store):
    run_id = store.create(tiny_config(), status="running")
    store.update(run_id, summary={"train_size": 1000}, progress=Progress(3, 10, 0.5, 100.0, 60.0, 0.3))
    rec = replace(store.get(run_id), seconds=20.0)
    assert time_so_far(rec) == 25.0  # two finished epochs' 20 s, and 500 of 1,000 samples at 100/s
