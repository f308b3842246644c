"""Datasets: the registry, the built-ins, and loading a dataset for a RunConfig."""

from __future__ import annotations

from nnlab.config import RunConfig
from nnlab.data import builtin, files, images, standard  # noqa: F401  (each registers its datasets)
from nnlab.data.base import DATASETS, Dataset, DatasetSpec, Split, register
from nnlab.errors import DataError

__all__ = ["DATASETS", "Dataset", "DatasetSpec", "Split", "load_dataset", "register", "datasets_for"]


def load_dataset(cfg: RunConfig) -> Dataset:
    """The prepared dataset cfg names; a DataError names what is wrong otherwise."""
    if cfg.dataset not in DATASETS:
        raise DataError(f"Dataset {cfg.dataset!r} is unknown; choose one of {', '.join(DATASETS)}.")
    return DATASETS[cfg.dataset].load(cfg)


def datasets_for(arch: str) -> list[str]:
    """Names of the datasets an architecture fits."""
    return [name for name, spec in DATASETS.items() if arch in spec.archs]
