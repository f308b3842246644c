"""Batches gathered from a permuted index on the training device, and per-batch image transforms."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F

from nnlab.core.facts import DataFacts, ImageFacts
from nnlab.core.fitted import batches_per_epoch
from nnlab.data.base import Split

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]
Transform = Callable[[torch.Tensor, bool], torch.Tensor]


def iterate_batches(
    split: Split, batch_size: int, shuffle: bool = False, generator: torch.Generator | None = None
) -> Iterator[Batch]:
    """(x, y, lengths) batches; no per-sample DataLoader: one index_select per tensor per batch."""
    n = len(split)
    if not shuffle:
        batches: list[torch.Tensor | slice] = [slice(s, s + batch_size) for s in range(0, n, batch_size)]
    elif split.lengths is None:
        batches = cut(torch.randperm(n, generator=generator).to(split.y.device), batch_size)
    else:
        batches = bucketed_batches(split.lengths.cpu(), batch_size, generator)
    for idx in batches:
        if isinstance(idx, slice):
            x, y = split.x[idx], split.y[idx]
            lengths = None if split.lengths is None else split.lengths[idx]
        else:
            idx = idx.to(split.y.device)
            x, y = split.x.index_select(0, idx), split.y.index_select(0, idx)
            lengths = None if split.lengths is None else split.lengths.index_select(0, idx)
        if lengths is not None:  # drop padding columns no text in this batch reaches
            x = x[:, : int(lengths.max())]
        yield x, y, lengths


def bucketed_batches(
    lengths: torch.Tensor, batch_size: int, generator: torch.Generator | None, pool_batches: int = 32
) -> list[torch.Tensor]:
    """Random batches of texts of similar length: a random permutation cut into pools of `pool_batches`
    batches, each pool sorted by length and cut into batches, then all batches shuffled. An LSTM step
    costs batch x longest text, so this skips most padding while every text is still seen once an epoch."""
    order = torch.randperm(len(lengths), generator=generator)
    pools, batches = list(order.split(batch_size * pool_batches)), []
    if len(pools) > 1 and len(pools[-1]) == 1:  # one text left over joins the pool before it (see cut)
        pools[-2:] = [torch.cat(pools[-2:])]
    for pool in pools:
        pool = pool[torch.argsort(lengths[pool], stable=True)]
        batches += cut(pool, batch_size)
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def cut(order: torch.Tensor, batch_size: int) -> list[torch.Tensor]:
    """A shuffled index cut into training batches; a last batch of one example joins the one before it (BatchNorm
    cannot train on a batch of one: 449 rows in batches of 16 failed every trial with batch normalisation)."""
    batches = list(order.split(batch_size))
    if len(batches) > 1 and len(batches[-1]) == 1:
        batches[-2:] = [torch.cat(batches[-2:])]
    return batches


def num_batches(n: int, batch_size: int) -> int:
    """Training batches per epoch for n samples (see cut)."""
    return batches_per_epoch(n, batch_size)


def identity(x: torch.Tensor, train: bool) -> torch.Tensor:
    """The transform of tables, texts and series: none."""
    return x


def make_transform(
    facts: DataFacts,
    augment: tuple[str, ...],
    device: torch.device,
    generator: torch.Generator | None = None,
) -> Transform:
    """The per-batch input transform: for images uint8 -> float, augment (train only, drawing from
    `generator`), resize, normalise."""
    if not isinstance(facts, ImageFacts):
        return identity
    mean = torch.tensor(facts.scaler.mean, device=device).view(1, -1, 1, 1)
    std = torch.tensor(facts.scaler.std, device=device).view(1, -1, 1, 1)
    size, channels = facts.image_size, facts.channels

    def transform(x: torch.Tensor, train: bool) -> torch.Tensor:
        x = x.float().div_(255)  # (B, C, H, W) in [0, 1]
        if x.shape[1] != channels:
            x = x.expand(-1, channels, -1, -1)
        if train and augment:
            x = augment_batch(x, augment, generator)
        if x.shape[-1] != size or x.shape[-2] != size:
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        return x.sub_(mean).div_(std) if x.is_contiguous() else (x - mean) / std  # in place: x is this batch's own

    return transform


def augment_batch(x: torch.Tensor, augment: tuple[str, ...], generator: torch.Generator | None = None) -> torch.Tensor:
    """Random resized crop, horizontal flip, small rotation and colour jitter, drawn per sample."""
    b, dev = x.shape[0], x.device
    if "crop" in augment or "rotate" in augment:
        x = _affine(x, "crop" in augment, "rotate" in augment, generator)
    if "flip" in augment:
        flip = torch.rand(b, 1, 1, 1, device=dev, generator=generator) < 0.5
        x = torch.where(flip, x.flip(-1), x)
    if "jitter" in augment:
        bright = torch.empty(b, 1, 1, 1, device=dev).uniform_(0.8, 1.2, generator=generator)
        contrast = torch.empty(b, 1, 1, 1, device=dev).uniform_(0.8, 1.2, generator=generator)
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = ((x - mean) * contrast + mean) * bright
    return x.clamp_(0, 1)


def _affine(x: torch.Tensor, crop: bool, rotate: bool, gen: torch.Generator | None) -> torch.Tensor:
    b, dev = x.shape[0], x.device
    scale = torch.empty(b, device=dev).uniform_(0.75, 1.0, generator=gen) if crop else torch.ones(b, device=dev)
    shift = (1 - scale).unsqueeze(1) * torch.empty(b, 2, device=dev).uniform_(-1, 1, generator=gen)
    angle = (
        torch.empty(b, device=dev).uniform_(-15, 15, generator=gen).deg2rad() if rotate else torch.zeros(b, device=dev)
    )
    cos, sin = angle.cos() * scale, angle.sin() * scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)  # (B, H, W, 2)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
