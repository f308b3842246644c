"""Synthetic data shared by the tests and the benchmark: learnable datasets shaped like the real sets
(MNIST, CIFAR-10, IMDB), an MNIST folder in torchvision's layout (IDX files) and realistic finished runs for a
store at scale. Nothing here is used by a run."""

from __future__ import annotations

import json
import math
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import torch

from nnlab.core.config import RunConfig
from nnlab.core.facts import DataFacts, ImageFacts, Scaler, TabularFacts, TextFacts
from nnlab.core.records import EpochRecord, RunRecord
from nnlab.data.base import Dataset, Split
from nnlab.data.registry import make_config


# -- datasets: random but learnable, shaped like the real sets ---------------------------------------------
def _centres(rng: np.random.Generator, classes: int, shape: tuple[int, ...]) -> np.ndarray:
    return rng.normal(0, 1, (classes, *shape)).astype(np.float32)


def mnist_like(n: int, val: int, seed: int = 0) -> Dataset:
    """n + val rows of 784 float features in 10 classes (a noisy class centre each), as a table."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n + val)
    x = _centres(rng, 10, (784,))[y] * 0.5 + rng.normal(0, 1, (n + val, 784)).astype(np.float32)
    facts = TabularFacts(classes=tuple(str(c) for c in range(10)), features=784)
    return _dataset("mnist-like", torch.from_numpy(x), torch.from_numpy(y), None, n, facts)


def cifar_like(n: int, val: int, seed: int = 0) -> Dataset:
    """n + val uint8 colour images (3, 32, 32) in 10 classes, stored as nnlab stores images."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n + val)
    x = np.empty((n + val, 3, 32, 32), dtype=np.uint8)
    centres = _centres(rng, 10, (3, 32, 32))
    for start in range(0, n + val, 1000):  # in chunks: the float intermediate of 60k images is large
        part = centres[y[start : start + 1000]] * 40 + 128
        x[start : start + 1000] = np.clip(part + rng.normal(0, 40, part.shape), 0, 255)
    flat = torch.from_numpy(x[:n]).float().div_(255).transpose(0, 1).reshape(3, -1)
    facts = ImageFacts(
        classes=tuple(str(c) for c in range(10)),
        channels=3,
        source_channels=3,
        image_size=32,
        scaler=Scaler.of(flat.mean(1).tolist(), flat.std(1).tolist()),
    )
    return _dataset("cifar-like", torch.from_numpy(x), torch.from_numpy(y), None, n, facts)


def reviews_like(n: int, val: int, seed: int = 0, max_len: int = 256, vocab: int = 10_000) -> Dataset:
    """n + val token-id texts padded to max_len; lengths like IMDB reviews (median ~175 words, ~30% cut)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n + val)
    lengths = np.clip(rng.lognormal(np.log(175 * max_len / 256), 0.75, n + val), 8, max_len).astype(np.int64)
    ids = rng.integers(2, vocab, (n + val, max_len))
    cue = rng.random((n + val, max_len)) < 0.1  # a tenth of the words carry the label: 2 disjoint word sets
    words = min(50, (vocab - 2) // 2)
    ids = np.where(cue, 2 + y[:, None] * words + rng.integers(0, words, (n + val, max_len)), ids)
    ids[np.arange(max_len)[None, :] >= lengths[:, None]] = 0  # padding
    words = ("<pad>", "<unk>", *(f"w{i}" for i in range(2, vocab)))
    facts = TextFacts(classes=("negative", "positive"), vocab=words, max_len=max_len)
    return _dataset("reviews-like", torch.from_numpy(ids), torch.from_numpy(y), torch.from_numpy(lengths), n, facts)


def mnist_images(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n learnable 28x28 uint8 images like MNIST's (a dark background, about a quarter of the pixels lit in a
    fixed blotchy shape per class, noisy intensities, a few pixels flipped) and their labels 0-9."""
    shapes = np.kron(np.random.default_rng(1000).random((10, 7, 7)) > 0.7, np.ones((4, 4), dtype=bool))
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    x = np.empty((n, 28, 28), dtype=np.uint8)
    for start in range(0, n, 5000):  # in chunks: the float intermediate of 60k images is large
        part = slice(start, start + 5000)
        lit = shapes[y[part]] ^ (rng.random(x[part].shape, dtype=np.float32) < 0.05)  # (B, 28, 28)
        x[part] = np.where(lit, np.clip(rng.normal(200, 50, lit.shape), 0, 255), 0)
    return x, y


def write_idx(path: Path, array: np.ndarray) -> None:
    """An IDX file (big-endian header, uint8 data) as in yann.lecun.com's MNIST files."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def write_mnist_folder(root: Path, n_train: int = 60_000, n_test: int = 10_000, folder: str = "MNIST") -> Path:
    """root/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte as torchvision keeps them, filled with
    mnist_images (real size by default); returns the raw folder."""
    raw = Path(root) / folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, n, seed in (("train", n_train, 1), ("t10k", n_test, 2)):
        x, y = mnist_images(n, seed)
        write_idx(raw / f"{prefix}-images-idx3-ubyte", x)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", y)
    return raw


def _dataset(
    name: str, x: torch.Tensor, y: torch.Tensor, lengths: torch.Tensor | None, n: int, facts: DataFacts
) -> Dataset:
    def part(sl: slice) -> Split:
        return Split(x[sl], y[sl], None if lengths is None else lengths[sl])

    val = part(slice(n, None))
    return Dataset(name, part(slice(0, n)), val, val, facts)


# -- runs: what a store holds after months of use ----------------------------------------------------------
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


def fake_runs(n: int = 1_000, epochs: int = 20, seed: int = 0) -> tuple[list[RunRecord], dict[str, list[EpochRecord]]]:
    """n finished-looking runs (configs, summaries, up to `epochs` epochs of metrics each) and their histories,
    ready for RunStore.bulk_insert (one transaction: 1,000 runs take about a second)."""
    rng = np.random.default_rng(seed)
    now = time.time()
    created = np.sort(now - rng.uniform(0, 90 * 86_400, n))  # spread over the last 90 days
    runs, histories, taken = [], {}, set()
    for t in created:
        rec, history = _fake_run(rng, float(t), epochs, taken)
        runs.append(rec)
        histories[rec.run_id] = history
    return runs, histories


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
