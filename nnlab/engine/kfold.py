"""Out-of-sample class probabilities for a run's training and validation rows, for the label check.

The rows are pooled and cut into K stratified folds. For each fold a model is trained with the run's config on
the other folds and predicts the fold it never saw. Each model trains for the epochs the run found best, without
early stopping (a share of its folds still validates, for the schedule), so the check costs about K times the
run's own training and its progress is a plain count. The normalisation stays the run's (fit on its training
split): it uses no label.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from nnlab.core.config import RunConfig
from nnlab.core.facts import DataFacts
from nnlab.data.base import Dataset, Split
from nnlab.data.prep import display_images
from nnlab.engine.train import Callback, Trainer, resolve_device, seed_everything
from nnlab.models import build_model

DEFAULT_FOLDS = 5
TRAIN, VAL = 0, 1  # the split code of each pooled row


@dataclass(frozen=True)
class CheckProgress:
    """How far the check is: folds done, the share of the whole, seconds so far and an estimate of those left."""

    folds_done: int
    folds: int
    fraction: float
    elapsed_s: float
    eta_s: float


@dataclass(frozen=True)
class OutOfSample:
    """Each pooled row's original index (its position in the pool where the run kept none), split code, given
    label and out-of-sample probabilities."""

    index: np.ndarray  # (N,) int64
    split: np.ndarray  # (N,) TRAIN or VAL
    labels: np.ndarray  # (N,) int64
    probs: np.ndarray  # (N, classes) float32
    indexed: bool  # whether index holds the data's original rows (else pool positions)


def pooled(data: Dataset) -> tuple[Split, np.ndarray, np.ndarray | None]:
    """The training and validation splits as one split, each row's split code, and their original rows."""
    tr, va = data.train, data.val
    lengths = None if tr.lengths is None else torch.cat([tr.lengths, va.lengths])
    pool = Split(torch.cat([tr.x, va.x]), torch.cat([tr.y, va.y]), lengths)
    codes = np.r_[np.full(len(tr), TRAIN), np.full(len(va), VAL)]
    rows = [getattr(s, "index", None) for s in (tr, va)]
    index = None if any(r is None for r in rows) else np.concatenate(rows).astype(np.int64)
    return pool, codes, index


def fold_ids(labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """(N,) the fold of each row: stratified by class where every class has `folds` rows, else plain."""
    from sklearn.model_selection import KFold, StratifiedKFold

    counts = np.bincount(labels)
    stratified = counts[counts > 0].min() >= folds
    cv = (
        StratifiedKFold(folds, shuffle=True, random_state=seed)
        if stratified
        else KFold(folds, shuffle=True, random_state=seed)
    )
    out = np.empty(len(labels), dtype=np.int64)
    for k, (_, held) in enumerate(cv.split(np.zeros(len(labels)), labels if stratified else None)):
        out[held] = k
    return out


class _FoldListener(Callback):
    """Turns a fold's progress into the whole check's, a few times a second."""

    def __init__(self, tell: Callable[[float], None]):
        self.tell = tell

    def on_progress(self, trainer: Trainer, p) -> None:
        self.tell(min(1.0, (p.epoch - 1 + p.fraction) / max(trainer.cfg.epochs, 1)))

    def on_epoch_end(self, trainer: Trainer, record, improved: bool) -> None:
        self.tell(min(1.0, record.epoch / max(trainer.cfg.epochs, 1)))


def out_of_sample(
    cfg: RunConfig,
    data: Dataset,
    epochs: int,
    folds: int = DEFAULT_FOLDS,
    on_progress: Callable[[CheckProgress], None] | None = None,
    stop: threading.Event | None = None,
    estimate_s: float = 0.0,
) -> OutOfSample | None:
    """Train `folds` models with cfg for `epochs` each and return every pooled row's out-of-sample probabilities
    (None if stopped). estimate_s: the seconds one fold is expected to take, for the estimate before one ends.
    """
    cfg = cfg.replace(epochs=max(1, epochs), early_stopping=False)
    pool, codes, index = pooled(data)
    labels = pool.y.numpy().astype(np.int64)
    which = fold_ids(labels, folds, cfg.seed)
    probs = np.zeros((len(labels), data.facts.num_classes), dtype=np.float32)
    start, device = time.perf_counter(), resolve_device(cfg.device)

    def tell(done: int, within: float) -> None:
        if on_progress is None:
            return
        elapsed, share = time.perf_counter() - start, (done + within) / folds
        early = done == 0 and within < 0.25 and estimate_s > 0  # too little measured yet: the run's own pace
        left = estimate_s * folds - elapsed if early else elapsed * (1 - share) / max(share, 1e-6)
        on_progress(CheckProgress(done, folds, share, elapsed, max(left, 0.0)))

    for k in range(folds):
        listener = _FoldListener(lambda within, k=k: tell(k, within))
        out = _fit_fold(cfg, data, pool, which, k, device, listener, stop)
        if out is None:
            return None
        probs[which == k] = out
        tell(k + 1, 0.0)
    rows = index if index is not None else np.arange(len(labels))
    return OutOfSample(rows, codes, labels, probs, index is not None)


def _fit_fold(
    cfg: RunConfig,
    data: Dataset,
    pool: Split,
    which: np.ndarray,
    k: int,
    device: torch.device,
    listener: Callback,
    stop: threading.Event | None,
) -> np.ndarray | None:
    """Train on every fold but k (a share of it validating) and return the probabilities of fold k's rows."""
    from sklearn.model_selection import train_test_split

    rest, held = np.flatnonzero(which != k), np.flatnonzero(which == k)
    labels = pool.y.numpy()[rest]
    share = cfg.val_fraction / (1 - cfg.test_fraction)
    strat = labels if np.bincount(labels)[np.bincount(labels) > 0].min() >= 2 else None
    fit, val = train_test_split(rest, test_size=share, random_state=cfg.seed + k, stratify=strat)
    fold = Dataset(data.name, pool.subset(fit), pool.subset(val), pool.subset(held), data.facts)
    seed_everything(cfg.seed + k)
    trainer = Trainer(cfg, build_model(cfg, data.facts), fold, device, (listener,), stop)
    result = trainer.fit()
    if result.status == "stopped":
        return None
    return torch.softmax(trainer.predict(fold.test.to(device)).float(), dim=1).numpy()


def viewable(split: Split, rows: np.ndarray, facts: DataFacts) -> dict[str, np.ndarray]:
    """Rows of a split as the Results page shows examples: thumbnails, the words the model read, feature values."""
    x = split.x[torch.as_tensor(rows, dtype=torch.long)]
    if facts.kind == "image":
        return {"images": display_images(x)}
    if facts.kind == "text":
        vocab = facts.vocab
        texts = [" ".join(vocab[int(t)] for t in seq if int(t)) for seq in x]
        return {"texts": np.array(texts, dtype=str)}
    if facts.kind == "tabular":
        mean, std = np.asarray(facts.scaler.mean), np.asarray(facts.scaler.std)
        return {"rows": (x.numpy() * std + mean).astype(np.float32)}
    return {}
