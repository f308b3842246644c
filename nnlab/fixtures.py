"""A run store filled with many realistic finished runs, for the benchmark and the tests of pages at scale."""

from __future__ import annotations

import json
import math
import time
from dataclasses import replace
from datetime import datetime

import numpy as np

from nnlab.config import RunConfig
from nnlab.records import EpochRecord, RunRecord
from nnlab.registry import make_config
from nnlab.runs import RunStore

# (arch, dataset, test metric, train size) of the kinds of runs a user makes
_KINDS = (
    ("mlp", "digits", "accuracy", 1_257),
    ("mlp", "mnist", "accuracy", 51_000),
    ("cnn", "shapes", "accuracy", 2_100),
    ("cnn", "cifar10", "accuracy", 45_000),
    ("resnet18", "shapes", "accuracy", 2_100),
    ("lstm", "reviews", "accuracy", 3_000),
    ("ts-lstm", "series", "rmse", 1_400),
)
# most runs finish; a few are stopped by the user, fail on bad input or diverge
_STATUSES = (("finished", 0.8), ("stopped", 0.08), ("failed", 0.06), ("diverged", 0.06))
_REASONS = {
    "stopped": "Stopped by the user.",
    "failed": "Training failed with ValueError: bad input.",
    "diverged": "Training diverged in epoch 3: the loss became nan; lower the learning rate.",
}


def fill_store(store: RunStore, n: int = 1_000, epochs: int = 20, seed: int = 0) -> list[str]:
    """Add n finished-looking runs (configs, summaries, up to `epochs` epochs of metrics each); returns their ids.

    Everything goes in with one bulk transaction, so 1,000 runs take about a second.
    """
    rng = np.random.default_rng(seed)
    now = time.time()
    created = np.sort(now - rng.uniform(0, 90 * 86_400, n))  # spread over the last 90 days
    runs, histories, taken = [], {}, set()
    for t in created:
        rec, history = _fake_run(rng, float(t), epochs, taken)
        runs.append(rec)
        histories[rec.run_id] = history
    store.bulk_insert(runs, histories)
    return [r.run_id for r in runs]


def _run_id(created: float, rng: np.random.Generator, taken: set[str]) -> str:
    stamp = datetime.fromtimestamp(created).strftime("%Y%m%d-%H%M%S-")
    while (run_id := stamp + f"{int(rng.integers(0, 1 << 16)):04x}") in taken:
        pass
    taken.add(run_id)
    return run_id


def _fake_config(rng: np.random.Generator, epochs: int) -> RunConfig:
    arch, dataset, _, _ = _KINDS[int(rng.integers(len(_KINDS)))]
    cfg = make_config(arch, dataset=dataset, epochs=epochs, seed=int(rng.integers(0, 100)))
    return replace(
        cfg,
        lr=float(10 ** rng.uniform(-4, -2)),
        batch_size=int(rng.choice([32, 64, 128, 256])),
        dropout=float(rng.choice([0.1, 0.2, 0.3, 0.5])),
        weight_decay=float(rng.choice([0.0, 1e-5, 1e-4, 1e-3])),
        optimizer=str(rng.choice(["adam", "adamw", "sgd"])),
        schedule=str(rng.choice(["plateau", "cosine", "onecycle", "none"])),
        hidden=int(rng.choice([64, 128, 256, 512])),
    )


def _fake_history(rng: np.random.Generator, cfg: RunConfig, regression: bool, done: int) -> list[EpochRecord]:
    floor, speed = rng.uniform(0.05, 0.6), rng.uniform(0.1, 0.5)
    rate, seconds = float(rng.uniform(500, 50_000)), float(rng.uniform(1, 60))
    out = []
    for e in range(1, done + 1):
        train = floor + 2.0 * math.exp(-speed * e) + rng.normal(0, 0.01)
        val = train * rng.uniform(1.0, 1.2) + 0.002 * max(0, e - 12)  # a little overfitting late on
        metric = math.sqrt(val) if regression else min(0.999, 1.0 - 0.4 * val)
        out.append(EpochRecord(e, train, val, metric, cfg.lr * 0.5 ** (e // 8), seconds, rate))
    return out


def _fake_run(rng: np.random.Generator, created: float, epochs: int, taken: set[str]) -> tuple[RunRecord, list]:
    cfg = _fake_config(rng, epochs)
    kind = next(k for k in _KINDS if k[:2] == (cfg.arch, cfg.dataset))
    status = str(rng.choice([s for s, _ in _STATUSES], p=[p for _, p in _STATUSES]))
    done = epochs if status == "finished" and rng.random() < 0.7 else int(rng.integers(1, epochs + 1))
    history = _fake_history(rng, cfg, kind[2] == "rmse", done)
    best = min(history, key=lambda r: r.val_loss)
    scored = status in ("finished", "stopped")
    test_value = best.val_metric * rng.uniform(0.97, 1.03) if scored else None
    summary = {
        "parameters": int(rng.integers(10_000, 12_000_000)),
        "train_size": kind[3],
        "best_epoch": best.epoch,
        "stopped_early": done < epochs and status == "finished",
    }
    if scored:
        summary[kind[2]] = test_value
    rec = RunRecord(
        run_id=_run_id(created, rng, taken),
        created=created,
        updated=created + sum(r.seconds for r in history),
        status=status,
        arch=cfg.arch,
        dataset=cfg.dataset,
        config=cfg,
        reason=_REASONS.get(status, ""),
        epochs_done=done,
        best_val_loss=best.val_loss,
        best_val_metric=best.val_metric,
        best_epoch=best.epoch,
        test_metric=kind[2] if scored else None,
        test_value=test_value,
        seconds=sum(r.seconds for r in history),
        samples_per_s=history[-1].samples_per_s,
        device="cpu (2 threads)",
        pid=None,
        progress=None,
        summary=json.loads(json.dumps(summary)),
    )
    return rec, history
