"""Prepared in-memory datasets, their splits, and the dataset registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from nnlab.core.config import RunConfig
from nnlab.core.errors import DataError
from nnlab.core.facts import DataFacts
from nnlab.core.findings import INFO, Finding
from nnlab.core.text import and_list, plural
from nnlab.data.splits import train_test_indices
from nnlab.models import MODELS

KINDS = ("tabular", "image", "text", "series")


@dataclass
class Split:
    """One split's tensors: x (images uint8 (N,C,H,W); tables float (N,F); text long (N,T);
    series float (N,window,F)), y (long classes or float (N,horizon)), text lengths."""

    x: torch.Tensor
    y: torch.Tensor
    lengths: torch.Tensor | None = None
    index: np.ndarray | None = None  # (N,) int64: each example's original row in the data (a series: its time step)

    def __len__(self) -> int:
        return len(self.y)

    def to(self, device: torch.device | str) -> Split:
        """The same split on another device."""
        move = lambda t: None if t is None else t.to(device)  # noqa: E731
        return Split(move(self.x), move(self.y), move(self.lengths), self.index)

    def subset(self, idx: np.ndarray | torch.Tensor) -> Split:
        """Rows idx of this split."""
        idx = torch.as_tensor(idx, dtype=torch.long)
        index = None if self.index is None else self.index[idx.cpu().numpy()]
        return Split(self.x[idx], self.y[idx], None if self.lengths is None else self.lengths[idx], index)

    def indexed(self, rows: np.ndarray) -> Split:
        """This split with the original row of each of its examples."""
        self.index = np.asarray(rows, dtype=np.int64)
        return self


@dataclass
class Dataset:
    """A dataset ready to train on: three splits and the facts learned from the data.

    `info` (typed per kind, saved with the run) is all the model and the Playground need: classes, input
    shape, vocabulary, the scaler; `display` holds the test split in viewable form (images, texts, rows, and the
    file of each test image of a folder); `files`, where the data is files, names each original row's file.
    """

    name: str
    train: Split
    val: Split
    test: Split
    facts: DataFacts
    display: dict[str, np.ndarray] = field(default_factory=dict)
    files: np.ndarray | None = None  # (rows,) str: the file of each original row, for a folder of images

    @property
    def kind(self) -> str:
        return self.facts.kind

    @property
    def task(self) -> str:
        return self.facts.task

    @property
    def classes(self) -> list[str]:
        return list(self.facts.classes)

    def found(self, findings: list[Finding], source: str, **facts: Any) -> Dataset:
        """The dataset with what loading the user's file `source` found (before the preparation's own findings);
        facts: further fields of its facts."""
        self.facts = replace(self.facts, findings=(*findings, *self.facts.findings), source=source, **facts)
        return self


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset the registry offers: what it is and how to load it (the architectures that fit follow)."""

    name: str
    title: str
    kind: str
    load: Callable[[RunConfig], Dataset]
    description: str = ""
    needs: str = ""  # "", "data_path" (a file or folder of the user's) or "data_root" (optional folder)
    options: tuple[str, ...] = ()  # further RunConfig fields the form should ask for (e.g. "label_column")
    builtin: bool = False  # works offline with nothing on disk
    any_size: bool = False  # images come in any size and are loaded at the architecture's load_size

    @property
    def archs(self) -> tuple[str, ...]:
        """The architectures whose input spec takes this data; those made for it first, then registry order."""
        fits = [a for a, spec in MODELS.items() if spec.inputs.accepts(self.kind, self.any_size)]
        return tuple(sorted(fits, key=lambda a: MODELS[a].default_dataset != self.name))


DATASETS: dict[str, DatasetSpec] = {}


def register(spec: DatasetSpec) -> DatasetSpec:
    """Add a dataset to the registry the form, the command line and the trainer read."""
    DATASETS[spec.name] = spec
    return spec


