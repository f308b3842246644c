"""The largest batch that fits the run's memory budget, and what an epoch costs at it.

Lightning's finder, in shape: double the batch from the config's own until it does not fit, then bisect
between the last that fit and the first that did not. A probe is a real forward and backward on a GPU (an
out-of-memory error means it does not fit); on the CPU, where a big batch of a CNN would take minutes, the
activations are measured at two small sizes and grow linearly with the batch (the weights, gradients and
optimizer state do not grow), so a probe there is that line. The batch never exceeds the training split or
the batch sizes the form allows (wider in expert mode); the epoch's seconds at the size found are measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from nnlab.core.config import RANGES, RunConfig
from nnlab.core.errors import NNLabError
from nnlab.core.fitted import fit_to_data
from nnlab.core.limits import MemoryBudget, run_memory_budget, size_text
from nnlab.data import Dataset, load_dataset
from nnlab.data.registry import check
from nnlab.engine.memory import planned_mb, static_memory
from nnlab.engine.preflight import Budget, estimate, measure_activations
from nnlab.engine.threads import set_threads
from nnlab.engine.train import Trainer, resolve_device
from nnlab.models import build_model

MB = 2**20


@dataclass(frozen=True)
class BatchFit:
    """The largest batch that fits, its memory, its seconds an epoch (None when not measured) and the budget."""

    batch_size: int
    memory_mb: float
    seconds_per_epoch: float | None
    budget: str  # the budget's sentence (how large, where it comes from)
    capped_by: str = ""  # "data" or "range" when the search stopped there, not at the budget

    def sentence(self) -> str:
        """'Batch size 4,096 fits: 2.1 GB of the 11.8 GB budget (...), 0.8 s an epoch.'"""
        from nnlab.core.text import format_duration

        cost = f", {format_duration(self.seconds_per_epoch, fine=True)} an epoch" if self.seconds_per_epoch else ""
        why = {"data": " (the whole training split)", "range": " (the largest batch size allowed here)"}
        return (
            f"Batch size {self.batch_size:,}{why.get(self.capped_by, '')} fits: {size_text(self.memory_mb * MB)} of "
            f"{self.budget}{cost}."
        )


def _search(fits, start: int, most: int) -> tuple[int, bool]:
    """(largest size that fits, whether the search stopped at `most`): doubling from start, then bisection;
    NNLabError when not even 1 fits."""
    low, high = 0, None
    size = max(1, min(start, most))
    while high is None:
        if fits(size):
            low = size
            if size >= most:
                return size, True
            size = min(size * 2, most)
        else:
            high = size
    if low == 0:  # the start did not fit: halve until one does
        while high > 1 and low == 0:
            size = high // 2
            low, high = (size, high) if fits(size) else (0, size)
        if low == 0:
            raise NNLabError("Not even a batch of 1 fits the run's memory budget; use a smaller model.")
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if fits(mid) else (low, mid)
    return low, False


def largest_batch(cfg: RunConfig, budget: MemoryBudget | None = None, root: Path | None = None) -> BatchFit:
    """The largest batch size cfg can train with inside the memory budget, and its measured epoch time."""
    check(cfg)
    set_threads(cfg, False)
    budget = budget or run_memory_budget()
    data = load_dataset(cfg)
    cfg = fit_to_data(cfg, len(data.train))
    device = resolve_device(cfg.device)
    fixed = planned_mb(static_memory(cfg, data.facts))
    trainer = Trainer(cfg, build_model(cfg, data.facts), data, device)
    memory = _memory_model(trainer, fixed, budget) if device.type != "cuda" else _probe_memory(trainer, fixed)
    most = min(len(data.train), int(RANGES["batch_size"].bounds(cfg.expert)[1]))
    size, capped = _search(lambda b: memory(b) <= budget.mb, cfg.batch_size, most)
    capped_by = ("data" if most == len(data.train) else "range") if capped else ""
    return BatchFit(
        size, memory(size), _epoch_seconds(cfg.replace(batch_size=size), data, root), budget.text, capped_by
    )


def _memory_model(trainer: Trainer, fixed: float, budget: MemoryBudget):
    """MB at a batch size on the CPU: the fixed part plus activations on the line through two measured sizes."""
    small = max(1, min(trainer.cfg.batch_size, len(trainer.train_split) // 2, 64))
    a, b = measure_activations(trainer, small), measure_activations(trainer, 2 * small)
    per_sample = max(b - a, 0.0) / small
    return lambda size: fixed + max(a + per_sample * (size - small), 0.0)


def _probe_memory(trainer: Trainer, fixed: float):
    """MB at a batch size on a GPU: a real step at that size; out of memory reads as infinitely large."""

    def memory(size: int) -> float:
        try:
            return fixed + measure_activations(trainer, size)
        except torch.OutOfMemoryError:
            torch.cuda.empty_cache()
            return float("inf")

    return memory


def _epoch_seconds(cfg: RunConfig, data: Dataset, root: Path | None) -> float | None:
    """Seconds an epoch at this batch size, measured (None when its steps are too slow to time quickly)."""
    try:
        return estimate(cfg, budget=Budget(max_seconds=3.0), data=data, root=root).seconds_per_epoch
    except NNLabError:
        return None
