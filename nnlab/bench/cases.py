"""The benchmark's cases and plans (what `nnlab bench` measures and how much), and the data each side trains on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache

import torch

from nnlab.core.config import RunConfig
from nnlab.data.base import Dataset, Split
from nnlab.data.batches import bucketed_batches
from nnlab.data.registry import make_config
from nnlab.data.synthetic import cifar_like, mnist_like, reviews_like


def head(data: Dataset, n: int, batch_size: int = 64) -> Dataset:
    """The same dataset trained on n of its rows, validated on 2% as many (fit() evaluates every epoch).

    Tables and images: the first n rows. Texts: n / batch_size of the batches of a whole epoch as nnlab draws
    them (texts of similar length, from pools of 32 batches), taken at even quantiles of their longest text so
    that they pad as the epoch's batches do on average; both sides then train on those same texts. The first
    n texts would instead make a few batches each padded to its longest text, which no real epoch has."""

    def first(s: Split, k: int) -> Split:
        return Split(s.x[:k], s.y[:k], None if s.lengths is None else s.lengths[:k])

    val = first(data.val, max(16, n // 50))
    train = first(data.train, n)
    if data.train.lengths is not None:
        batches = bucketed_batches(data.train.lengths, batch_size, torch.Generator().manual_seed(0))
        batches.sort(key=lambda rows: int(data.train.lengths[rows].max()))
        k = max(1, n // batch_size)
        picked = [batches[int((i + 0.5) * len(batches) / k)] for i in range(k)]
        train = data.train.subset(torch.cat(picked)[:n])
    return replace(data, train=train, val=val, test=val)


def plain_inputs(data: Dataset) -> torch.Tensor:
    """What a practitioner feeds the plain loop: floats normalised once up front; token ids as they are."""
    if data.kind != "image":
        return data.train.x
    mean = torch.tensor(data.facts.scaler.mean).view(1, -1, 1, 1)
    std = torch.tensor(data.facts.scaler.std).view(1, -1, 1, 1)
    return (data.train.x.float() / 255 - mean) / std


@dataclass(frozen=True)
class Case:
    """One comparison: an architecture, its data, the batch size and the samples trained per measurement."""

    name: str
    arch: str
    batch_size: int
    samples: int
    dataset: str
    data: Callable[[], Dataset]
    note: str = ""
    precision: str = "auto"  # nnlab's; the plain loop is always float32

    def config(self) -> RunConfig:
        """nnlab's config with the plain loop's hyperparameters: Adam, lr 1e-3, no weight decay, no schedule."""
        return make_config(
            self.arch,
            dataset=self.dataset,
            batch_size=self.batch_size,
            epochs=1,
            lr=1e-3,
            weight_decay=0.0,
            schedule="none",
            early_stopping=False,
            optimizer="adam",
            precision=self.precision,
        )


@dataclass(frozen=True)
class Plan:
    """How much to measure: the cases, repetitions per path, pairs for the overheads, runs in the store."""

    cases: tuple[Case, ...]
    reps: int
    pairs: int
    overhead_case: Case  # for the logging overhead and the thread choice
    store_runs: int
    job_pairs: int  # alternated pairs of the whole job from the command line (0: not measured)


def make_plan(mode: str) -> Plan:
    """full (the README's table), quick (under about 5 minutes on 2 cores) or tiny (a smoke test).

    Measurements are short (a few seconds) and many rather than long and few: on a shared machine the
    median of many interleaved pairs is what survives another process's burst.
    """
    if mode == "tiny":
        mlp = Case("mlp b64", "mlp", 64, 512, "mnist-like", cache(lambda: mnist_like(512, 128)))
        lstm = Case("lstm b64", "lstm", 64, 64, "reviews-like", cache(lambda: reviews_like(64, 16, max_len=24)))
        return Plan(
            (
                mlp,
                Case("cnn b64", "cnn", 64, 128, "cifar-like", cache(lambda: cifar_like(128, 64))),
                lstm,
                replace(lstm, name="lstm b64, bf16", precision="bf16"),
            ),
            reps=1,
            pairs=1,
            overhead_case=mlp,
            store_runs=50,
            job_pairs=0,
        )
    quick = mode == "quick"
    mnist, reviews = cache(lambda: mnist_like(60_000, 1_000)), cache(lambda: reviews_like(5_000, 64))
    lstm_n, cnn_n = (256, 1_280) if quick else (512, 2_560)
    packed = (
        "nnlab keeps the texts' lengths (padding never reaches the states read), batches texts of similar length "
        "and drops padding columns no text in a batch reaches; the plain loop runs all 256 steps; "
        f"{lstm_n} of the 5,000 texts a measurement"
    )
    mlp = Case("mlp b64, 60k x 784", "mlp", 64, 15_000 if quick else 60_000, "mnist-like", mnist)
    lstm = Case("lstm b64, 5k reviews x 256", "lstm", 64, lstm_n, "reviews-like", reviews, packed)
    bf16 = "opt-in --precision bf16: bfloat16 autocast (pays on CPUs with AVX512-BF16 or AMX); plain loop float32"
    cifar = cache(lambda: cifar_like(10_000, 256))
    return Plan(
        (
            mlp,
            Case("mlp b256, 60k x 784", "mlp", 256, 30_000 if quick else 60_000, "mnist-like", mnist),
            Case("cnn b64, 10k x 3x32x32", "cnn", 64, cnn_n, "cifar-like", cifar, f"{cnn_n:,} of 10,000 images"),
            lstm,
            replace(lstm, name="lstm b64, bf16 (opt-in)", note=bf16, precision="bf16"),
        ),
        reps=5 if quick else 7,
        pairs=11 if quick else 25,
        overhead_case=replace(mlp, samples=15_000),
        store_runs=1_000,
        job_pairs=2 if quick else 3,
    )
