"""What a run is called: the name its user gave it, else its architecture on its data as the form names them,
the user's own data by the file name it was uploaded with ("MLP on wine.csv")."""

from __future__ import annotations

from nnlab.core.config import RunConfig
from nnlab.core.naming import file_name
from nnlab.core.records import RunRecord


def _own_file(cfg: RunConfig) -> str:
    """The name of the user's file a run read ("" for a built-in or downloaded dataset). A config carries a path
    only for data that reads one (the form asks for it there alone; validation refuses --data beside a built-in
    set), so the path tells without the dataset registry, which imports torch: listing runs does not."""
    return file_name(cfg.data_path) if cfg.data_path else ""


def data_title(cfg: RunConfig) -> str:
    """The data of cfg as the user knows it: their file's name, else the dataset's title in the form."""
    if own := _own_file(cfg):
        return own
    from nnlab.data import DATASETS  # the registries import torch; reading the store does not

    spec = DATASETS.get(cfg.dataset)
    return spec.title if spec else cfg.dataset


def data_label(cfg: RunConfig) -> str:
    """A run's data in a word, as tables and filters list it: the --dataset name ("digits"), a file of the user's by
    its name ("wine.csv"; runs on several CSVs all read "csv" otherwise)."""
    return _own_file(cfg) or cfg.dataset


def default_name(cfg: RunConfig) -> str:
    """'MLP on Handwritten digits (scikit-learn)', 'MLP on wine.csv': the architecture on the data."""
    from nnlab.models import MODELS

    arch = MODELS[cfg.arch].title if cfg.arch in MODELS else cfg.arch
    return f"{arch} on {data_title(cfg)}"


def run_name(rec: RunRecord) -> str:
    """The name a run is shown by: the user's, else its default."""
    return rec.name or default_name(rec.config)
