"""Batch size and epochs given as 0 ("fit to the data"), filled in from the size of the training split.

The config keeps what the user gave (0); the values used are facts of the run, told in the preview, on
the run's page and in the report. A leaf module: the form, sweeps and the trainer all read it.
"""

from __future__ import annotations

import math

from nnlab.core.config import RunConfig
from nnlab.core.findings import Finding, info
from nnlab.core.text import plural

AUTO_BATCH, AUTO_EPOCHS = 64, 20  # what batch size 0 and epochs 0 mean on data of a few thousand rows or more
MIN_STEPS = 1000  # optimiser steps an automatic epoch count reaches at least (early stopping may end sooner)
MAX_AUTO_EPOCHS = 200


def fit_to_data(cfg: RunConfig, train_size: int) -> RunConfig:
    """cfg with batch size 0 and epochs 0 ("fit to the data") replaced by values scaled to train_size.

    Small data gets a batch that gives at least ~16 steps an epoch (16 to 64) and room for MIN_STEPS optimiser
    steps (20 to 200 epochs): 20 epochs at batch 64 on a few hundred rows is under 100 steps, and such runs ended
    with the validation loss still falling. It is a ceiling, not a floor: early stopping ends most small-data
    runs sooner (iris: 19 to 32 of 143 epochs; training all 143 scored no better, 0.943 against 0.952 over ten
    seeds, in 6.7 times the time). Values the user gave are kept.
    """
    batch = cfg.batch_size or int(min(AUTO_BATCH, max(16, 2 ** math.floor(math.log2(max(train_size, 1) / 16)))))
    steps = _batches(train_size, batch)
    epochs = cfg.epochs or min(MAX_AUTO_EPOCHS, max(AUTO_EPOCHS, math.ceil(MIN_STEPS / max(steps, 1))))
    return cfg.replace(batch_size=batch, epochs=epochs)


def fit_findings(given: RunConfig, train_size: int) -> list[Finding]:
    """Findings for the values fit_to_data chose (none when the user gave batch size and epochs)."""
    fitted = fit_to_data(given, train_size)
    steps = _batches(train_size, fitted.batch_size)
    notes = []
    if not given.batch_size:
        notes.append(
            f"Batch size fitted to the data: {fitted.batch_size} ({plural(train_size, 'training example')}, "
            f"{plural(steps, 'step')} an epoch); give --batch-size to choose your own."
        )
    if not given.epochs:
        total = fitted.epochs * steps
        why = (
            f"room for at least {AUTO_EPOCHS} epochs and {MIN_STEPS:,} steps, so the epoch count does not cut small "
            "data short"
            if total >= MIN_STEPS
            else f"at most {MAX_AUTO_EPOCHS} epochs, so data this small gets fewer than {MIN_STEPS:,} steps"
        )
        notes.append(
            f"Epochs fitted to the data: up to {fitted.epochs}, {plural(total, 'optimiser step')} ({why}); early "
            "stopping usually ends the run sooner, once validation stops improving; give --epochs to choose your own."
        )
    return [info("fitted", n) for n in notes]


def _batches(n: int, batch_size: int) -> int:
    return batches_per_epoch(n, batch_size)


def batches_per_epoch(n: int, batch_size: int) -> int:
    """Training batches an epoch of n examples takes: a last batch of one joins the one before (BatchNorm cannot
    train on one example; nnlab.data.batches.cut)."""
    return n if n < 2 else n // batch_size + (n % batch_size > 1)
