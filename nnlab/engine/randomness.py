"""The run's random streams: its own generator (dropout masks, augmentation), seeding, and the global states a
checkpoint keeps so a resumed run draws what an uninterrupted one would; and CPUDropout, whose masks come from
the run's generator."""

from __future__ import annotations

import math
import random

import numpy as np
import torch
from torch import nn


class CPUDropout(nn.Dropout):
    """nn.Dropout with the same keep mask, Bernoulli(1 - p), drawn by torch.rand: on the CPU bernoulli_ costs
    about 7.5 ns an element against rand's 3, a fifth of an MLP's step at batch 256. The mask comes from the
    run's own generator, so another thread drawing random numbers (the dashboard building a model for a
    preview) cannot change this run's masks."""

    generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        if self.p >= 1:
            return x * torch.zeros_like(x)
        keep = torch.rand(x.shape, generator=self.generator, dtype=x.dtype, device=x.device)
        return x * keep.ge_(self.p).mul_(1 / (1 - self.p))


def fast_dropout(model: nn.Module, generator: torch.Generator | None = None) -> None:
    """Give the model's plain nn.Dropout layers CPUDropout's forward, drawing from `generator` (no weights
    change; eval is untouched)."""
    for module in model.modules():
        if type(module) in (nn.Dropout, CPUDropout):
            module.__class__ = CPUDropout
            module.generator = generator


def run_generator(seed: int, device: torch.device) -> torch.Generator | None:
    """The run's own random stream on its device (dropout masks, augmentation), seeded by the run's seed."""
    try:
        return torch.Generator(device=device).manual_seed(seed)
    except RuntimeError:  # a device without its own generators: the global stream, seeded by seed_everything
        return None


def seed_everything(seed: int) -> None:
    """Seed torch (all devices), numpy and Python's random."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def global_rng_state() -> dict[str, torch.Tensor]:
    """The global torch, numpy and Python random states as tensors (a checkpoint loads with weights_only=True)."""
    _, keys, pos, has_gauss, gauss = np.random.get_state()
    version, mt, gauss_next = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "numpy": torch.from_numpy(np.concatenate([keys.astype(np.int64), [pos, has_gauss]])),
        "numpy_gauss": torch.tensor(gauss, dtype=torch.float64),
        "python": torch.tensor([version, *mt], dtype=torch.int64),
        "python_gauss": torch.tensor(math.nan if gauss_next is None else gauss_next, dtype=torch.float64),
    }


def set_global_rng_state(state: dict[str, torch.Tensor]) -> None:
    """Put back what global_rng_state() saved."""
    torch.set_rng_state(state["torch"])
    numbers = state["numpy"].numpy()
    np.random.set_state(
        ("MT19937", numbers[:-2].astype(np.uint32), int(numbers[-2]), int(numbers[-1]), float(state["numpy_gauss"]))
    )
    values = [int(v) for v in state["python"].tolist()]
    gauss_next = float(state["python_gauss"])
    random.setstate((values[0], tuple(values[1:]), None if math.isnan(gauss_next) else gauss_next))