def without_rows(data: Dataset, rows: tuple[int, ...]) -> Dataset:
    """data with the given original rows left out of its training and validation splits (the test split stays, so
    runs with and without them score the same test rows), and a finding that says so."""
    if not rows:
        return data
    drop = np.asarray(rows, dtype=np.int64)
    kept = {}
    for name in ("train", "val"):
        split = getattr(data, name)
        if split.index is None:
            raise DataError(f"Dataset {data.name} does not number its rows, so --exclude-rows cannot be used with it.")
        kept[name] = np.flatnonzero(~np.isin(split.index, drop))
    gone = len(data.train) + len(data.val) - sum(len(k) for k in kept.values())
    in_test = int(np.isin(data.test.index, drop).sum()) if data.test.index is not None else 0
    known = np.concatenate([s.index for s in (data.train, data.val, data.test) if s.index is not None])
    unknown = np.setdiff1d(drop, known)  # a typo (9999 of 300 rows), or a row the loader dropped (no label)
    data.train, data.val = data.train.subset(kept["train"]), data.val.subset(kept["val"])
    said = (
        f"Left out {gone:,} of the {plural(len(set(rows)), 'row')} given (--exclude-rows) from training and validation"
    )
    test_rows = "1 of them is a test row and stays" if in_test == 1 else f"{in_test:,} of them are test rows and stay"
    said += f"; {test_rows} there" if in_test else "; the test rows are unchanged"
    if len(unknown):
        said += (
            f"; {_listed(unknown)} {'is' if len(unknown) == 1 else 'are'} not among the data's rows (rows count from 0 "
            "after the header, as label-issues numbers them)"
        )
    said += "."
    data.facts = replace(data.facts, findings=(*data.facts.findings, Finding("excluded", INFO, said)))
    return data


def _listed(rows: np.ndarray, shown: int = 5) -> str:
    """'row 9999', 'rows 400 and 401', 'rows 400, 401, 402, 403, 404 and 3 more'."""
    said = [str(int(r)) for r in rows[:shown]] + ([f"{len(rows) - shown} more"] if len(rows) > shown else [])
    return f"row{'s' if len(rows) > 1 else ''} {and_list(said)}"


def split_indices(y: np.ndarray, cfg: RunConfig, stratify: bool = True) -> tuple[np.ndarray, ...]:
    """Train / validation / test row indices fixed by the split seed (cfg.split_by), not by the training seed,
    so the seeds of a group score the same test rows; stratified by class when possible."""
    idx = np.arange(len(y))
    strat = y if stratify and _can_stratify(y, cfg) else None
    rest, test = train_test_indices(idx, cfg.test_fraction, cfg.split_by, strat)
    val_share = cfg.val_fraction / (1 - cfg.test_fraction)
    strat_rest = y[rest] if strat is not None else None
    train, val = train_test_indices(rest, val_share, cfg.split_by, strat_rest)
    return train, val, test


def _can_stratify(y: np.ndarray, cfg: RunConfig) -> bool:
    counts = np.bincount(y)
    counts = counts[counts > 0]
    smallest_split = len(y) * min(cfg.test_fraction, cfg.val_fraction)
    return counts.min() >= 3 and smallest_split >= len(counts)


def check_classes(y: np.ndarray, classes: list[str], source: str, min_per_class: int = 3) -> None:
    """Refuse data with fewer than two classes or too few examples of one."""
    counts = np.bincount(y, minlength=len(classes))
    if len(classes) < 2 or (counts > 0).sum() < 2:
        raise DataError(f"{source} has only one class; a classifier needs at least two.")
    small = [i for i, c in enumerate(counts) if c < min_per_class]
    if small:  # counted, not named: class names are a file's cells, and an error never quotes those
        which = (
            f"{len(small)} of its {len(classes)} classes" if len(small) > 1 else f"one of its {len(classes)} classes"
        )
        raise DataError(
            f"{source} has fewer than {min_per_class} examples in {which}; add examples or remove "
            f"{'those classes' if len(small) > 1 else 'that class'}."
        )


def make_splits(
    split_of: Callable[[np.ndarray], Split], y: np.ndarray, cfg: RunConfig, stratify: bool = True
) -> tuple[Split, Split, Split, np.ndarray]:
    """Apply split_indices and build the three Splits (each with its rows' indices); also returns the test indices."""
    tr, va, te = split_indices(y, cfg, stratify)
    return split_of(tr).indexed(tr), split_of(va).indexed(va), split_of(te).indexed(te), te
