"""Datasets: the registry, the built-ins, and loading a dataset for a RunConfig."""

from __future__ import annotations

import logging

from nnlab.core.config import RunConfig
from nnlab.core.errors import DataError
from nnlab.data import builtin, files, images, standard  # noqa: F401  (each registers its datasets)
from nnlab.data.base import DATASETS, Dataset, DatasetSpec, Split, register, without_rows
from nnlab.data.check import check_dataset

__all__ = ["DATASETS", "Dataset", "DatasetSpec", "Split", "load_dataset", "register", "datasets_for"]


def load_dataset(cfg: RunConfig) -> Dataset:
    """The prepared dataset cfg names, with the data check's findings in its facts; a DataError names what is wrong
    otherwise."""
    if cfg.dataset not in DATASETS:
        raise DataError(f"Dataset {cfg.dataset!r} is unknown; choose one of {', '.join(DATASETS)}.")
    spec = DATASETS[cfg.dataset]
    try:
        return check_dataset(without_rows(spec.load(cfg), cfg.exclude_rows), cfg)
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001  (any reader's failure on a user's file: one sentence)
        if not (cfg.data_path or cfg.data_root):
            raise
        # a reader's own message may quote the file, and a typed path may name a file that is not the user's:
        # the page gets the kind of error only, the server's log the details
        logging.getLogger("nnlab.data").warning("Reading the data of %s failed", spec.title, exc_info=True)
        given = "the file" if cfg.data_path else "the folder"
        raise DataError(
            f"{spec.title} could not be read from {given} given ({type(exc).__name__}); check that it is the kind "
            "of data this dataset reads."
        ) from None


def datasets_for(arch: str) -> list[str]:
    """Names of the datasets an architecture fits."""
    return [name for name, spec in DATASETS.items() if arch in spec.archs]
